import { defineDetector, definePlugin } from '@ft/sdk';
import { mirrorConfigSchema, type MirrorConfig } from './config.js';

// Detector: SPAN/mirror port → pmacctd sFlow → ft's flow pipeline. pmacctd starts in start(), never at create().
export const mirrorDetector = defineDetector<MirrorConfig>({
  kind: 'mirror',
  description:
    "A SPAN/mirror port (root): pmacctd samples it into ft's flow collector on loopback, so every address of the segment gets its own rates and baseline.",
  configSchema: mirrorConfigSchema,
  async create(config, ctx) {
    const { MirrorDetector } = await import('./detector.js');
    return new MirrorDetector(config, ctx);
  },
});

export default definePlugin((ft) => {
  ft.detector(mirrorDetector);
});
