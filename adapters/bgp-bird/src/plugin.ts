import { defineAction, definePlugin } from '@ft/sdk';
import { BIRD_CAPABILITIES } from './capabilities.js';
import { birdConfigSchema, type BirdConfig } from './config.js';

// BGP adapter: BIRD 2 through a generated include file and `birdc configure` (see docs/adapters/bgp-bird.md).
export default definePlugin((ft) => {
  ft.action<BirdConfig>(
    defineAction({
      kind: 'bird',
      description: 'Announce FlowSpec (IPv4/IPv6) and RTBH through BIRD 2 static protocols in an include file.',
      configSchema: birdConfigSchema,
      capabilities: BIRD_CAPABILITIES,
      reach: 'network',
      // Only standard communities go out with an RTBH route today (large ones are ft's own tag).
      features: { rtbhLargeCommunities: false, endpoint: (c) => `BIRD at ${c.socket}` },
      async create(config, ctx) {
        const { BirdAction } = await import('./action.js');
        return new BirdAction(config, ctx);
      },
    }),
  );
});
