import {
  defineAction,
  type Action,
  type Applied,
  type Health,
  type InstalledRef,
  type Range,
  type RenderedCommand,
  type Rule,
  type RuleId,
} from '@ft/sdk';
import { z } from 'zod';
import { HostRuleError } from '../common/errors.js';
import { HostExec } from '../common/exec.js';
import { argvCommand } from '../common/render.js';
import { netnsOption } from '../common/schema.js';
import { checkFilterAction, checkMatch, checkRuleId, expectKind, TAG_RE, tagOf } from '../common/validate.js';
import { detectManagers } from './detect.js';

export const ufwConfig = z.strictObject({
  netns: netnsOption,
  /** ufw has no batch interface: one ufw call per source. Above this, use ipset or nft. */
  maxSources: z.number().int().min(1).max(1000).default(50),
});
export type UfwConfig = z.infer<typeof ufwConfig>;

const portList = (rs: Range[]) => rs.map((r) => (r.min === r.max ? String(r.min) : `${r.min}:${r.max}`)).join(',');

/** The ufw rule specs (after `ufw prepend`) for one rule: deny/reject, from each source, with ft's comment. */
export function ufwSpecs(kind: string, rule: Rule, maxSources: number): { id: RuleId; specs: string[][] } {
  const r = expectKind(kind, rule, ['host-filter']);
  const id = checkRuleId(kind, r.id);
  const spec = checkMatch(kind, id, r.match, { maxSources });
  const action = checkFilterAction(kind, r.action);
  if (action.type !== 'drop' && action.type !== 'reject')
    throw new HostRuleError(kind, 'action.type', `ufw denies or rejects; ${action.type} needs iptables or nft`);
  if (spec.tcpFlags) throw new HostRuleError(kind, 'match.tcpFlags', 'ufw rules do not match TCP flags');
  if (spec.protocol === 'icmp')
    throw new HostRuleError(kind, 'match.protocol', 'ufw rules match tcp or udp (or everything), not icmp alone');
  const slots = (rs: Range[]) => rs.reduce((n, x) => n + (x.min === x.max ? 1 : 2), 0);
  if (slots(spec.sourcePorts) > 15 || slots(spec.destinationPorts) > 15)
    throw new HostRuleError(kind, 'match', 'ufw takes at most 15 ports per rule');
  const verb = action.type === 'drop' ? 'deny' : 'reject';
  const sources = spec.sources.length ? spec.sources.map((s) => (s.isHost ? s.address : s.toString())) : ['any'];
  const specs = sources.map((src) => {
    const argv = [verb];
    if (spec.protocol) argv.push('proto', spec.protocol);
    argv.push('from', src);
    if (spec.sourcePorts.length) argv.push('port', portList(spec.sourcePorts));
    argv.push('to', spec.destination.isHost ? spec.destination.address : spec.destination.toString());
    if (spec.destinationPorts.length) argv.push('port', portList(spec.destinationPorts));
    argv.push('comment', tagOf(id));
    return argv;
  });
  return { id, specs };
}

/** `ufw show added` lines carrying ft's tag, as argv for `ufw delete`. */
export function parseAdded(text: string): { id: RuleId; spec: string[] }[] {
  const out: { id: RuleId; spec: string[] }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('ufw ')) continue;
    const m = /comment '([^']*)'\s*$/.exec(line);
    const tag = m ? TAG_RE.exec(m[1] as string) : null;
    if (!m || !tag || m[1] !== `ft:${tag[1]}`) continue;
    const body = line.slice(4, m.index).trim().split(/\s+/);
    out.push({ id: tag[1] as RuleId, spec: [...body, 'comment', m[1]] });
  }
  return out;
}

class UfwAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  private readonly exec: HostExec;

  constructor(private readonly config: UfwConfig) {
    this.exec = new HostExec(config.netns);
  }

  render(rule: Rule): RenderedCommand[] {
    // prepend: ft's denies go above the operator's allows, or an "allow 53/udp" would let the flood through.
    return ufwSpecs('ufw', rule, this.config.maxSources).specs.map((s) =>
      argvCommand('ufw', this.exec, ['ufw', 'prepend', ...s]),
    );
  }

  private async added(): Promise<{ id: RuleId; spec: string[] }[]> {
    return parseAdded((await this.exec.run(['ufw', 'show', 'added'])).stdout);
  }

  async apply(rule: Rule): Promise<Applied> {
    const { id, specs } = ufwSpecs('ufw', rule, this.config.maxSources);
    const done: string[][] = [];
    try {
      // ufw itself skips a rule it already has, so a repeated apply adds nothing.
      for (const s of specs) {
        await this.exec.run(['ufw', 'prepend', ...s]);
        done.push(s);
      }
    } catch (err) {
      for (const s of done) await this.exec.run(['ufw', 'delete', ...s], { allowFail: true });
      throw err;
    }
    return { ruleId: id, state: 'installed', nativeId: `ufw ${id}`, detail: `${specs.length} ufw rule(s)` };
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    let id: string;
    if ('kind' in target) id = checkRuleId('ufw', target.id);
    else {
      const m = /^ufw ((?:hf|sh)-[0-9a-f]{16})$/.exec(target.nativeId);
      if (!m)
        throw new HostRuleError('ufw', 'nativeId', `${JSON.stringify(target.nativeId)} is not a ufw rule ft added`);
      id = m[1] as string;
    }
    for (const a of (await this.added()).filter((x) => x.id === id)) await this.exec.run(['ufw', 'delete', ...a.spec]);
  }

  async list(): Promise<InstalledRef[]> {
    const byId = new Map<RuleId, number>();
    for (const a of await this.added()) byId.set(a.id, (byId.get(a.id) ?? 0) + 1);
    return [...byId].map(([id, n]) => ({
      ruleId: id,
      nativeId: `ufw ${id}`,
      description: `${n} ufw rule(s) commented ${tagOf(id)}`,
    }));
  }

  async health(): Promise<Health> {
    const ufw = (await detectManagers(this.exec)).find((m) => m.name === 'ufw');
    if (ufw?.state === 'active') return { status: 'ok', detail: ufw.detail };
    if (ufw?.state === 'inactive')
      return { status: 'degraded', detail: `${ufw.detail}: rules ft adds are stored but not enforced` };
    return { status: 'down', detail: ufw?.detail ?? 'ufw is not installed' };
  }
}

export const ufwFactory = defineAction({
  kind: 'ufw',
  description: "ufw deny/reject rules (prepended, commented ft:<rule id>) through ufw's own CLI",
  configSchema: ufwConfig,
  capabilities: ['host-filter'],
  reach: 'host',
  // The onNode steps it can carry (policy validate refuses the others); test/policy/host-steps.test.ts checks them.
  features: { hostSteps: ['dropUdpSourcePorts', 'dropTopSources'] },
  async create(config) {
    return new UfwAction(ufwConfig.parse(config));
  },
});
