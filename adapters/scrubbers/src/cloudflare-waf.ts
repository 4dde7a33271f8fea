import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule, RuleId } from '@ft/sdk';
import { isRuleId } from '@ft/sdk';
import { CLOUDFLARE_API, CloudflareClient, VendorHttpError, httpBase } from '@ft/http-vendor';
import { z } from 'zod';
import { CannotExpress } from './cannot.js';

export const cloudflareWafConfigSchema = z
  .object({
    zoneId: z
      .string()
      .regex(/^[0-9a-f]{32}$/, 'a Cloudflare zone id is 32 hex characters')
      .optional(),
    accountId: z
      .string()
      .regex(/^[0-9a-f]{32}$/, 'a Cloudflare account id is 32 hex characters')
      .optional(),
    apiToken: z
      .string()
      .min(1)
      .describe('Name of the credential holding an API token with "Account/Zone Firewall Access Rules: Edit".'),
    baseUrl: httpBase(CLOUDFLARE_API),
    timeoutMs: z.number().int().min(1000).max(120_000).default(20_000),
    retries: z.number().int().min(0).max(10).default(3),
  })
  .strict()
  .refine(
    (c) => (c.zoneId === undefined) !== (c.accountId === undefined),
    'give exactly one of zoneId (rules for one zone) or accountId (rules for every zone of the account)',
  );
export type CloudflareWafConfig = z.output<typeof cloudflareWafConfigSchema>;

const KIND = 'cloudflare-waf';
const LABEL = 'ft:';

interface AccessRule {
  id: string;
  mode: string;
  configuration: { target: string; value: string };
  notes: string;
}

interface Entry {
  target: 'ip' | 'ip_range';
  value: string;
}

/** The access rules a host-filter rule becomes, or why Cloudflare cannot express it. */
export function accessRuleEntries(rule: Rule): Entry[] {
  if (rule.kind !== 'host-filter')
    throw new CannotExpress(KIND, `IP Access Rules only block sources; a ${rule.kind} rule is not expressible`);
  const r = rule;
  if (r.action.type !== 'drop' && r.action.type !== 'reject')
    throw new CannotExpress(KIND, `IP Access Rules block or challenge; "${r.action.type}" is not expressible`);
  if (!r.match.sources?.length)
    throw new CannotExpress(KIND, 'IP Access Rules match a source; a rule without sources would block everyone');
  if (r.match.protocol || r.match.sourcePorts?.length || r.match.destinationPorts?.length || r.match.tcpFlags) {
    throw new CannotExpress(
      KIND,
      'IP Access Rules cannot narrow by protocol, port or TCP flag (blocking the whole source would be wider than the rule)',
    );
  }
  return r.match.sources.map((s) => {
    const full = s.family === 4 ? 32 : 128;
    if (s.length === full) return { target: 'ip', value: String(s).split('/')[0]! };
    const ok = s.family === 4 ? [16, 24] : [32, 48, 64];
    if (!ok.includes(s.length))
      throw new CannotExpress(
        KIND,
        `IP Access Rules take single addresses or /${ok.join(', /')} ranges; ${String(s)} is not one`,
      );
    return { target: 'ip_range', value: String(s) };
  });
}

const notesFor = (rule: Rule) => `${LABEL}${rule.id} ${String(rule.target)}`;
const ruleIdOf = (notes: string): RuleId | undefined => {
  const id = notes.startsWith(LABEL) ? notes.slice(LABEL.length).split(' ')[0] : undefined;
  return id && isRuleId(id) ? id : undefined;
};

/**
 * Cloudflare WAF IP Access Rules: a host-filter rule's sources become `block` rules on the zone (or the account),
 * labelled `ft:<rule id>` in their notes so list/withdraw only ever touch ft's own.
 */
export class CloudflareWafAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  readonly #cf: CloudflareClient;

  constructor(
    readonly config: CloudflareWafConfig,
    readonly ctx: PluginContext,
  ) {
    this.#cf = new CloudflareClient({
      baseUrl: config.baseUrl,
      tokenRef: config.apiToken,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      ctx,
      vendor: KIND,
    });
  }

  #path(): string {
    return this.config.zoneId
      ? `/zones/${this.config.zoneId}/firewall/access_rules/rules`
      : `/accounts/${this.config.accountId}/firewall/access_rules/rules`;
  }

  #body(rule: Rule, e: Entry) {
    return { mode: 'block', configuration: { target: e.target, value: e.value }, notes: notesFor(rule) };
  }

  render(rule: Rule): RenderedCommand[] {
    try {
      const url = `${this.config.baseUrl}${this.#path()}`;
      return accessRuleEntries(rule).map((e) => {
        const body = this.#body(rule, e);
        return {
          adapter: KIND,
          format: 'http',
          text: `POST ${url} ${JSON.stringify(body)}`,
          payload: { method: 'POST', url, body },
        };
      });
    } catch (err) {
      if (err instanceof CannotExpress) return err.render();
      throw err;
    }
  }

  async #ours(): Promise<AccessRule[]> {
    const out: AccessRule[] = [];
    for (let page = 1; page <= 200; page++) {
      const { result, info } = await this.#cf.call<AccessRule[]>({
        method: 'GET',
        path: `${this.#path()}?page=${page}&per_page=100`,
      });
      out.push(...result.filter((r) => ruleIdOf(r.notes ?? '') !== undefined));
      if (result.length < 100 || (info?.total_pages !== undefined && page >= info.total_pages)) break;
    }
    return out;
  }

  async apply(rule: Rule): Promise<Applied> {
    const entries = accessRuleEntries(rule);
    const mine = (await this.#ours()).filter((r) => ruleIdOf(r.notes) === rule.id);
    for (const e of entries) {
      if (mine.some((r) => r.configuration.value === e.value)) continue;
      try {
        await this.#cf.call<AccessRule>({ method: 'POST', path: this.#path(), body: this.#body(rule, e) });
      } catch (err) {
        if (!(err instanceof VendorHttpError && err.status === 400 && /duplicate/i.test(err.vendorMessage ?? '')))
          throw err;
        // Someone created the same configuration between our read and our write: ours (another ft) is fine.
        const now = await this.#ours();
        if (!now.some((r) => r.configuration.value === e.value && ruleIdOf(r.notes) === rule.id)) {
          throw new Error(
            `${KIND}: an access rule for ${e.value} already exists and was not created by ft for this rule; left as it is`,
            { cause: err },
          );
        }
      }
    }
    return { ruleId: rule.id, state: 'installed', nativeId: rule.id };
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const ours = await this.#ours();
    const doomed =
      'kind' in rule
        ? ours.filter((r) => ruleIdOf(r.notes) === rule.id)
        : ours.filter(
            (r) => r.id === rule.nativeId || (rule.ruleId !== undefined && ruleIdOf(r.notes) === rule.ruleId),
          );
    for (const r of doomed) {
      await this.#cf.call({ method: 'DELETE', path: `${this.#path()}/${r.id}` }).catch((err: unknown) => {
        if (!(err instanceof VendorHttpError && err.status === 404)) throw err;
      });
    }
  }

  async list(): Promise<InstalledRef[]> {
    return (await this.#ours()).map((r) => ({
      ruleId: ruleIdOf(r.notes),
      nativeId: r.id,
      description: `Cloudflare access rule ${r.mode} ${r.configuration.value}`,
    }));
  }

  async health(): Promise<Health> {
    try {
      await this.#cf.call({ method: 'GET', path: `${this.#path()}?page=1&per_page=5` });
      return { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
