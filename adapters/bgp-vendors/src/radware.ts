import type {
  Action,
  Applied,
  DivertRule,
  Health,
  InstalledRef,
  PluginContext,
  RenderedCommand,
  Rule,
  RuleId,
} from '@ft/sdk';
import { OwnershipFile, VendorClient, VendorHttpError, credential, httpUrl } from '@ft/http-vendor';
import { z } from 'zod';

const KIND = 'radware';

const baseline = z
  .object({
    baselineIcmpBytesPerSecond: z.number().nonnegative(),
    baselineIcmpPacketsPerSecond: z.number().nonnegative(),
    baselineTcpBytesPerSecond: z.number().nonnegative(),
    baselineTcpPacketsPerSecond: z.number().nonnegative(),
    baselineUdpBytesPerSecond: z.number().nonnegative(),
    baselineUdpPacketsPerSecond: z.number().nonnegative(),
  })
  .strict();

export const radwareConfigSchema = z
  .object({
    url: httpUrl().describe('Vision / Cyber Controller base URL, e.g. https://vision.example.net'),
    username: z.string().min(1).describe('Name of the credential holding the Vision user name.'),
    password: z.string().min(1).describe('Name of the credential holding the Vision password.'),
    baselinesIpv4: baseline
      .optional()
      .describe(
        'Normal traffic of the diverted networks, sent with attackstart (whether DefenseFlow requires it is unverified).',
      ),
    baselinesIpv6: baseline.optional(),
    timeoutMs: z.number().int().min(1000).max(120_000).default(30_000),
    retries: z.number().int().min(0).max(10).default(3),
  })
  .strict();
export type RadwareConfig = z.output<typeof radwareConfigSchema>;

interface Owned {
  nativeId: string;
  ruleId: RuleId;
  cidr: string;
}

const attackId = (ruleId: string) => `ft_${ruleId.replace(/-/g, '_')}`;

/**
 * Radware DefenseFlow through Vision: divert = `attackstart` for the prefix (DefenseFlow diverts it to DefensePro
 * scrubbing per its own configuration), withdraw = `attackstop` with the same external attack id. The session
 * (JSESSIONID) comes from a login and is renewed once when Vision answers 401/403.
 */
export class RadwareAction implements Action {
  readonly capabilities = ['divert'] as const;
  readonly #http: VendorClient;
  readonly #login: VendorClient;
  readonly #owned: OwnershipFile<Owned>;
  readonly #user: () => string;
  readonly #pass: () => string;
  #session: string | undefined;

  constructor(
    readonly config: RadwareConfig,
    readonly ctx: PluginContext,
  ) {
    const user = credential(ctx, config.username);
    const pass = credential(ctx, config.password);
    this.#user = () => user().reveal();
    this.#pass = () => pass().reveal();
    const common = {
      vendor: KIND,
      baseUrl: config.url,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      logger: ctx.logger,
      signal: ctx.signal,
    };
    this.#login = new VendorClient(common);
    this.#http = new VendorClient({
      ...common,
      authorize: (r) => {
        if (this.#session) {
          r.headers.JSESSIONID = this.#session;
          r.headers.cookie = `JSESSIONID=${this.#session}`;
        }
      },
    });
    this.#owned = new OwnershipFile(ctx.stateDir, 'radware-attacks');
  }

  async #ensureSession(fresh = false): Promise<void> {
    if (this.#session && !fresh) return;
    this.#session = undefined;
    const res = await this.#login.request<{ status?: string; jsessionid?: string; message?: string }>({
      method: 'POST',
      path: '/mgmt/system/user/login',
      body: { username: this.#user(), password: this.#pass() },
      idempotent: true,
    });
    if (res.body?.status !== 'ok' || !res.body.jsessionid) {
      const why =
        typeof res.body === 'object' && res.body?.message ? res.body.message : JSON.stringify(res.body).slice(0, 200);
      throw new VendorHttpError(
        KIND,
        'POST',
        '/mgmt/system/user/login',
        res.status,
        `login refused: ${why}`,
        res.attempts,
        'auth',
      );
    }
    this.#session = res.body.jsessionid;
  }

  /** `settled` matches the vendor's answer when the state is already what we asked (a resend after a lost reply). */
  async #call(path: string, body: unknown, settled?: RegExp): Promise<void> {
    try {
      await this.#callOnce(path, body);
    } catch (err) {
      if (settled && err instanceof VendorHttpError && err.status === 400 && settled.test(err.vendorMessage ?? ''))
        return;
      throw err;
    }
  }

  async #callOnce(path: string, body: unknown): Promise<void> {
    await this.#ensureSession();
    try {
      await this.#http.request({ method: 'POST', path, body, idempotent: true });
    } catch (err) {
      if (!(err instanceof VendorHttpError && err.kind === 'auth')) throw err;
      // Sessions expire: log in again once, then give up (a wrong password must not loop).
      await this.#ensureSession(true);
      await this.#http.request({ method: 'POST', path, body, idempotent: true });
    }
  }

  #startBody(rule: DivertRule): Record<string, unknown> {
    const [ip, len] = String(rule.target).split('/');
    return {
      externalAttackId: attackId(rule.id),
      alertInfo: `ft ${rule.tenant} level ${rule.level}: divert ${String(rule.target)}`,
      networksDetails: { networks: [{ ip, prefix: Number(len) }] },
      ...(this.config.baselinesIpv4 ? { baselinesIpv4: this.config.baselinesIpv4 } : {}),
      ...(this.config.baselinesIpv6 ? { baselinesIpv6: this.config.baselinesIpv6 } : {}),
    };
  }

  render(rule: Rule): RenderedCommand[] {
    if (rule.kind !== 'divert')
      return [
        {
          adapter: KIND,
          format: 'text',
          text: `${KIND} cannot: DefenseFlow attackstart diverts networks; a ${rule.kind} rule is not expressible`,
        },
      ];
    const url = `${this.config.url}/mgmt/device/df/config/action/attackstart`;
    const body = this.#startBody(rule);
    return [
      {
        adapter: KIND,
        format: 'http',
        text: `POST ${url} ${JSON.stringify(body)} (after POST /mgmt/system/user/login)`,
        payload: { method: 'POST', url, body },
      },
    ];
  }

  async apply(rule: Rule): Promise<Applied> {
    if (rule.kind !== 'divert') throw new Error(`${KIND} cannot carry a ${rule.kind} rule (only divert)`);
    const nativeId = attackId(rule.id);
    if (await this.#owned.get(nativeId)) return { ruleId: rule.id, state: 'installed', nativeId };
    await this.#call('/mgmt/device/df/config/action/attackstart', this.#startBody(rule), /already exists/i);
    await this.#owned.put({ nativeId, ruleId: rule.id, cidr: String(rule.target) });
    return {
      ruleId: rule.id,
      state: 'installed',
      nativeId,
      detail: 'DefenseFlow accepted attackstart; diversion follows its own workflow',
    };
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const nativeId = 'kind' in rule ? attackId(rule.id) : rule.nativeId;
    if (!(await this.#owned.get(nativeId))) return;
    await this.#call('/mgmt/device/df/config/action/attackstop', { externalAttackId: nativeId }, /not found/i);
    await this.#owned.delete(nativeId);
  }

  /** DefenseFlow's API for listing active attacks is not documented publicly: ft reports what it started. */
  async list(): Promise<InstalledRef[]> {
    return [...(await this.#owned.all()).values()].map((o) => ({
      ruleId: o.ruleId,
      nativeId: o.nativeId,
      description: `DefenseFlow attack ${o.nativeId} for ${o.cidr}`,
    }));
  }

  async health(): Promise<Health> {
    try {
      await this.#ensureSession(true);
      return { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
