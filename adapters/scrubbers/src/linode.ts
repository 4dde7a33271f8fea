import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule, RuleId } from '@ft/sdk';
import { isRuleId } from '@ft/sdk';
import { ConflictError, VendorClient, credential, httpBase } from '@ft/http-vendor';
import { z } from 'zod';
import { CannotExpress } from './cannot.js';

const KIND = 'linode';

export const linodeConfigSchema = z
  .object({
    firewallId: z.number().int().positive(),
    apiToken: z
      .string()
      .min(1)
      .describe('Name of the credential holding a personal access token with firewall:read_write.'),
    baseUrl: httpBase('https://api.linode.com/v4'),
    timeoutMs: z.number().int().min(1000).max(120_000).default(20_000),
    retries: z.number().int().min(0).max(10).default(3),
    conflictRetries: z.number().int().min(0).max(10).default(3),
  })
  .strict();
export type LinodeConfig = z.output<typeof linodeConfigSchema>;

export interface LinodeRule {
  action: 'ACCEPT' | 'DROP';
  protocol: 'TCP' | 'UDP' | 'ICMP' | 'IPENCAP';
  ports?: string;
  addresses: { ipv4?: string[]; ipv6?: string[] };
  label?: string;
  description?: string;
}
export interface LinodeRules {
  inbound: LinodeRule[];
  inbound_policy: 'ACCEPT' | 'DROP';
  outbound: LinodeRule[];
  outbound_policy: 'ACCEPT' | 'DROP';
  fingerprint?: string;
  version?: number;
}

const LABEL = 'ft-';
const ruleIdOf = (label: string | undefined): RuleId | undefined => {
  const id = label?.startsWith(LABEL) ? label.slice(LABEL.length) : undefined;
  return id && isRuleId(id) ? id : undefined;
};

/** The DROP rules a host-filter rule becomes (one per protocol), or why Linode cannot express it. */
export function linodeRules(rule: Rule): LinodeRule[] {
  if (rule.kind !== 'host-filter')
    throw new CannotExpress(
      KIND,
      `Cloud Firewall rules filter packets; a ${rule.kind} rule is not expressible (Linode has no scrubbing API)`,
    );
  const r = rule;
  if (r.action.type !== 'drop' && r.action.type !== 'reject')
    throw new CannotExpress(KIND, `Cloud Firewall rules accept or drop; "${r.action.type}" is not expressible`);
  if (!r.match.sources?.length) throw new CannotExpress(KIND, 'a rule without sources would drop everyone');
  if (r.match.sourcePorts?.length || r.match.tcpFlags)
    throw new CannotExpress(KIND, 'Cloud Firewall rules match destination ports only (no source ports, no TCP flags)');
  const ports = r.match.destinationPorts
    ?.map((p) => (p.min === p.max ? String(p.min) : `${p.min}-${p.max}`))
    .join(', ');
  const protocols: LinodeRule['protocol'][] = r.match.protocol
    ? [r.match.protocol.toUpperCase() as LinodeRule['protocol']]
    : ['TCP', 'UDP', 'ICMP'];
  if (ports && protocols.some((p) => p === 'ICMP')) throw new CannotExpress(KIND, 'ports with ICMP');
  const v4 = r.match.sources.filter((s) => s.family === 4).map(String);
  const v6 = r.match.sources.filter((s) => s.family === 6).map(String);
  return protocols.map((protocol) => ({
    action: 'DROP',
    protocol,
    ...(ports && protocol !== 'ICMP' ? { ports } : {}),
    addresses: { ...(v4.length ? { ipv4: v4 } : {}), ...(v6.length ? { ipv6: v6 } : {}) },
    label: `${LABEL}${rule.id}`,
    description: `ft ${rule.kind} for ${String(r.target)}`,
  }));
}

/**
 * Linode / Akamai Cloud Firewall: DROP rules put first in the inbound list. PUT replaces every rule, so writes are
 * read-modify-write guarded by the firewall's `version`/`fingerprint`: ft re-reads before the PUT and starts over
 * when they moved.
 */
export class LinodeAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  readonly #http: VendorClient;

  constructor(
    readonly config: LinodeConfig,
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
  }

  #path(): string {
    return `/networking/firewalls/${this.config.firewallId}/rules`;
  }

  render(rule: Rule): RenderedCommand[] {
    try {
      const rules = linodeRules(rule);
      const url = `${this.config.baseUrl}${this.#path()}`;
      return [
        {
          adapter: KIND,
          format: 'http',
          text: `GET ${url}, then PUT ${url} with these inbound rules first, the firewall's own rules and policies unchanged: ${JSON.stringify(rules)}`,
          payload: { method: 'PUT', url, insertInbound: rules },
        },
      ];
    } catch (err) {
      if (err instanceof CannotExpress) return err.render();
      throw err;
    }
  }

  async #read(): Promise<LinodeRules> {
    return (await this.#http.request<LinodeRules>({ method: 'GET', path: this.#path() })).body;
  }

  async #modify(change: (inbound: LinodeRule[]) => LinodeRule[] | undefined): Promise<boolean> {
    for (let attempt = 0; attempt <= this.config.conflictRetries; attempt++) {
      const cur = await this.#read();
      const inbound = change(cur.inbound);
      if (inbound === undefined) return false;
      const again = await this.#read();
      if (again.version !== cur.version || again.fingerprint !== cur.fingerprint) {
        this.ctx.logger.warn(
          { firewall: this.config.firewallId, attempt },
          'firewall rules changed between read and write; starting over',
        );
        continue;
      }
      const { fingerprint: _f, version: _v, ...rest } = cur;
      await this.#http.request({ method: 'PUT', path: this.#path(), body: { ...rest, inbound } });
      return true;
    }
    throw new ConflictError(KIND, `the rules of firewall ${this.config.firewallId}`, this.config.conflictRetries + 1);
  }

  async apply(rule: Rule): Promise<Applied> {
    const wanted = linodeRules(rule);
    await this.#modify((inbound) => {
      const mine = inbound.filter((r) => ruleIdOf(r.label) === rule.id);
      if (
        mine.length === wanted.length &&
        wanted.every((w) => mine.some((m) => m.protocol === w.protocol && (m.ports ?? '') === (w.ports ?? '')))
      )
        return undefined;
      const rest = inbound.filter((r) => ruleIdOf(r.label) !== rule.id);
      return [...rest.filter((r) => ruleIdOf(r.label)), ...wanted, ...rest.filter((r) => !ruleIdOf(r.label))];
    });
    return { ruleId: rule.id, state: 'installed', nativeId: `${this.config.firewallId}/${rule.id}` };
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const id = 'kind' in rule ? rule.id : (rule.ruleId ?? rule.nativeId.split('/')[1]);
    await this.#modify((inbound) =>
      inbound.some((r) => ruleIdOf(r.label) === id) ? inbound.filter((r) => ruleIdOf(r.label) !== id) : undefined,
    );
  }

  async list(): Promise<InstalledRef[]> {
    const ids = new Set(
      (await this.#read()).inbound.map((r) => ruleIdOf(r.label)).filter((x): x is RuleId => x !== undefined),
    );
    return [...ids].map((id) => ({
      ruleId: id,
      nativeId: `${this.config.firewallId}/${id}`,
      description: `Linode firewall DROP rules ${LABEL}${id}`,
    }));
  }

  async health(): Promise<Health> {
    try {
      await this.#read();
      return { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
