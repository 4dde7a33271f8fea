import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule, RuleId } from '@ft/sdk';
import { CLOUDFLARE_API, CloudflareClient, OwnershipFile, VendorHttpError, httpBase } from '@ft/http-vendor';
import { z } from 'zod';

export const magicTransitConfigSchema = z
  .object({
    accountId: z.string().regex(/^[0-9a-f]{32}$/, 'a Cloudflare account id is 32 hex characters'),
    apiToken: z
      .string()
      .min(1)
      .describe(
        'Name of the credential holding an API token with "Magic Transit Write" or "IP Prefixes: BGP On Demand Write".',
      ),
    baseUrl: httpBase(CLOUDFLARE_API),
    /**
     * Cloudflare answers as soon as it registered the change; the route reaches the Internet 2-7 minutes later
     * (its documentation). The rule is reported pending until this long after `advertised_modified_at`.
     */
    settleSeconds: z.number().int().min(0).max(3600).default(420),
    timeoutMs: z.number().int().min(1000).max(120_000).default(20_000),
    retries: z.number().int().min(0).max(10).default(3),
  })
  .strict();
export type MagicTransitConfig = z.output<typeof magicTransitConfigSchema>;

interface BgpPrefix {
  id: string;
  cidr: string;
  on_demand?: {
    advertised: boolean | null;
    advertised_modified_at: string | null;
    on_demand_enabled: boolean;
    on_demand_locked: boolean;
  };
}
interface IpPrefix {
  id: string;
  cidr: string;
}
interface Owned {
  nativeId: string;
  ruleId: RuleId;
  cidr: string;
  prefixId: string;
  bgpPrefixId: string;
  /** When ft last asked for the advertisement: polls before REPATCH_AFTER_MS only read status. */
  requestedAt: number;
}

/** A status still not showing our advertisement this long after we asked: ask again (someone may have withdrawn it). */
const REPATCH_AFTER_MS = 10 * 60_000;

/**
 * Cloudflare Magic Transit on-demand advertisement: divert = PATCH the BGP prefix's on_demand.advertised to true
 * (withdraw: false). The BGP prefix must exist (the covering prefix ft diverts, ≤ /24 inside an onboarded IP prefix).
 */
export class MagicTransitAction implements Action {
  readonly capabilities = ['divert'] as const;
  readonly #cf: CloudflareClient;
  readonly #owned: OwnershipFile<Owned>;
  readonly #ids = new Map<string, { prefixId: string; bgpPrefixId: string }>();

  constructor(
    readonly config: MagicTransitConfig,
    readonly ctx: PluginContext,
  ) {
    this.#cf = new CloudflareClient({
      baseUrl: config.baseUrl,
      tokenRef: config.apiToken,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      ctx,
      vendor: 'cloudflare-magic-transit',
    });
    this.#owned = new OwnershipFile(ctx.stateDir, 'magic-transit-advertised');
  }

  #base(): string {
    return `/accounts/${this.config.accountId}/addressing/prefixes`;
  }

  render(rule: Rule): RenderedCommand[] {
    if (rule.kind !== 'divert') {
      return [
        {
          adapter: 'cloudflare-magic-transit',
          format: 'text',
          text: `cannot: Magic Transit only advertises prefixes (divert); a ${rule.kind} rule is not expressible`,
        },
      ];
    }
    const url = `${this.config.baseUrl}${this.#base()}/{prefix_id}/bgp/prefixes/{bgp_prefix_id}`;
    const body = { on_demand: { advertised: true } };
    return [
      {
        adapter: 'cloudflare-magic-transit',
        format: 'http',
        text: `PATCH ${url} ${JSON.stringify(body)}  (ids of BGP prefix ${rule.target} looked up with GET ${this.#base()} and GET .../{prefix_id}/bgp/prefixes; advertising takes 2-7 min)`,
        payload: { method: 'PATCH', url, body, lookup: String(rule.target) },
      },
    ];
  }

  /** Finds the IP prefix and the BGP prefix whose cidr is exactly the diverted prefix. */
  async #resolve(cidr: string): Promise<{ prefixId: string; bgpPrefixId: string; bgp: BgpPrefix }> {
    const cached = this.#ids.get(cidr);
    if (cached) {
      const { result } = await this.#cf.call<BgpPrefix>({
        method: 'GET',
        path: `${this.#base()}/${cached.prefixId}/bgp/prefixes/${cached.bgpPrefixId}`,
      });
      return { ...cached, bgp: result };
    }
    const { result: prefixes } = await this.#cf.call<IpPrefix[]>({ method: 'GET', path: this.#base() });
    for (const p of prefixes) {
      const { result: bgps } = await this.#cf.call<BgpPrefix[]>({
        method: 'GET',
        path: `${this.#base()}/${p.id}/bgp/prefixes`,
      });
      const bgp = bgps.find((b) => b.cidr === cidr);
      if (bgp) {
        this.#ids.set(cidr, { prefixId: p.id, bgpPrefixId: bgp.id });
        return { prefixId: p.id, bgpPrefixId: bgp.id, bgp };
      }
    }
    throw new Error(
      `cloudflare-magic-transit: ${cidr} is not a BGP prefix of any IP prefix in account ${this.config.accountId}; create it (a sub-prefix of an onboarded prefix, at most /24) before ft can advertise it`,
    );
  }

  #state(rule: RuleId, bgp: BgpPrefix, nativeId: string): Applied {
    const at = bgp.on_demand?.advertised_modified_at ? Date.parse(bgp.on_demand.advertised_modified_at) : NaN;
    const settledAt = at + this.config.settleSeconds * 1000;
    if (
      bgp.on_demand?.advertised === true &&
      (this.config.settleSeconds === 0 || (Number.isFinite(at) && Date.now() >= settledAt))
    ) {
      return { ruleId: rule, state: 'installed', nativeId };
    }
    const detail =
      bgp.on_demand?.advertised === true
        ? `Cloudflare registered the advertisement at ${bgp.on_demand.advertised_modified_at}; routes propagate within 2-7 min`
        : 'advertisement requested; Cloudflare does not show it yet';
    return { ruleId: rule, state: 'pending', nativeId, detail };
  }

  async apply(rule: Rule): Promise<Applied> {
    if (rule.kind !== 'divert')
      throw new Error(`cloudflare-magic-transit cannot carry a ${rule.kind} rule (only divert)`);
    const cidr = String(rule.target);
    const { prefixId, bgpPrefixId, bgp } = await this.#resolve(cidr);
    const nativeId = `${prefixId}/${bgpPrefixId}`;
    if (bgp.on_demand && !bgp.on_demand.on_demand_enabled) {
      throw new Error(
        `cloudflare-magic-transit: ${cidr} is not enabled for on-demand advertisement (BGP-controlled prefixes cannot be advertised through the API)`,
      );
    }
    const mine = await this.#owned.get(nativeId);
    if (bgp.on_demand?.advertised === true) {
      // Already advertised: by us earlier (poll of a pending apply), or by someone else (then we never withdraw it).
      if (!mine)
        this.ctx.logger.info(
          { cidr },
          'prefix already advertised by someone else: recorded as not ours, withdraw will leave it',
        );
      return this.#state(rule.id, bgp, nativeId);
    }
    if (mine && mine.ruleId === rule.id && Date.now() - mine.requestedAt < REPATCH_AFTER_MS) {
      return {
        ruleId: rule.id,
        state: 'pending',
        nativeId,
        detail: `advertisement requested at ${new Date(mine.requestedAt).toISOString()}; Cloudflare does not show it yet`,
      };
    }
    // Recorded before the PATCH: if ft dies after Cloudflare acted, the advertisement is still known as ours.
    await this.#owned.put({ nativeId, ruleId: rule.id, cidr, prefixId, bgpPrefixId, requestedAt: Date.now() });
    try {
      const { result } = await this.#cf.call<BgpPrefix>({
        method: 'PATCH',
        path: `${this.#base()}/${prefixId}/bgp/prefixes/${bgpPrefixId}`,
        body: { on_demand: { advertised: true } },
      });
      return this.#state(rule.id, result, nativeId);
    } catch (err) {
      // Refused (not a timeout, where Cloudflare may have acted): not ours, so a withdraw must not touch it.
      if (err instanceof VendorHttpError && err.status !== undefined && err.status < 500 && !mine)
        await this.#owned.delete(nativeId);
      throw err;
    }
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    let owned: Owned | undefined;
    if ('kind' in rule) {
      owned = [...(await this.#owned.all()).values()].find((o) => o.ruleId === rule.id);
    } else {
      owned = await this.#owned.get(rule.nativeId);
    }
    if (!owned) return;
    try {
      await this.#cf.call<BgpPrefix>({
        method: 'PATCH',
        path: `${this.#base()}/${owned.prefixId}/bgp/prefixes/${owned.bgpPrefixId}`,
        body: { on_demand: { advertised: false } },
      });
    } catch (err) {
      if (!(err instanceof VendorHttpError && err.status === 404)) throw err;
    }
    await this.#owned.delete(owned.nativeId);
  }

  async list(): Promise<InstalledRef[]> {
    const out: InstalledRef[] = [];
    for (const o of (await this.#owned.all()).values()) {
      const { result } = await this.#cf
        .call<BgpPrefix>({
          method: 'GET',
          path: `${this.#base()}/${o.prefixId}/bgp/prefixes/${o.bgpPrefixId}`,
          accept: [404],
        })
        .catch((err: unknown) => {
          if (err instanceof VendorHttpError && err.status === 404) return { result: undefined };
          throw err;
        });
      if (result?.on_demand?.advertised === true)
        out.push({ ruleId: o.ruleId, nativeId: o.nativeId, description: `Magic Transit advertisement of ${o.cidr}` });
    }
    return out;
  }

  async health(): Promise<Health> {
    try {
      await this.#cf.call<IpPrefix[]>({ method: 'GET', path: this.#base() });
      return { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
