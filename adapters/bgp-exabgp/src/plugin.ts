import { defineAction, definePlugin } from '@ft/sdk';
import { EXABGP_CAPABILITIES } from './capabilities.js';
import { exabgpConfigSchema, type ExabgpConfig } from './config.js';

// BGP adapter: ExaBGP 4.2 through its process API (see docs/adapters/bgp-exabgp.md).
export default definePlugin((ft) => {
  ft.action<ExabgpConfig>(
    defineAction({
      kind: 'exabgp',
      description: "Announce FlowSpec (IPv4/IPv6) and RTBH through ExaBGP's process API.",
      configSchema: exabgpConfigSchema,
      capabilities: EXABGP_CAPABILITIES,
      reach: 'network',
      // Only standard communities go out with an RTBH route today (large ones are ft's own tag).
      // Without `socket` each instance has its own bridge under its state directory: nothing shared.
      features: { rtbhLargeCommunities: false, endpoint: (c) => (c.socket ? `ExaBGP bridge ${c.socket}` : undefined) },
      async create(config, ctx) {
        const { ExabgpAction } = await import('./action.js');
        return new ExabgpAction(config, ctx);
      },
    }),
  );
});
