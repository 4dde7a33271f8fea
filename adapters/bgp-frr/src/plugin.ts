import { defineAction, definePlugin } from '@ft/sdk';
import { FRR_CAPABILITIES } from './capabilities.js';
import { frrConfigSchema, type FrrConfig } from './config.js';

// BGP adapter: FRR through vtysh, RTBH only (see docs/adapters/bgp-frr.md).
export default definePlugin((ft) => {
  ft.action<FrrConfig>(
    defineAction({
      kind: 'frr',
      description: 'Announce RTBH (IPv4/IPv6) through FRR with vtysh; FRR cannot originate FlowSpec.',
      configSchema: frrConfigSchema,
      capabilities: FRR_CAPABILITIES,
      reach: 'network',
      // Only standard communities go out with an RTBH route today (large ones are ft's own tag).
      features: {
        rtbhLargeCommunities: false,
        endpoint: (c) =>
          `FRR ${c.pathspace ? `pathspace ${c.pathspace}` : c.vtySocket ? `at ${c.vtySocket}` : '(default vty)'}`,
      },
      async create(config, ctx) {
        const { FrrAction } = await import('./action.js');
        return new FrrAction(config, ctx);
      },
    }),
  );
});
