import { defineDetector, definePlugin } from '@ft/sdk';
import { l7ConfigSchema, type L7Config } from './config.js';

// Detector: HTTP floods from web-server access logs.
export default definePlugin((ft) => {
  ft.detector(
    defineDetector<L7Config>({
      kind: 'l7',
      description:
        'HTTP request rates, status mix and top clients/paths/agents per site from nginx, Apache, Caddy, LiteSpeed and HAProxy access logs.',
      configSchema: l7ConfigSchema,
      async create(config, ctx) {
        const { L7Detector } = await import('./detector.js');
        return new L7Detector(config, ctx.name, ctx.logger);
      },
    }),
  );
});
