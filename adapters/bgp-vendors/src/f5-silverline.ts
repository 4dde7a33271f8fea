import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule, RuleId } from '@ft/sdk';
import { OwnershipFile, VendorClient, VendorHttpError, credential, httpBase, type Refusal } from '@ft/http-vendor';
import { z } from 'zod';

const KIND = 'f5-silverline';

export const f5SilverlineConfigSchema = z
  .object({
    apiToken: z
      .string()
      .min(1)
      .describe('Name of the credential holding the Silverline API token (X-Authorization-Token).'),
    baseUrl: httpBase('https://portal.f5silverline.com'),
    timeoutMs: z.number().int().min(1000).max(120_000).default(30_000),
    retries: z.number().int().min(0).max(10).default(3),
  })
  .strict();
export type F5SilverlineConfig = z.output<typeof f5SilverlineConfigSchema>;

interface Owned {
  nativeId: string;
  ruleId: RuleId;
}
interface RouteDoc {
  type: string;
  id?: number | string | null;
  attributes: { subnet?: string; prefix?: string; action?: string; comment?: string };
}

const ALREADY = /already being advertised/i;
const NOT_ADVERTISED = /not currently being advertised/i;

/**
 * Silverline answers a prefix's advertisement state with 403 ("… is already being advertised by F5 Silverline", "…
 * is not currently being advertised …", as FastNetMon's integration records from the live API): a state conflict
 * the adapter settles, not a credential problem. Any other 401/403 is the token.
 */
export function silverlineClassify(status: number, body: unknown): Refusal | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (status === 403 && typeof error === 'string' && (ALREADY.test(error) || NOT_ADVERTISED.test(error)))
    return { kind: 'conflict' };
  return undefined;
}

/**
 * The request body of an announce or withdraw, in the form the one public client shown to work against the live
 * API sends (FastNetMon's scrubbing_services_integration: `"type":"string"` with `Content-Type: application/json`;
 * Progress Flowmon's integration also sends application/json). The portal's own reference is not public.
 */
export function silverlineRouteBody(prefix: string, comment: string) {
  return { data: { type: 'string', attributes: { prefix, comment } } };
}

/**
 * F5 Silverline Routed DDoS: divert = ask Silverline to announce the prefix (`POST /api/v1/routes`, queued), withdraw
 * = `DELETE /api/v1/routes` with the same body. Pending until the prefix shows in `GET /api/v1/routes/advertised`.
 */
export class F5SilverlineAction implements Action {
  readonly capabilities = ['divert'] as const;
  readonly #http: VendorClient;
  readonly #owned: OwnershipFile<Owned>;

  constructor(
    readonly config: F5SilverlineConfig,
    readonly ctx: PluginContext,
  ) {
    const token = credential(ctx, config.apiToken);
    this.#http = new VendorClient({
      vendor: KIND,
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      logger: ctx.logger,
      signal: ctx.signal,
      classify: silverlineClassify,
      authorize: (r) => void (r.headers['x-authorization-token'] = token().reveal()),
    });
    this.#owned = new OwnershipFile(ctx.stateDir, 'silverline-routes');
  }

  #body(rule: Rule) {
    return silverlineRouteBody(String(rule.target), `ft ${rule.id}`);
  }

  render(rule: Rule): RenderedCommand[] {
    if (rule.kind !== 'divert')
      return [
        {
          adapter: KIND,
          format: 'text',
          text: `${KIND} cannot: Silverline announces prefixes (divert); a ${rule.kind} rule is not expressible`,
        },
      ];
    const url = `${this.config.baseUrl}/api/v1/routes`;
    return [
      {
        adapter: KIND,
        format: 'http',
        text: `POST ${url} ${JSON.stringify(this.#body(rule))}`,
        payload: { method: 'POST', url, body: this.#body(rule) },
      },
    ];
  }

  async #advertised(): Promise<Set<string>> {
    const res = await this.#http.request<{ data?: RouteDoc[] }>({ method: 'GET', path: '/api/v1/routes/advertised' });
    return new Set((res.body?.data ?? []).map((d) => d.attributes.subnet ?? d.attributes.prefix ?? '').filter(Boolean));
  }

  async apply(rule: Rule): Promise<Applied> {
    if (rule.kind !== 'divert') throw new Error(`${KIND} cannot carry a ${rule.kind} rule (only divert)`);
    const cidr = String(rule.target);
    const mine = await this.#owned.get(cidr);
    if ((await this.#advertised()).has(cidr)) {
      if (!mine)
        this.ctx.logger.info({ cidr }, 'prefix already announced by Silverline for someone else: recorded as not ours');
      return { ruleId: rule.id, state: 'installed', nativeId: cidr };
    }
    if (mine?.ruleId === rule.id)
      return { ruleId: rule.id, state: 'pending', nativeId: cidr, detail: 'queued for advertisement by Silverline' };
    await this.#owned.put({ nativeId: cidr, ruleId: rule.id });
    try {
      await this.#http.request({ method: 'POST', path: '/api/v1/routes', body: this.#body(rule) });
    } catch (err) {
      // Already being advertised (a resend after a lost reply, or queued): the poll will see it.
      if (!(err instanceof VendorHttpError && err.kind === 'conflict' && ALREADY.test(err.vendorMessage ?? ''))) {
        await this.#owned.delete(cidr);
        throw err;
      }
    }
    return { ruleId: rule.id, state: 'pending', nativeId: cidr, detail: 'queued for advertisement by Silverline' };
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const cidr = 'kind' in rule ? String(rule.target) : rule.nativeId;
    const mine = await this.#owned.get(cidr);
    if (!mine) return;
    try {
      await this.#http.request({
        method: 'DELETE',
        path: '/api/v1/routes',
        body: silverlineRouteBody(cidr, `ft ${mine.ruleId}`),
      });
    } catch (err) {
      if (!(err instanceof VendorHttpError && err.kind === 'conflict' && NOT_ADVERTISED.test(err.vendorMessage ?? '')))
        throw err;
    }
    await this.#owned.delete(cidr);
  }

  async list(): Promise<InstalledRef[]> {
    const owned = [...(await this.#owned.all()).values()];
    if (!owned.length) return [];
    const live = await this.#advertised();
    return owned
      .filter((o) => live.has(o.nativeId))
      .map((o) => ({
        ruleId: o.ruleId,
        nativeId: o.nativeId,
        description: `Silverline announcement of ${o.nativeId}`,
      }));
  }

  async health(): Promise<Health> {
    try {
      await this.#advertised();
      return { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
