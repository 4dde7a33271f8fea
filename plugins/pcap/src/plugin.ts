import { defineDetector, definePlugin } from '@ft/sdk';
import { pcapConfigSchema, type PcapConfig } from './config.js';

// Detector: the pre-attack ring and per-incident captures. Children start in start(), never at create().
export const pcapDetector = defineDetector<PcapConfig>({
  kind: 'pcap',
  description:
    'Packet capture for forensics (root): a pre-attack ring per interface, a capture per incident merged into one pcapng, spoofing/botnet/IOC verdicts on the incident.',
  configSchema: pcapConfigSchema,
  async create(config, ctx) {
    const { PcapDetector } = await import('./detector.js');
    return new PcapDetector(config, ctx);
  },
});

export default definePlugin((ft) => {
  ft.detector(pcapDetector);
});
