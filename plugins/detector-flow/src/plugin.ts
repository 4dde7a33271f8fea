import { defineDetector, definePlugin } from '@ft/sdk';
import { flowConfigSchema, type FlowConfig } from './config.js';

// Detector: sFlow v5, NetFlow v5/v9 and IPFIX collector. Sockets are opened in start(), never at create().
export const flowDetector = defineDetector<FlowConfig>({
  kind: 'flow',
  description: 'sFlow v5, NetFlow v5/v9 and IPFIX collector: per-target rates, top sources and ports, exporter health.',
  configSchema: flowConfigSchema,
  async create(config, ctx) {
    const { FlowDetector } = await import('./detector.js');
    return new FlowDetector(config, ctx);
  },
});

export default definePlugin((ft) => {
  ft.detector(flowDetector);
});
