import { defineDetector, definePlugin } from '@ft/sdk';
import { procConfigSchema, type ProcConfig } from './config.js';

// Detector: per-interface and protocol counters from /proc (no root needed).
export default definePlugin((ft) => {
  ft.detector(
    defineDetector<ProcConfig>({
      kind: 'proc',
      description:
        'Interface rates from /proc/net/dev with protocol mix, SYN estimate and connection count (no root needed).',
      configSchema: procConfigSchema,
      async create(config, ctx) {
        const { ProcDetector } = await import('./detector.js');
        return new ProcDetector(config, ctx.name, ctx.logger);
      },
    }),
  );
});
