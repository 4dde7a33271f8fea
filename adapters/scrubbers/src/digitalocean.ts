import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule } from '@ft/sdk';
import { VendorClient, credential, httpBase } from '@ft/http-vendor';
import { z } from 'zod';
import { CannotExpress } from './cannot.js';

const KIND = 'digitalocean';

export const digitalOceanConfigSchema = z
  .object({
    firewallId: z.string().uuid(),
    apiToken: z
      .string()
      .min(1)
      .describe('Name of the credential holding a token with firewall:read (used by health only).'),
    baseUrl: httpBase('https://api.digitalocean.com'),
    timeoutMs: z.number().int().min(1000).max(120_000).default(20_000),
  })
  .strict();
export type DigitalOceanConfig = z.output<typeof digitalOceanConfigSchema>;

/** A Cloud Firewall inbound rule as the API models it (digitalocean/openapi firewall_rule.yml, godo InboundRule). */
export interface DoRule {
  protocol: 'tcp' | 'udp' | 'icmp';
  ports?: string;
  sources: {
    addresses?: string[];
    droplet_ids?: number[];
    load_balancer_uids?: string[];
    kubernetes_ids?: string[];
    tags?: string[];
  };
}

export const DO_WHY =
  'DigitalOcean Cloud Firewalls are allow-only (they "block all traffic that isn\'t expressly permitted by a rule"; a rule has protocol, ports and sources, no action): a source cannot be blocked, and DigitalOcean has no scrubbing API (its DDoS protection is automatic)';

/**
 * DigitalOcean: declared with no capabilities, like Vultr, so the planner never routes a rule here and preview
 * says why. Every rule the API can hold lets traffic in; ft never adds one. Health checks the credential.
 */
export class DigitalOceanAction implements Action {
  readonly capabilities = [] as const;
  readonly #http: VendorClient;

  constructor(
    readonly config: DigitalOceanConfig,
    readonly ctx: PluginContext,
  ) {
    const token = credential(ctx, config.apiToken);
    this.#http = new VendorClient({
      vendor: KIND,
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs,
      retries: 1,
      logger: ctx.logger,
      signal: ctx.signal,
      authorize: (r) => void (r.headers.authorization = `Bearer ${token().reveal()}`),
    });
  }

  render(rule: Rule): RenderedCommand[] {
    return new CannotExpress(KIND, `${rule.kind}: ${DO_WHY}`).render();
  }

  async apply(rule: Rule): Promise<Applied> {
    throw new CannotExpress(KIND, `${rule.kind}: ${DO_WHY}`);
  }

  async withdraw(): Promise<void> {}

  /** ft never creates anything at DigitalOcean. */
  async list(): Promise<InstalledRef[]> {
    return [];
  }

  async health(): Promise<Health> {
    try {
      await this.#http.request({ method: 'GET', path: `/v2/firewalls/${this.config.firewallId}` });
      return { status: 'degraded', detail: `reachable, but ${DO_WHY}` };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
