import {
  defineAction,
  type Action,
  type Applied,
  type InstalledRef,
  type RenderedCommand,
  type Rule,
  type RuleCounters,
  type RuleId,
} from '@ft/sdk';
import { z } from 'zod';
import { HostRuleError } from '../common/errors.js';
import { HostExec } from '../common/exec.js';
import { argvCommand } from '../common/render.js';
import { netnsOption } from '../common/schema.js';
import { type FilterSpec } from '../common/validate.js';
import { managerThatFlushes, prepareFilter, targetOf, type Prepared } from '../iptables/action.js';
import { IptablesEngine, restoreArgv } from '../iptables/engine.js';
import { installBatch } from '../iptables/render.js';

export const ipsetConfig = z.strictObject({
  chain: z.enum(['INPUT', 'FORWARD']).default('INPUT'),
  netns: netnsOption,
  maxSources: z.number().int().min(1).max(10_000_000).default(1_000_000),
});
export type IpsetConfig = z.infer<typeof ipsetConfig>;

/** ft's sets are named ft-<rule id> (22 of the 31 characters ipset allows). */
export const setNameOf = (id: RuleId) => `ft-${id}`;
const SET_RE = /^ft-((?:hf|sh)-[0-9a-f]{16})$/;

/** One `ipset restore` batch: create (or keep) the set, then every address, in a single call. */
export function setBatch(spec: FilterSpec): string {
  const name = setNameOf(spec.id);
  const maxelem = Math.max(65536, spec.sources.length);
  const lines = [
    `create ${name} hash:net family ${spec.family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem ${maxelem} -exist`,
  ];
  for (const s of spec.sources) lines.push(`add ${name} ${s.isHost ? s.address : s.toString()} -exist`);
  return `${lines.join('\n')}\n`;
}

class IpsetAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  private readonly exec: HostExec;
  private readonly engine: IptablesEngine;

  constructor(private readonly config: IpsetConfig) {
    this.exec = new HostExec(config.netns);
    this.engine = new IptablesEngine(this.exec, 'FTS', config.chain);
  }

  private prepare(rule: Rule): Prepared {
    const p = prepareFilter(
      'ipset',
      rule,
      this.config.chain,
      (spec) => ({ type: 'set', setName: setNameOf(spec.id) }),
      this.config.maxSources,
    );
    if (p.spec.sources.length === 0)
      throw new HostRuleError(
        'ipset',
        'match.sources',
        'the ipset kind blocks listed sources: give at least one (or use iptables/nft)',
      );
    p.spec.sources.forEach((s, i) => {
      if (s.length === 0) throw new HostRuleError('ipset', `match.sources[${i}]`, 'hash:net sets cannot hold a /0');
    });
    return p;
  }

  render(rule: Rule): RenderedCommand[] {
    const p = this.prepare(rule);
    return [
      argvCommand('ipset', this.exec, ['ipset', 'restore'], setBatch(p.spec)),
      argvCommand(
        'ipset',
        this.exec,
        restoreArgv(p.family),
        installBatch('FTS', p.spec.id, p.tables, () => false),
      ),
    ];
  }

  async apply(rule: Rule): Promise<Applied> {
    const p = this.prepare(rule);
    // The set first: the iptables rule refers to it by name and iptables-restore refuses a missing set.
    await this.exec.run(['ipset', 'restore'], { input: setBatch(p.spec) });
    const done = await this.engine.install(p.family, p.spec.id, p.tables);
    return {
      ruleId: p.spec.id,
      state: 'installed',
      nativeId: `ipv${p.family} FTS-${p.spec.id}`,
      detail: `${done === 'present' ? 'already installed; ' : ''}set ${setNameOf(p.spec.id)} with ${p.spec.sources.length} entries`,
    };
  }

  private async sets(): Promise<string[]> {
    const r = await this.exec.run(['ipset', 'list', '-n']);
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => SET_RE.test(l));
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    let id: RuleId;
    if (!('kind' in target) && target.nativeId.startsWith('set ')) {
      const m = SET_RE.exec(target.nativeId.slice(4));
      if (!m)
        throw new HostRuleError('ipset', 'nativeId', `${JSON.stringify(target.nativeId)} is not a set ft created`);
      id = m[1] as RuleId;
      await this.engine.remove(4, id);
      await this.engine.remove(6, id);
    } else {
      const t = targetOf('ipset', target);
      id = t.id;
      await this.engine.remove(t.family, id);
    }
    // Only after no rule refers to it can the set go.
    if ((await this.sets()).includes(setNameOf(id))) await this.exec.run(['ipset', 'destroy', setNameOf(id)]);
  }

  async list(): Promise<InstalledRef[]> {
    const chains = [...(await this.engine.list(4)), ...(await this.engine.list(6))];
    const ids = new Set(chains.map((c) => c.ruleId));
    // A set with no chain (a crash between the two calls) is an orphan too.
    const lone = (await this.sets())
      .map((n) => SET_RE.exec(n)?.[1] as RuleId)
      .filter((id) => !ids.has(id))
      .map((id) => ({
        ruleId: id,
        nativeId: `set ${setNameOf(id)}`,
        description: `ipset ${setNameOf(id)} without its iptables chain`,
      }));
    return [
      ...chains.map((c) => ({ ...c, description: `${c.description}, set ${setNameOf(c.ruleId as RuleId)}` })),
      ...lone,
    ];
  }

  async counters(): Promise<RuleCounters[]> {
    return [...(await this.engine.counters(4)), ...(await this.engine.counters(6))];
  }

  async health() {
    const r = await this.exec.run(['ipset', 'list', '-n'], { allowFail: true });
    if (r.code !== 0) return { status: 'down' as const, detail: `ipset: ${r.stderr.trim() || `exit ${r.code}`}` };
    const flusher = await managerThatFlushes(this.exec);
    if (flusher) return { status: 'degraded' as const, detail: flusher };
    return { status: 'ok' as const };
  }
}

export const ipsetFactory = defineAction({
  kind: 'ipset',
  description:
    'ipset hash:net sets (one atomic ipset restore for any number of sources) matched by an ft-owned iptables chain',
  configSchema: ipsetConfig,
  capabilities: ['host-filter'],
  reach: 'host',
  // The onNode steps it can carry (policy validate refuses the others); test/policy/host-steps.test.ts checks them.
  features: { hostSteps: ['dropTopSources'] },
  async create(config) {
    return new IpsetAction(ipsetConfig.parse(config));
  },
});
