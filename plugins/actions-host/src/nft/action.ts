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
import { serialize } from '../common/lock.js';
import { netnsOption } from '../common/schema.js';
import { checkFilterAction, checkMatch, checkRuleId, expectKind, TAG_RE } from '../common/validate.js';
import { idOfName, installScript, nameOf, nftParts, PASSED_COMMENT, TABLE, type NftRuleParts } from './render.js';

export const nftConfig = z.strictObject({
  /** Base chain of table inet ft: input for this host, forward for a router. */
  hook: z.enum(['input', 'forward']).default('input'),
  /** Before the distribution's filter chains (priority 0), so a drop here is not undone by an earlier accept. */
  priority: z.number().int().min(-400).max(400).default(-10),
  /** ft's own table (family inet); everything in it is ft's, and it goes when ft's last rule does. */
  table: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,30}$/, 'lower-case letters, digits and _')
    .default(TABLE),
  netns: netnsOption,
  maxSources: z.number().int().min(1).max(10_000_000).default(1_000_000),
});
export type NftConfig = z.infer<typeof nftConfig>;

interface NftObject {
  table?: { name: string };
  chain?: { name: string; table: string; hook?: string };
  set?: { name: string; table: string };
  rule?: { chain: string; table: string; handle: number; comment?: string; expr: Record<string, unknown>[] };
}

/** What table inet ft holds, as nft -j prints it. */
export class NftState {
  constructor(readonly objects: NftObject[]) {}
  static parse(json: string): NftState {
    const doc = JSON.parse(json) as { nftables?: NftObject[] };
    return new NftState(doc.nftables ?? []);
  }
  get chains() {
    return this.objects.flatMap((o) => (o.chain ? [o.chain] : []));
  }
  get sets() {
    return this.objects.flatMap((o) => (o.set ? [o.set] : []));
  }
  get rules() {
    return this.objects.flatMap((o) => (o.rule ? [o.rule] : []));
  }
  /** Rule ids with at least one object in the table, and the base chains they are jumped from. */
  ids(): Map<RuleId, { chains: string[]; sets: string[]; jumps: { base: string; handle: number }[] }> {
    const out = new Map<RuleId, { chains: string[]; sets: string[]; jumps: { base: string; handle: number }[] }>();
    const get = (id: RuleId) => out.get(id) ?? out.set(id, { chains: [], sets: [], jumps: [] }).get(id)!;
    for (const c of this.chains) {
      const id = idOfName(c.name);
      if (id) get(id).chains.push(c.name);
    }
    for (const s of this.sets) {
      const id = idOfName(s.name);
      if (id) get(id).sets.push(s.name);
    }
    for (const r of this.rules) {
      const id = r.comment ? TAG_RE.exec(r.comment)?.[1] : undefined;
      if (id) get(id as RuleId).jumps.push({ base: r.chain, handle: r.handle });
    }
    return out;
  }
}

class NftAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  private readonly exec: HostExec;

  constructor(private readonly config: NftConfig) {
    this.exec = new HostExec(config.netns);
  }

  private prepare(rule: Rule): { id: RuleId; parts: NftRuleParts; script: string } {
    const r = expectKind('nft', rule, ['host-filter']);
    const id = checkRuleId('nft', r.id);
    const spec = checkMatch('nft', id, r.match, { maxSources: this.config.maxSources });
    const parts = nftParts('nft', spec, checkFilterAction('nft', r.action), this.config.hook, this.config.table);
    return { id, parts, script: installScript(parts, id, this.config.hook, this.config.priority, this.config.table) };
  }

  render(rule: Rule): RenderedCommand[] {
    return [argvCommand('nft', this.exec, ['nft', '-f', '-'], this.prepare(rule).script, 'nft')];
  }

  private async state(): Promise<NftState> {
    const r = await this.exec.run(['nft', '-j', 'list', 'table', 'inet', this.config.table], { allowFail: true });
    if (r.code !== 0) {
      if (/No such file or directory|does not exist/i.test(r.stderr)) return new NftState([]);
      throw new HostRuleError('nft', 'list', r.stderr.trim());
    }
    return NftState.parse(r.stdout);
  }

  private locked<T>(work: () => Promise<T>): Promise<T> {
    return serialize(`nft:${this.config.netns ?? ''}:${this.config.table}`, work);
  }

  async apply(rule: Rule): Promise<Applied> {
    const p = this.prepare(rule);
    return this.locked(() => this.applyNow(p));
  }

  private async applyNow(p: { id: RuleId; parts: NftRuleParts; script: string }): Promise<Applied> {
    const state = await this.state();
    const have = state.ids().get(p.id);
    const complete =
      have &&
      p.parts.chains.every((c) => have.chains.includes(c.chain) && have.jumps.some((j) => j.base === c.base)) &&
      have.jumps.length === p.parts.chains.length;
    if (complete)
      return {
        ruleId: p.id,
        state: 'installed',
        nativeId: `inet ${this.config.table} ${nameOf('r', p.id)}`,
        detail: 'already installed',
      };
    if (have) await this.remove(p.id, state);
    await this.exec.run(['nft', '-f', '-'], { input: p.script });
    return { ruleId: p.id, state: 'installed', nativeId: `inet ${this.config.table} ${nameOf('r', p.id)}` };
  }

  /** One nft -f transaction; the table goes too when this was ft's last rule in it. */
  private async remove(id: RuleId, state: NftState): Promise<void> {
    const ids = state.ids();
    const mine = ids.get(id);
    if (!mine) return;
    let script: string;
    if ([...ids.keys()].every((k) => k === id)) {
      script = `delete table inet ${this.config.table}\n`;
    } else {
      const lines = mine.jumps.map((j) => `delete rule inet ${this.config.table} ${j.base} handle ${j.handle}`);
      for (const c of mine.chains)
        lines.push(`flush chain inet ${this.config.table} ${c}`, `delete chain inet ${this.config.table} ${c}`);
      for (const s of mine.sets) lines.push(`delete set inet ${this.config.table} ${s}`);
      script = `${lines.join('\n')}\n`;
    }
    await this.exec.run(['nft', '-f', '-'], { input: script });
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    let id: RuleId;
    if ('kind' in target) id = checkRuleId('nft', target.id);
    else {
      const found = idOfName(target.nativeId.split(' ').pop() ?? '');
      if (!found)
        throw new HostRuleError(
          'nft',
          'nativeId',
          `${JSON.stringify(target.nativeId)} is not an object ft created in table inet ${this.config.table}`,
        );
      id = found;
    }
    await this.locked(async () => this.remove(id, await this.state()));
  }

  async list(): Promise<InstalledRef[]> {
    const refs: InstalledRef[] = [];
    for (const [id, e] of (await this.state()).ids()) {
      // Jumped from the other hook's base chain: another instance's rule.
      if (e.jumps.length && !e.jumps.some((j) => j.base === this.config.hook || j.base === 'prerouting')) continue;
      refs.push({
        ruleId: id,
        nativeId: `inet ${this.config.table} ${nameOf('r', id)}`,
        description: `nft chains ${e.chains.join(',')}${e.sets.length ? ` sets ${e.sets.join(',')}` : ''}`,
      });
    }
    return refs;
  }

  async counters(): Promise<RuleCounters[]> {
    const state = await this.state();
    const out: RuleCounters[] = [];
    for (const [id] of state.ids()) {
      let packets = 0;
      let bytes = 0;
      let passed: number | undefined;
      for (const r of state.rules) {
        if (r.chain !== nameOf('r', id)) continue;
        for (const e of r.expr) {
          const c = (e as { counter?: { packets: number; bytes: number } }).counter;
          if (!c) continue;
          if (r.comment === PASSED_COMMENT) passed = (passed ?? 0) + c.packets;
          else {
            packets += c.packets;
            bytes += c.bytes;
          }
        }
      }
      out.push({ ruleId: id, packets, bytes, ...(passed !== undefined ? { passed } : {}) });
    }
    return out;
  }

  async health() {
    const r = await this.exec.run(['nft', 'list', 'tables'], { allowFail: true });
    if (r.code !== 0) return { status: 'down' as const, detail: `nft: ${r.stderr.trim() || `exit ${r.code}`}` };
    return {
      status: 'ok' as const,
      detail: `table inet ${this.config.table}, hook ${this.config.hook} priority ${this.config.priority}`,
    };
  }
}

export const nftFactory = defineAction({
  kind: 'nft',
  description: 'nftables: drop, reject, rate-limit, per-source meters, connlimit, synproxy, sets; all in table inet ft',
  configSchema: nftConfig,
  capabilities: ['host-filter'],
  reach: 'host',
  // The onNode steps it can carry (policy validate refuses the others); test/policy/host-steps.test.ts checks them.
  features: {
    hostSteps: ['synCookies', 'hashlimit', 'rateLimit', 'connlimit', 'dropUdpSourcePorts', 'dropTopSources'],
  },
  async create(config) {
    return new NftAction(nftConfig.parse(config));
  },
});
