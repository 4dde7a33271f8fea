import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule } from '@ft/sdk';
import { VendorClient, credential, httpBase } from '@ft/http-vendor';
import { z } from 'zod';
import { CannotExpress } from './cannot.js';

const KIND = 'vultr';

export const vultrConfigSchema = z
  .object({
    firewallGroupId: z.string().min(1),
    apiKey: z.string().min(1).describe('Name of the credential holding the Vultr API key (used by health only).'),
    baseUrl: httpBase('https://api.vultr.com'),
    timeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
  })
  .strict();
export type VultrConfig = z.output<typeof vultrConfigSchema>;

const WHY =
  'Vultr firewall groups are accept-only (everything not accepted is dropped): a source cannot be blocked, and Vultr has no scrubbing API (its DDoS protection is automatic)';

/**
 * Vultr: declared with no capabilities, so the planner never routes a rule here and preview says why. It exists
 * so a policy naming it gets a clear "cannot" instead of an unknown adapter, and health checks the credentials.
 */
export class VultrAction implements Action {
  readonly capabilities = [] as const;
  readonly #http: VendorClient;

  constructor(
    readonly config: VultrConfig,
    readonly ctx: PluginContext,
  ) {
    const key = credential(ctx, config.apiKey);
    this.#http = new VendorClient({
      vendor: KIND,
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs,
      retries: 1,
      logger: ctx.logger,
      signal: ctx.signal,
      authorize: (r) => void (r.headers.authorization = `Bearer ${key().reveal()}`),
    });
  }

  render(rule: Rule): RenderedCommand[] {
    return new CannotExpress(KIND, `${rule.kind}: ${WHY}`).render();
  }

  async apply(rule: Rule): Promise<Applied> {
    throw new CannotExpress(KIND, `${rule.kind}: ${WHY}`);
  }

  async withdraw(): Promise<void> {}

  /** ft never creates anything at Vultr. */
  async list(): Promise<InstalledRef[]> {
    return [];
  }

  async health(): Promise<Health> {
    try {
      await this.#http.request({
        method: 'GET',
        path: `/v2/firewalls/${encodeURIComponent(this.config.firewallGroupId)}/rules`,
      });
      return { status: 'degraded', detail: `reachable, but ${WHY}` };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
