import { defineAction, definePlugin } from '@ft/sdk';
import { webhookConfigSchema, type WebhookConfig } from '@ft/http-vendor';
import { magicTransitConfigSchema, type MagicTransitConfig } from './magic-transit.js';
import { radwareConfigSchema, type RadwareConfig } from './radware.js';
import { f5SilverlineConfigSchema, type F5SilverlineConfig } from './f5-silverline.js';
import { f5BigipConfigSchema, type F5BigipConfig } from './f5-bigip.js';

// BGP adapters that drive a vendor's controller through its API instead of a local BGP daemon (docs/adapters/).
export default definePlugin((ft) => {
  ft.action<WebhookConfig>(
    defineAction({
      kind: 'bgp-webhook',
      description:
        'POST each FlowSpec/RTBH/divert rule as a signed (Standard Webhooks) JSON event to your own controller.',
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
      description:
        'Divert to Cloudflare scrubbing: on-demand BGP advertisement of a Magic Transit prefix (takes minutes; shown pending until then).',
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
  ft.action<F5SilverlineConfig>(
    defineAction({
      kind: 'f5-silverline',
      description: 'Divert by asking F5 Silverline to announce the prefix (queued; pending until advertised).',
      configSchema: f5SilverlineConfigSchema,
      capabilities: ['divert'],
      reach: 'network',
      async create(config, ctx) {
        const { F5SilverlineAction } = await import('./f5-silverline.js');
        return new F5SilverlineAction(config, ctx);
      },
    }),
  );
  ft.action<F5BigipConfig>(
    defineAction({
      kind: 'f5-bigip',
      description:
        'Drop sources through a BIG-IP AFM address list (generation-guarded read-modify-write; only ft-added entries removed).',
      configSchema: f5BigipConfigSchema,
      capabilities: ['host-filter'],
      reach: 'network',
      async create(config, ctx) {
        const { F5BigipAction } = await import('./f5-bigip.js');
        return new F5BigipAction(config, ctx);
      },
    }),
  );
});
