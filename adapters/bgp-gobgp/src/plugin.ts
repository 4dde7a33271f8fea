import { defineAction, definePlugin } from '@ft/sdk';
import { gobgpConfigSchema, type GobgpConfig } from './config.js';

// BGP adapter: GoBGP over gRPC. The gRPC stack loads inside create()/on first use, never at plugin load.
export default definePlugin((ft) => {
  ft.action(
    defineAction<GobgpConfig>({
      kind: 'gobgp',
      description:
        'Announces FlowSpec (IPv4/IPv6) and RTBH through a gobgpd gRPC API (AddPath/DeletePath), tagged with large communities.',
      configSchema: gobgpConfigSchema,
      capabilities: ['flowspec', 'rtbh'],
      reach: 'network',
      // Only standard communities go out with an RTBH route today (large ones are ft's own tag).
      features: { rtbhLargeCommunities: false, endpoint: (c) => `gobgpd at ${c.address}` },
      async create(config, ctx) {
        const { GobgpAction } = await import('./action.js');
        return new GobgpAction(gobgpConfigSchema.parse(config), ctx);
      },
    }),
  );
});
