import { defineAction, definePlugin } from '@ft/sdk';
import { webhookConfigSchema, type WebhookConfig } from '@ft/http-vendor';
import { magicTransitConfigSchema, type MagicTransitConfig } from './magic-transit.js';
import { radwareConfigSchema, type RadwareConfig } from './radware.js';

// BGP adapters that drive a vendor's controller through its API instead of a local BGP daemon (docs/adapters/).
export default definePlugin((ft) => {
  ft.action<WebhookConfig>(
    defineAction({
      kind: 'bgp-webhook',
      description: 'POST each FlowSpec/RTBH/divert rule as a signed (Standard Webhooks) JSON event to your own controller.',
      configSchema: webhookConfigSchema,
      capabilities: ['divert', 'flowspec', 'rtbh'],
      reach: 'network',
      async create(config, ctx) {
        const { WebhookAction } = await import('@ft/http-vendor');
        return new WebhookAction(['divert', 'flowspec', 'rtbh'], 'bgp-webhook', config, ctx);
      },
    }),
  );
  ft.action<MagicTransitConfig>(
    defineAction({
      kind: 'cloudflare-magic-transit',
      description: 'Divert to Cloudflare scrubbing: on-demand BGP advertisement of a Magic Transit prefix (takes minutes; shown pending until then).',
      configSchema: magicTransitConfigSchema,
      capabilities: ['divert'],
      reach: 'network',
      async create(config, ctx) {
        const { MagicTransitAction } = await import('./magic-transit.js');
        return new MagicTransitAction(config, ctx);
      },
    }),
  );
  ft.action<RadwareConfig>(
    defineAction({
      kind: 'radware',
      description: 'Divert through Radware DefenseFlow (attackstart/attackstop via Vision or Cyber Controller).',
      configSchema: radwareConfigSchema,
      capabilities: ['divert'],
      reach: 'network',
      async create(config, ctx) {
        const { RadwareAction } = await import('./radware.js');
        return new RadwareAction(config, ctx);
      },
    }),
  );
});
