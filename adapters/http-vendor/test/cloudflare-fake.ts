// A local fake of the Cloudflare v4 API parts ft uses, from the documented API (Cloudflare API v4 reference; docs/adapters/cloudflare-*.md): Magic Transit
// BGP prefixes (on-demand advertisement) and WAF IP Access Rules. Bearer token checked, v4 envelope, Ratelimit
// headers on every answer. Marked [UNVERIFIED] where Cloudflare's documentation does not confirm the behaviour.
import { randomBytes } from 'node:crypto';
import { FakeServer, json, type Recorded, type Reply } from './fake.js';

export interface FakeBgpPrefix {
  id: string;
  cidr: string;
  asn: number;
  on_demand: {
    advertised: boolean;
    advertised_modified_at: string | null;
    on_demand_enabled: boolean;
    on_demand_locked: boolean;
  };
}

export interface FakeAccessRule {
  id: string;
  mode: string;
  configuration: { target: string; value: string };
  notes: string;
  created_on: string;
  modified_on: string;
}

const hex = () => randomBytes(16).toString('hex');
const envelope = (result: unknown, extra: Record<string, unknown> = {}) => ({
  success: true,
  errors: [],
  messages: [],
  result,
  ...extra,
});
export const cfError = (
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Reply => ({
  status,
  headers,
  body: { success: false, errors: [{ code, message }], messages: [], result: null },
});

export class CloudflareFake {
  readonly server: FakeServer;
  readonly prefixes: { id: string; cidr: string; bgp: FakeBgpPrefix[] }[] = [];
  readonly accessRules = new Map<string, FakeAccessRule>();
  /** GETs of a BGP prefix after a PATCH show the old value this many times (advertisement registers slowly). */
  lagGets = 0;
  #lagLeft = new Map<string, { left: number; old: boolean }>();
  /** [UNVERIFIED, third-party claim] re-advertising < 15 min after a withdraw answers 429 code 1002. */
  readvertiseCooldown = false;
  #withdrawnAt = new Map<string, number>();

  constructor(
    readonly accountId: string,
    readonly token: string,
    readonly zoneId = hex(),
  ) {
    this.server = new FakeServer((r) => this.#route(r));
  }

  get base(): string {
    return `${this.server.base}/client/v4`;
  }

  addPrefix(cidr: string, bgpCidrs: string[], enabled = true): void {
    this.prefixes.push({
      id: hex(),
      cidr,
      bgp: bgpCidrs.map((c) => ({
        id: hex(),
        cidr: c,
        asn: 13335,
        on_demand: {
          advertised: false,
          advertised_modified_at: null,
          on_demand_enabled: enabled,
          on_demand_locked: false,
        },
      })),
    });
  }

  bgp(cidr: string): FakeBgpPrefix | undefined {
    return this.prefixes.flatMap((p) => p.bgp).find((b) => b.cidr === cidr);
  }

  #route(req: Recorded): Reply {
    const rate = { ratelimit: '"default";r=1199;t=300', 'ratelimit-policy': '"burst";q=1200;w=300' };
    const withRate = (r: Reply): Reply => ({ ...r, headers: { ...rate, ...r.headers } });
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return withRate(cfError(403, 10000, 'Authentication error'));
    return withRate(this.#api(req));
  }

  #api(req: Recorded): Reply {
    const p = req.path.replace(/^\/client\/v4/, '');
    const acct = `/accounts/${this.accountId}`;
    if (req.method === 'GET' && p === `${acct}/addressing/prefixes`) {
      return {
        status: 200,
        body: envelope(
          this.prefixes.map(({ id, cidr }) => ({ id, cidr, account_id: this.accountId, on_demand_enabled: true })),
        ),
      };
    }
    let m = new RegExp(`^${acct}/addressing/prefixes/([0-9a-f]+)/bgp/prefixes(?:/([0-9a-f]+))?$`).exec(p);
    if (m) {
      const prefix = this.prefixes.find((x) => x.id === m![1]);
      if (!prefix) return cfError(404, 1000, 'Prefix not found');
      if (!m[2])
        return req.method === 'GET'
          ? { status: 200, body: envelope(prefix.bgp) }
          : cfError(405, 10405, 'Method not allowed');
      const bgp = prefix.bgp.find((b) => b.id === m![2]);
      if (!bgp) return cfError(404, 1000, 'BGP prefix not found');
      if (req.method === 'GET') {
        const lag = this.#lagLeft.get(bgp.id);
        if (lag && lag.left > 0) {
          lag.left--;
          return { status: 200, body: envelope({ ...bgp, on_demand: { ...bgp.on_demand, advertised: lag.old } }) };
        }
        return { status: 200, body: envelope(bgp) };
      }
      if (req.method === 'PATCH') {
        const body = json(req);
        const adv = body?.on_demand?.advertised;
        if (
          typeof adv !== 'boolean' ||
          Object.keys(body).some((k) => !['on_demand', 'asn_prepend_count', 'auto_advertise_withdraw'].includes(k))
        ) {
          return cfError(400, 1002, 'Invalid request body: expected {"on_demand":{"advertised":boolean}}');
        }
        if (!bgp.on_demand.on_demand_enabled)
          return cfError(400, 1003, 'Prefix is not enabled for on-demand advertisement');
        if (adv && this.readvertiseCooldown && Date.now() - (this.#withdrawnAt.get(bgp.id) ?? 0) < 15 * 60_000) {
          return cfError(429, 1002, 'Prefix was withdrawn less than 15 minutes ago');
        }
        if (bgp.on_demand.advertised !== adv) {
          this.#lagLeft.set(bgp.id, { left: this.lagGets, old: bgp.on_demand.advertised });
          bgp.on_demand = { ...bgp.on_demand, advertised: adv, advertised_modified_at: new Date().toISOString() };
          if (!adv) this.#withdrawnAt.set(bgp.id, Date.now());
        }
        return { status: 200, body: envelope(bgp) };
      }
    }
    m = /^\/(accounts|zones)\/([0-9a-f]+)\/firewall\/access_rules\/rules(?:\/([0-9a-f]+))?$/.exec(p);
    if (m) {
      const id = m[1] === 'zones' ? this.zoneId : this.accountId;
      if (m[2] !== id) return cfError(403, 10000, 'Authentication error');
      return this.#accessRules(req, m[3]);
    }
    return cfError(404, 7003, 'Could not route to ' + p + ', perhaps your object identifier is invalid?');
  }

  #accessRules(req: Recorded, id: string | undefined): Reply {
    if (!id && req.method === 'GET') {
      const page = Number(req.url.searchParams.get('page') ?? 1);
      const perPage = Number(req.url.searchParams.get('per_page') ?? 20);
      const all = [...this.accessRules.values()];
      const slice = all.slice((page - 1) * perPage, page * perPage);
      return {
        status: 200,
        body: envelope(slice, {
          result_info: {
            page,
            per_page: perPage,
            count: slice.length,
            total_count: all.length,
            total_pages: Math.max(1, Math.ceil(all.length / perPage)),
          },
        }),
      };
    }
    if (!id && req.method === 'POST') {
      const body = json(req);
      const target = body?.configuration?.target;
      const value = body?.configuration?.value;
      if (!['block', 'challenge', 'whitelist', 'js_challenge', 'managed_challenge'].includes(body?.mode))
        return cfError(400, 10001, 'mode is invalid');
      if (!['ip', 'ip_range', 'asn', 'country', 'ip6'].includes(target) || typeof value !== 'string')
        return cfError(400, 10002, 'configuration is invalid');
      if (target === 'ip_range') {
        const len = Number(value.split('/')[1]);
        const ok = value.includes(':') ? [32, 48, 64].includes(len) : [16, 24].includes(len);
        if (!ok) return cfError(400, 10003, 'ip_range must be a /16 or /24 (IPv4) or /32, /48, /64 (IPv6)');
      }
      // [C] duplicate configuration is refused.
      if ([...this.accessRules.values()].some((r) => r.configuration.value === value))
        return cfError(400, 10009, 'firewallaccessrules.api.duplicate_of_existing');
      const now = new Date().toISOString();
      const rule: FakeAccessRule = {
        id: hex(),
        mode: body.mode,
        configuration: { target, value },
        notes: String(body.notes ?? ''),
        created_on: now,
        modified_on: now,
      };
      this.accessRules.set(rule.id, rule);
      return { status: 200, body: envelope({ ...rule, allowed_modes: ['block', 'challenge', 'whitelist'] }) };
    }
    if (id && req.method === 'DELETE') {
      if (!this.accessRules.delete(id)) return cfError(404, 10001, 'firewallaccessrules.api.not_found');
      return { status: 200, body: envelope({ id }) };
    }
    return cfError(405, 10405, 'Method not allowed');
  }
}
