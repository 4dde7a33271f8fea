import { defineAction, definePlugin } from '@ft/sdk';
import { webhookConfigSchema, type WebhookConfig } from '@ft/http-vendor';
import { cloudflareWafConfigSchema, type CloudflareWafConfig } from './cloudflare-waf.js';
import { ovhVacConfigSchema, type OvhVacConfig } from './ovh-vac.js';
import { hetznerConfigSchema, type HetznerConfig } from './hetzner-robot.js';
import { linodeConfigSchema, type LinodeConfig } from './linode.js';
import { digitalOceanConfigSchema, type DigitalOceanConfig } from './digitalocean.js';
import { vultrConfigSchema, type VultrConfig } from './vultr.js';
import { awsShieldConfigSchema, type AwsShieldConfig } from './aws-shield.js';

// Scrubbers: divert to cloud scrubbing where the vendor can, push block rules where that is all it has (docs/adapters/).
export default definePlugin((ft) => {
  ft.action<WebhookConfig>(
    defineAction({
      kind: 'scrub-webhook',
      description:
        'POST each divert/host-filter rule as a signed (Standard Webhooks) JSON event to your scrubbing provider or runbook.',
      configSchema: webhookConfigSchema,
      capabilities: ['divert', 'host-filter'],
      reach: 'network',
      async create(config, ctx) {
        const { WebhookAction } = await import('@ft/http-vendor');
        return new WebhookAction(['divert', 'host-filter'], 'scrub-webhook', config, ctx);
      },
    }),
  );
  ft.action<CloudflareWafConfig>(
    defineAction({
      kind: 'cloudflare-waf',
      description: 'Block attacking sources with Cloudflare IP Access Rules (zone or account); cannot divert.',
      configSchema: cloudflareWafConfigSchema,
      capabilities: ['host-filter'],
      reach: 'network',
      async create(config, ctx) {
        const { CloudflareWafAction } = await import('./cloudflare-waf.js');
        return new CloudflareWafAction(config, ctx);
      },
    }),
  );
  ft.action<OvhVacConfig>(
    defineAction({
      kind: 'ovh-vac',
      description: 'Divert an IPv4 address to OVHcloud VAC scrubbing (permanent mitigation); signed OVH API.',
      configSchema: ovhVacConfigSchema,
      capabilities: ['divert'],
      reach: 'network',
      async create(config, ctx) {
        const { OvhVacAction } = await import('./ovh-vac.js');
        return new OvhVacAction(config, ctx);
      },
    }),
  );
  ft.action<HetznerConfig>(
    defineAction({
      kind: 'hetzner',
      description:
        'Block sources with discard rules on a Hetzner Robot (dedicated server) firewall; read-modify-write, ft-labelled rules only. Cannot divert.',
      configSchema: hetznerConfigSchema,
      capabilities: ['host-filter'],
      reach: 'network',
      async create(config, ctx) {
        const { HetznerRobotAction } = await import('./hetzner-robot.js');
        return new HetznerRobotAction(config, ctx);
      },
    }),
  );
  ft.action<LinodeConfig>(
    defineAction({
      kind: 'linode',
      description:
        'Block sources with DROP rules on a Linode/Akamai Cloud Firewall; version-guarded read-modify-write, ft-labelled rules only. Cannot divert.',
      configSchema: linodeConfigSchema,
      capabilities: ['host-filter'],
      reach: 'network',
      async create(config, ctx) {
        const { LinodeAction } = await import('./linode.js');
        return new LinodeAction(config, ctx);
      },
    }),
  );
  ft.action<DigitalOceanConfig>(
    defineAction({
      kind: 'digitalocean',
      description:
        'DigitalOcean Cloud Firewalls are allow-only (no deny rule exists) and DigitalOcean has no scrubbing API: declared with no capabilities (preview says why).',
      configSchema: digitalOceanConfigSchema,
      capabilities: [],
      reach: 'network',
      async create(config, ctx) {
        const { DigitalOceanAction } = await import('./digitalocean.js');
        return new DigitalOceanAction(config, ctx);
      },
    }),
  );
  ft.action<VultrConfig>(
    defineAction({
      kind: 'vultr',
      description:
        'Vultr firewall groups are accept-only and Vultr has no scrubbing API: declared with no capabilities (preview says why).',
      configSchema: vultrConfigSchema,
      capabilities: [],
      reach: 'network',
      async create(config, ctx) {
        const { VultrAction } = await import('./vultr.js');
        return new VultrAction(config, ctx);
      },
    }),
  );
  ft.action<AwsShieldConfig>(
    defineAction({
      kind: 'aws-shield',
      description:
        'Block sources in WAFv2 IP sets (beside always-on Shield Advanced protections) via the official AWS SDK; LockToken read-modify-write. Cannot divert.',
      configSchema: awsShieldConfigSchema,
      capabilities: ['host-filter'],
      reach: 'network',
      async create(config, ctx) {
        const { AwsShieldAction } = await import('./aws-shield.js');
        return new AwsShieldAction(config, ctx);
      },
    }),
  );
});
