import type {
  Action,
  Applied,
  Health,
  HostFilterRule,
  InstalledRef,
  PluginContext,
  RenderedCommand,
  Rule,
  RuleId,
} from '@ft/sdk';
import { OwnershipFile, VendorClient, VendorHttpError, credential, httpBase } from '@ft/http-vendor';
import { z } from 'zod';
import { CannotExpress } from './cannot.js';

const KIND = 'digitalocean';

export const digitalOceanConfigSchema = z
  .object({
    firewallId: z.string().uuid(),
    apiToken: z
      .string()
      .min(1)
      .describe('Name of the credential holding a token with firewall:update (and firewall:read).'),
    baseUrl: httpBase('https://api.digitalocean.com'),
    timeoutMs: z.number().int().min(1000).max(120_000).default(20_000),
    retries: z.number().int().min(0).max(10).default(3),
  })
  .strict();
export type DigitalOceanConfig = z.output<typeof digitalOceanConfigSchema>;

export interface DoRule {
  protocol: 'tcp' | 'udp' | 'icmp';
  ports?: string;
  action?: 'allow' | 'deny';
  sources: {
    addresses?: string[];
    droplet_ids?: number[];
    load_balancer_uids?: string[];
    kubernetes_ids?: string[];
    tags?: string[];
  };
}
interface DoFirewall {
  id: string;
  status: 'waiting' | 'succeeded' | 'failed';
  inbound_rules: DoRule[];
}
interface Owned {
  nativeId: string;
  ruleId: RuleId;
  rules: DoRule[];
}

/** The deny rules a host-filter rule becomes, or why DigitalOcean cannot express it. */
export function doRules(rule: Rule): DoRule[] {
  if (rule.kind !== 'host-filter')
    throw new CannotExpress(
      KIND,
      `Cloud Firewall rules filter packets; a ${rule.kind} rule is not expressible (DigitalOcean has no scrubbing API)`,
    );
  const r = rule as HostFilterRule;
  if (r.action.type !== 'drop' && r.action.type !== 'reject')
    throw new CannotExpress(KIND, `"${r.action.type}" is not expressible (rules allow or deny)`);
  if (!r.match.sources?.length) throw new CannotExpress(KIND, 'a rule without sources would deny everyone');
  if (r.match.sourcePorts?.length || r.match.tcpFlags)
    throw new CannotExpress(KIND, 'rules match destination ports only');
  if ((r.match.destinationPorts?.length ?? 0) > 1) throw new CannotExpress(KIND, 'one destination port range per rule');
  const p = r.match.destinationPorts?.[0];
  const ports = p ? (p.min === p.max ? String(p.min) : `${p.min}-${p.max}`) : '0';
  const protocols: DoRule['protocol'][] = r.match.protocol ? [r.match.protocol] : ['tcp', 'udp', 'icmp'];
  if (p && protocols.includes('icmp')) throw new CannotExpress(KIND, 'ports with ICMP');
  return protocols.map((protocol) => ({
    protocol,
    ...(protocol === 'icmp' ? {} : { ports }),
    action: 'deny',
    sources: {
      addresses: r.match.sources!.map((s) =>
        s.length === (s.family === 4 ? 32 : 128) ? String(s).split('/')[0]! : String(s),
      ),
    },
  }));
}

const key = (r: DoRule) =>
  JSON.stringify([
    r.protocol,
    r.protocol === 'icmp' ? '' : (r.ports ?? '0'),
    r.action ?? 'allow',
    [...(r.sources.addresses ?? [])].sort(),
  ]);

/**
 * DigitalOcean Cloud Firewall deny rules ([UNVERIFIED] availability of `action: deny`: it is in the OpenAPI spec
 * while the product docs still describe allow-only firewalls). Rules carry no label: ft records the exact rules it
 * added and only ever removes those.
 */
export class DigitalOceanAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  readonly #http: VendorClient;
  readonly #owned: OwnershipFile<Owned>;

  constructor(
    readonly config: DigitalOceanConfig,
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
      authorize: (r) => void (r.headers.authorization = `Bearer ${token().reveal()}`),
    });
    this.#owned = new OwnershipFile(ctx.stateDir, 'digitalocean-rules');
  }

  #path(): string {
    return `/v2/firewalls/${this.config.firewallId}`;
  }

  render(rule: Rule): RenderedCommand[] {
    try {
      const url = `${this.config.baseUrl}${this.#path()}/rules`;
      const body = { inbound_rules: doRules(rule) };
      return [
        {
          adapter: KIND,
          format: 'http',
          text: `POST ${url} ${JSON.stringify(body)}`,
          payload: { method: 'POST', url, body },
        },
      ];
    } catch (err) {
      if (err instanceof CannotExpress) return err.render();
      throw err;
    }
  }

  async #read(): Promise<DoFirewall> {
    return (await this.#http.request<{ firewall: DoFirewall }>({ method: 'GET', path: this.#path() })).body.firewall;
  }

  #state(ruleId: RuleId, fw: DoFirewall): Applied {
    const nativeId = `${this.config.firewallId}/${ruleId}`;
    if (fw.status === 'failed')
      throw new Error(`${KIND}: firewall ${this.config.firewallId} reports status "failed" applying its rules`);
    return fw.status === 'succeeded'
      ? { ruleId, state: 'installed', nativeId }
      : { ruleId, state: 'pending', nativeId, detail: `firewall status "${fw.status}"` };
  }

  async apply(rule: Rule): Promise<Applied> {
    const wanted = doRules(rule);
    const fw = await this.#read();
    const present = new Set(fw.inbound_rules.map(key));
    const missing = wanted.filter((w) => !present.has(key(w)));
    if (missing.length === 0) return this.#state(rule.id, fw);
    const nativeId = `${this.config.firewallId}/${rule.id}`;
    const had = await this.#owned.get(nativeId);
    await this.#owned.put({ nativeId, ruleId: rule.id, rules: wanted });
    try {
      await this.#http.request({ method: 'POST', path: `${this.#path()}/rules`, body: { inbound_rules: missing } });
    } catch (err) {
      // Refused outright: nothing was added, so nothing may be claimed (after a timeout DO may have acted).
      if (!had && err instanceof VendorHttpError && err.status !== undefined && err.status < 500)
        await this.#owned.delete(nativeId);
      throw err;
    }
    return this.#state(rule.id, await this.#read());
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const owned =
      'kind' in rule
        ? await this.#owned.get(`${this.config.firewallId}/${rule.id}`)
        : await this.#owned.get(rule.nativeId);
    if (!owned) return;
    const fw = await this.#read();
    const present = new Set(fw.inbound_rules.map(key));
    const there = owned.rules.filter((r) => present.has(key(r)));
    if (there.length)
      await this.#http.request({ method: 'DELETE', path: `${this.#path()}/rules`, body: { inbound_rules: there } });
    await this.#owned.delete(owned.nativeId);
  }

  async list(): Promise<InstalledRef[]> {
    const owned = [...(await this.#owned.all()).values()];
    if (owned.length === 0) return [];
    const present = new Set((await this.#read()).inbound_rules.map(key));
    return owned
      .filter((o) => o.rules.some((r) => present.has(key(r))))
      .map((o) => ({
        ruleId: o.ruleId,
        nativeId: o.nativeId,
        description: `DigitalOcean deny rules for ${o.rules[0]?.sources.addresses?.join(', ')}`,
      }));
  }

  async health(): Promise<Health> {
    try {
      const fw = await this.#read();
      return fw.status === 'failed' ? { status: 'degraded', detail: 'firewall status "failed"' } : { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
