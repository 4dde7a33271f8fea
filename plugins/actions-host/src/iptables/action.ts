import {
  defineAction,
  type Action,
  type Applied,
  type HostFilterRule,
  type InstalledRef,
  type RenderedCommand,
  type Rule,
  type RuleCounters,
} from '@ft/sdk';
import { z } from 'zod';
import { HostRuleError } from '../common/errors.js';
import { HostExec } from '../common/exec.js';
import { argvCommand } from '../common/render.js';
import { netnsOption } from '../common/schema.js';
import { checkFilterAction, checkMatch, checkRuleId, expectKind, type FilterSpec } from '../common/validate.js';
import { IptablesEngine, restoreArgv, type Family } from './engine.js';
import { installBatch, ruleLines, type HookChain, type SourceSelector, type TableLines } from './render.js';
import { detectManagers } from '../managers/detect.js';

export const iptablesConfig = z.strictObject({
  /** Built-in chain ft's own chain FT-<chain> is jumped to from: INPUT for this host, FORWARD for a router. */
  chain: z.enum(['INPUT', 'FORWARD']).default('INPUT'),
  netns: netnsOption,
  /** One rule line per source address: above this, use the ipset kind. */
  maxSources: z.number().int().min(1).max(100_000).default(10_000),
});
export type IptablesConfig = z.infer<typeof iptablesConfig>;

export interface Prepared {
  spec: FilterSpec;
  family: Family;
  tables: TableLines[];
}

export function prepareFilter(
  kind: string,
  rule: Rule,
  chain: HookChain,
  selector: (spec: FilterSpec) => SourceSelector,
  maxSources: number,
): Prepared {
  const r = expectKind(kind, rule, ['host-filter']);
  const id = checkRuleId(kind, r.id);
  const spec = checkMatch(kind, id, r.match, { maxSources });
  const action = checkFilterAction(kind, r.action);
  return { spec, family: spec.family, tables: ruleLines(kind, spec, action, selector(spec), chain) };
}

/** Withdraw takes a rule or a ref from list(): both come down to a family and a rule id. */
export function targetOf(kind: string, target: Rule | InstalledRef): { family: Family; id: HostFilterRule['id'] } {
  if ('kind' in target) {
    const id = checkRuleId(kind, target.id);
    const fam = (target as HostFilterRule).match?.destination?.family ?? target.target?.family;
    if (fam !== 4 && fam !== 6) throw new HostRuleError(kind, 'match.destination', 'is missing');
    return { family: fam, id };
  }
  const m = /^ipv([46]) \S+-((?:hf|sh)-[0-9a-f]{16})$/.exec(target.nativeId);
  if (!m)
    throw new HostRuleError(
      kind,
      'nativeId',
      `${JSON.stringify(target.nativeId)} is not an ${kind} object ft installed`,
    );
  return { family: Number(m[1]) as Family, id: m[2] as HostFilterRule['id'] };
}

/**
 * firewalld (iptables backend) and CSF rebuild the whole iptables ruleset on restart, taking ft's chains with them
 * (reconcile puts them back, but there is a gap): said in health so the operator picks the manager's own kind.
 */
export async function managerThatFlushes(exec: HostExec): Promise<string | undefined> {
  const active = (await detectManagers(exec)).filter((m) => m.state === 'active' && m.name !== 'ufw');
  if (active.length === 0) return undefined;
  const names = active.map((m) => m.name).join(', ');
  return `${names} manages this host's firewall and rebuilds iptables on restart, removing ft's chains until the next reconcile: use kind ${active[0]?.name} instead`;
}

class IptablesAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  private readonly exec: HostExec;
  private readonly engine: IptablesEngine;

  constructor(private readonly config: IptablesConfig) {
    this.exec = new HostExec(config.netns);
    this.engine = new IptablesEngine(this.exec, 'FT', config.chain);
  }

  private prepare(rule: Rule): Prepared {
    return prepareFilter('iptables', rule, this.config.chain, () => ({ type: 'lines' }), this.config.maxSources);
  }

  render(rule: Rule): RenderedCommand[] {
    const p = this.prepare(rule);
    const batch = installBatch('FT', p.spec.id, p.tables, () => false);
    return [argvCommand('iptables', this.exec, restoreArgv(p.family), batch)];
  }

  async apply(rule: Rule): Promise<Applied> {
    const p = this.prepare(rule);
    const done = await this.engine.install(p.family, p.spec.id, p.tables);
    return {
      ruleId: p.spec.id,
      state: 'installed',
      nativeId: `ipv${p.family} FT-${p.spec.id}`,
      detail: done === 'present' ? 'already installed' : `chain FT-${p.spec.id} jumped from FT-${this.config.chain}`,
    };
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    const { family, id } = targetOf('iptables', target);
    await this.engine.remove(family, id);
  }

  async list(): Promise<InstalledRef[]> {
    return [...(await this.engine.list(4)), ...(await this.engine.list(6))];
  }

  async counters(): Promise<RuleCounters[]> {
    return [...(await this.engine.counters(4)), ...(await this.engine.counters(6))];
  }

  async health() {
    const r = await this.exec.run(['iptables-save', '-t', 'filter'], { allowFail: true });
    if (r.code !== 0)
      return { status: 'down' as const, detail: `iptables-save: ${r.stderr.trim() || `exit ${r.code}`}` };
    const flusher = await managerThatFlushes(this.exec);
    if (flusher) return { status: 'degraded' as const, detail: flusher };
    return {
      status: 'ok' as const,
      detail: `hooked from ${this.config.chain}${this.config.netns ? ` in netns ${this.config.netns}` : ''}`,
    };
  }
}

export const iptablesFactory = defineAction({
  kind: 'iptables',
  description:
    'iptables/ip6tables: drop, reject, rate-limit, hashlimit, connlimit, SYN cookies (SYNPROXY) in ft-owned chains',
  configSchema: iptablesConfig,
  capabilities: ['host-filter'],
  reach: 'host',
  // The onNode steps it can carry (policy validate refuses the others); test/policy/host-steps.test.ts checks them.
  features: {
    hostSteps: ['synCookies', 'hashlimit', 'rateLimit', 'connlimit', 'dropUdpSourcePorts', 'dropTopSources'],
  },
  async create(config) {
    return new IptablesAction(iptablesConfig.parse(config));
  },
});
