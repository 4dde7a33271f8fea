import {
  defineAction,
  type Action,
  type Applied,
  type Health,
  type InstalledRef,
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

export const csfConfig = z.strictObject({
  netns: netnsOption,
  maxSources: z.number().int().min(1).max(1000).default(100),
});
export type CsfConfig = z.infer<typeof csfConfig>;

/**
 * CSF's temporary deny (`csf -td IP TTL [-p PORT] [-d in] COMMENT`): per source address, host-wide (CSF has no
 * destination match), expiring on its own after the rule's TTL — lfd removes it even if ft is gone.
 */
export function csfCommands(
  kind: string,
  rule: Rule,
  maxSources: number,
): { id: RuleId; commands: string[][]; sources: string[] } {
  const r = expectKind(kind, rule, ['host-filter']);
  const id = checkRuleId(kind, r.id);
  const spec = checkMatch(kind, id, r.match, { maxSources });
  const action = checkFilterAction(kind, r.action);
  if (action.type !== 'drop')
    throw new HostRuleError(kind, 'action.type', `CSF temporary denies drop; ${action.type} needs iptables or nft`);
  if (spec.sources.length === 0)
    throw new HostRuleError(kind, 'match.sources', 'CSF denies source addresses: give at least one');
  if (spec.sourcePorts.length || spec.tcpFlags)
    throw new HostRuleError(
      kind,
      'match',
      'CSF temporary denies match a source and optionally destination ports, nothing else',
    );
  const ttl = String(Math.max(1, Math.round(rule.ttlSeconds)));
  const ports = spec.destinationPorts.map((p) => (p.min === p.max ? String(p.min) : `${p.min}_${p.max}`)).join(',');
  const sources = spec.sources.map((s) => (s.isHost ? s.address : s.toString()));
  const commands = sources.map((src) => [
    'csf',
    '--tempdeny',
    src,
    ttl,
    ...(ports ? ['-p', ports] : []),
    '-d',
    'in',
    tagOf(id),
  ]);
  return { id, commands, sources };
}

/** `csf -t` lines carrying ft's tag: which address each ft rule holds. */
export function parseTemp(text: string): { id: RuleId; address: string }[] {
  const out: { id: RuleId; address: string }[] = [];
  for (const line of text.split('\n')) {
    if (!/\bDENY\b/.test(line)) continue;
    const tag = TAG_RE.exec(line);
    const addr = /\b(\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?|[0-9a-f]*:[0-9a-f:]+(?:\/\d{1,3})?)\b/i.exec(
      line.replace(TAG_RE, ''),
    );
    if (tag && addr) out.push({ id: tag[1] as RuleId, address: addr[1] as string });
  }
  return out;
}

class CsfAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  private readonly exec: HostExec;

  constructor(private readonly config: CsfConfig) {
    this.exec = new HostExec(config.netns);
  }

  render(rule: Rule): RenderedCommand[] {
    return csfCommands('csf', rule, this.config.maxSources).commands.map((c) => argvCommand('csf', this.exec, c));
  }

  private async temp(): Promise<{ id: RuleId; address: string }[]> {
    return parseTemp((await this.exec.run(['csf', '--temp'])).stdout);
  }

  async apply(rule: Rule): Promise<Applied> {
    const { id, commands, sources } = csfCommands('csf', rule, this.config.maxSources);
    const have = new Set((await this.temp()).filter((t) => t.id === id).map((t) => t.address));
    for (let i = 0; i < commands.length; i++)
      if (!have.has(sources[i] as string)) await this.exec.run(commands[i] as string[]);
    return {
      ruleId: id,
      state: 'installed',
      nativeId: `csf ${id}`,
      detail: `${commands.length} temporary deny(s) for ${rule.ttlSeconds}s`,
    };
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    let id: string;
    if ('kind' in target) id = checkRuleId('csf', target.id);
    else {
      const m = /^csf ((?:hf|sh)-[0-9a-f]{16})$/.exec(target.nativeId);
      if (!m)
        throw new HostRuleError('csf', 'nativeId', `${JSON.stringify(target.nativeId)} is not a CSF entry ft added`);
      id = m[1] as string;
    }
    // csf --temprm works per address: only addresses ft's tag holds are named.
    for (const t of (await this.temp()).filter((x) => x.id === id)) await this.exec.run(['csf', '--temprm', t.address]);
  }

  async list(): Promise<InstalledRef[]> {
    const byId = new Map<RuleId, string[]>();
    for (const t of await this.temp()) byId.set(t.id, [...(byId.get(t.id) ?? []), t.address]);
    return [...byId].map(([id, a]) => ({
      ruleId: id,
      nativeId: `csf ${id}`,
      description: `CSF temporary deny of ${a.join(', ')}`,
    }));
  }

  async health(): Promise<Health> {
    const csf = (await detectManagers(this.exec)).find((m) => m.name === 'csf');
    if (csf?.state === 'active') return { status: 'ok', detail: csf.detail };
    if (csf?.state === 'inactive') return { status: 'degraded', detail: csf.detail };
    return { status: 'down', detail: csf?.detail ?? 'csf is not installed' };
  }
}

export const csfFactory = defineAction({
  kind: 'csf',
  description: 'ConfigServer Firewall temporary denies (csf -td, comment ft:<rule id>, expiring with the rule TTL)',
  configSchema: csfConfig,
  capabilities: ['host-filter'],
  reach: 'host',
  // The onNode steps it can carry (policy validate refuses the others); test/policy/host-steps.test.ts checks them.
  features: { hostSteps: ['dropTopSources'] },
  async create(config) {
    return new CsfAction(csfConfig.parse(config));
  },
});
