import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule, RuleId } from '@ft/sdk';
import { Prefix } from '@ft/sdk';
import { OwnershipFile, VendorClient, VendorHttpError, credential, httpBase } from '@ft/http-vendor';
import { z } from 'zod';
import { CannotExpress } from './cannot.js';
import { ovhSignature } from './ovh-sign.js';

const KIND = 'ovh-vac';
const ENDPOINTS = {
  'ovh-eu': 'https://eu.api.ovh.com/1.0',
  'ovh-ca': 'https://ca.api.ovh.com/1.0',
  'ovh-us': 'https://api.us.ovhcloud.com/1.0',
} as const;

export const ovhVacConfigSchema = z
  .object({
    endpoint: z.enum(['ovh-eu', 'ovh-ca', 'ovh-us']).default('ovh-eu'),
    baseUrl: httpBase(ENDPOINTS['ovh-eu']).optional().describe('Overrides endpoint (tests).'),
    applicationKey: z.string().min(1).describe('Name of the credential holding the application key.'),
    applicationSecret: z.string().min(1).describe('Name of the credential holding the application secret.'),
    consumerKey: z.string().min(1).describe('Name of the credential holding the consumer key.'),
    ipBlocks: z
      .array(
        z.string().transform((s, c) => {
          try {
            return Prefix.parse(s);
          } catch (err) {
            c.addIssue({ code: 'custom', message: (err as Error).message });
            return z.NEVER;
          }
        }),
      )
      .min(1)
      .describe('Your OVH IP blocks (as in /ip), e.g. 203.0.113.0/24: mitigated addresses must be inside one.'),
    timeoutMs: z.number().int().min(1000).max(120_000).default(20_000),
    retries: z.number().int().min(0).max(10).default(3),
  })
  .strict();
export type OvhVacConfig = z.output<typeof ovhVacConfigSchema>;

interface Mitigation {
  ipOnMitigation: string;
  permanent: boolean;
  auto: boolean;
  state: string;
}
interface Owned {
  nativeId: string;
  ruleId: RuleId;
  block: string;
  ip: string;
  /** true: ft created the entry (withdraw deletes it); false: OVH had it on auto, ft only made it permanent. */
  created: boolean;
}

/**
 * OVHcloud VAC permanent mitigation: divert = force an address through the scrubbing centre
 * (POST /ip/{block}/mitigation). Per IPv4 address: use `divertLength: { v4: 32 }` on this scrubber.
 */
export class OvhVacAction implements Action {
  readonly capabilities = ['divert'] as const;
  readonly #api: VendorClient;
  readonly #time: VendorClient;
  readonly #owned: OwnershipFile<Owned>;
  #offsetS: number | undefined;
  #offsetAt = 0;

  constructor(
    readonly config: OvhVacConfig,
    readonly ctx: PluginContext,
  ) {
    const base = config.baseUrl ?? ENDPOINTS[config.endpoint];
    const ak = credential(ctx, config.applicationKey);
    const as = credential(ctx, config.applicationSecret);
    const ck = credential(ctx, config.consumerKey);
    const common = {
      vendor: KIND,
      baseUrl: base,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      logger: ctx.logger,
      signal: ctx.signal,
    };
    // /auth/time is not signed; it gives the server clock the signature's timestamp must follow.
    this.#time = new VendorClient({
      ...common,
      authorize: (r) => void (r.headers['x-ovh-application'] = ak().reveal()),
    });
    this.#api = new VendorClient({
      ...common,
      authorize: async (r) => {
        const ts = Math.floor(Date.now() / 1000) + (await this.#drift());
        r.headers['x-ovh-application'] = ak().reveal();
        r.headers['x-ovh-consumer'] = ck().reveal();
        r.headers['x-ovh-timestamp'] = String(ts);
        r.headers['x-ovh-signature'] = ovhSignature(as().reveal(), ck().reveal(), r.method, r.url, r.body, ts);
      },
    });
    this.#owned = new OwnershipFile(ctx.stateDir, 'ovh-mitigations');
  }

  async #drift(): Promise<number> {
    // Re-read hourly: a clock that drifts would otherwise start failing every signature.
    if (this.#offsetS === undefined || Date.now() - this.#offsetAt > 3_600_000) {
      const res = await this.#time.request<number>({ method: 'GET', path: '/auth/time' });
      if (typeof res.body !== 'number') throw new Error(`${KIND}: /auth/time did not answer a number`);
      this.#offsetS = res.body - Math.floor(Date.now() / 1000);
      this.#offsetAt = Date.now();
    }
    return this.#offsetS;
  }

  #target(rule: Rule): { block: Prefix; ip: string } {
    if (rule.kind !== 'divert')
      throw new CannotExpress(
        KIND,
        `OVH VAC mitigation diverts addresses to scrubbing; a ${rule.kind} rule is not expressible`,
      );
    const t = rule.target;
    if (t.family !== 4 || t.length !== 32) {
      throw new CannotExpress(
        KIND,
        `permanent mitigation is per IPv4 address, ${String(t)} is not one (set divertLength: { v4: 32 } on this scrubber)`,
      );
    }
    const block = this.config.ipBlocks.find((b) => b.contains(t));
    if (!block) throw new CannotExpress(KIND, `${String(t)} is in none of the configured ipBlocks`);
    return { block, ip: String(t).split('/')[0]! };
  }

  #path(block: Prefix, ip?: string): string {
    return `/ip/${encodeURIComponent(String(block))}/mitigation${ip ? `/${ip}` : ''}`;
  }

  render(rule: Rule): RenderedCommand[] {
    try {
      const { block, ip } = this.#target(rule);
      const url = `${this.config.baseUrl ?? ENDPOINTS[this.config.endpoint]}${this.#path(block)}`;
      const body = { ipOnMitigation: ip };
      return [
        {
          adapter: KIND,
          format: 'http',
          text: `POST ${url} ${JSON.stringify(body)} (signed: X-Ovh-Application/Consumer/Timestamp/Signature)`,
          payload: { method: 'POST', url, body },
        },
      ];
    } catch (err) {
      if (err instanceof CannotExpress) return err.render();
      throw err;
    }
  }

  async #status(block: Prefix, ip: string): Promise<Mitigation | undefined> {
    const res = await this.#api.request<Mitigation>({ method: 'GET', path: this.#path(block, ip), accept: [404] });
    return res.status === 404 ? undefined : res.body;
  }

  #applied(ruleId: RuleId, nativeId: string, m: Mitigation): Applied {
    return m.state === 'ok'
      ? { ruleId, state: 'installed', nativeId }
      : { ruleId, state: 'pending', nativeId, detail: `OVH mitigation state "${m.state}"` };
  }

  async apply(rule: Rule): Promise<Applied> {
    const { block, ip } = this.#target(rule);
    const nativeId = `${String(block)}/${ip}`;
    const now = await this.#status(block, ip);
    if (now?.permanent) return this.#applied(rule.id, nativeId, now);
    if (now) {
      // OVH is auto-mitigating already: make it permanent, and on withdraw hand it back to auto.
      await this.#owned.put({ nativeId, ruleId: rule.id, block: String(block), ip, created: false });
      await this.#api.request({ method: 'PUT', path: this.#path(block, ip), body: { permanent: true } });
    } else {
      await this.#owned.put({ nativeId, ruleId: rule.id, block: String(block), ip, created: true });
      try {
        const res = await this.#api.request({
          method: 'POST',
          path: this.#path(block),
          body: { ipOnMitigation: ip },
          accept: [409],
        });
        if (res.status === 409) this.ctx.logger.info({ ip }, 'mitigation created concurrently; reading its state');
      } catch (err) {
        // Refused outright: nothing of ours exists there (after a timeout OVH may have acted, so the record stays).
        if (err instanceof VendorHttpError && err.status !== undefined && err.status < 500)
          await this.#owned.delete(nativeId);
        throw err;
      }
    }
    const after = await this.#status(block, ip);
    if (!after) return { ruleId: rule.id, state: 'pending', nativeId, detail: 'OVH does not show the mitigation yet' };
    return this.#applied(rule.id, nativeId, after);
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const owned =
      'kind' in rule
        ? [...(await this.#owned.all()).values()].find((o) => o.ruleId === rule.id)
        : await this.#owned.get(rule.nativeId);
    if (!owned) return;
    const block = Prefix.parse(owned.block);
    if (owned.created) {
      await this.#api.request({ method: 'DELETE', path: this.#path(block, owned.ip), accept: [404] });
    } else {
      await this.#api.request({
        method: 'PUT',
        path: this.#path(block, owned.ip),
        body: { permanent: false },
        accept: [404],
      });
    }
    await this.#owned.delete(owned.nativeId);
  }

  async list(): Promise<InstalledRef[]> {
    const out: InstalledRef[] = [];
    for (const o of (await this.#owned.all()).values()) {
      const m = await this.#status(Prefix.parse(o.block), o.ip);
      if (m?.permanent)
        out.push({
          ruleId: o.ruleId,
          nativeId: o.nativeId,
          description: `OVH permanent mitigation of ${o.ip} (${m.state})`,
        });
    }
    return out;
  }

  async health(): Promise<Health> {
    try {
      await this.#api.request({ method: 'GET', path: this.#path(this.config.ipBlocks[0]!) });
      return { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
