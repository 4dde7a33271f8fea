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
import {
  checkFilterAction,
  checkMatch,
  checkRuleId,
  expectKind,
  NAME_PATTERN,
  TAG_RE,
  tagOf,
} from '../common/validate.js';
import { detectManagers } from './detect.js';

export const firewalldConfig = z.strictObject({
  /** Zone the rules go into; absent = firewalld's default zone. */
  zone: z.string().max(17).regex(NAME_PATTERN).optional(),
  /** Rich-rule priority (firewalld ≥ 0.9): negative runs before the zone's own rules. Absent = not set. */
  priority: z.number().int().min(-32768).max(32767).optional(),
  netns: netnsOption,
  maxSources: z.number().int().min(1).max(1000).default(100),
});
export type FirewalldConfig = z.infer<typeof firewalldConfig>;

const portText = (r: Range) => (r.min === r.max ? String(r.min) : `${r.min}-${r.max}`);

/**
 * Runtime rich rules, one per source × port range. firewalld has no comment field, so ft tags each rule with a
 * log element whose prefix is ft:<rule id> (rate-limited to one line a minute): the tag is visible in
 * --list-rich-rules, and the log line says which ft rule dropped the traffic.
 */
export function richRules(kind: string, rule: Rule, config: FirewalldConfig): { id: RuleId; rules: string[] } {
  const r = expectKind(kind, rule, ['host-filter']);
  const id = checkRuleId(kind, r.id);
  const spec = checkMatch(kind, id, r.match, { maxSources: config.maxSources });
  const action = checkFilterAction(kind, r.action);
  if (action.type !== 'drop' && action.type !== 'reject')
    throw new HostRuleError(
      kind,
      'action.type',
      `firewalld rich rules drop or reject here; ${action.type} needs iptables or nft`,
    );
  if (spec.tcpFlags) throw new HostRuleError(kind, 'match.tcpFlags', 'rich rules do not match TCP flags');
  if (spec.sourcePorts.length && spec.destinationPorts.length)
    throw new HostRuleError(kind, 'match', 'a rich rule has one element: source ports or destination ports, not both');
  const family = spec.family === 4 ? 'ipv4' : 'ipv6';
  const sources = spec.sources.length ? spec.sources.map((s) => (s.isHost ? s.address : s.toString())) : [undefined];
  const elements: (string | undefined)[] = spec.sourcePorts.length
    ? spec.sourcePorts.map((p) => `source-port port="${portText(p)}" protocol="${spec.protocol}"`)
    : spec.destinationPorts.length
      ? spec.destinationPorts.map((p) => `port port="${portText(p)}" protocol="${spec.protocol}"`)
      : spec.protocol
        ? [`protocol value="${spec.protocol === 'icmp' && spec.family === 6 ? 'ipv6-icmp' : spec.protocol}"`]
        : [undefined];
  const rules: string[] = [];
  for (const src of sources) {
    for (const el of elements) {
      const parts = ['rule'];
      if (config.priority !== undefined) parts.push(`priority="${config.priority}"`);
      parts.push(`family="${family}"`);
      if (src) parts.push(`source address="${src}"`);
      // The documented source black-list form takes no destination; with an element, the destination narrows it.
      if (el || !src) parts.push(`destination address="${spec.destination.toString()}"`);
      if (el) parts.push(el);
      parts.push(`log prefix="${tagOf(id)} " level="warning" limit value="1/m"`);
      parts.push(action.type === 'drop' ? 'drop' : 'reject');
      rules.push(parts.join(' '));
    }
  }
  return { id, rules };
}

class FirewalldAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  private readonly exec: HostExec;

  constructor(private readonly config: FirewalldConfig) {
    this.exec = new HostExec(config.netns);
  }

  private zoneArgs(): string[] {
    return this.config.zone ? [`--zone=${this.config.zone}`] : [];
  }

  /** Runtime only, with the rule's TTL as firewalld's own timeout: should ft die, firewalld still expires it. */
  private addArgv(rich: string, ttl: number): string[] {
    return [
      'firewall-cmd',
      ...this.zoneArgs(),
      `--add-rich-rule=${rich}`,
      `--timeout=${Math.max(1, Math.round(ttl))}s`,
    ];
  }

  render(rule: Rule): RenderedCommand[] {
    const { rules } = richRules('firewalld', rule, this.config);
    return rules.map((rr) => argvCommand('firewalld', this.exec, this.addArgv(rr, rule.ttlSeconds)));
  }

  private async listed(): Promise<{ id: RuleId; rich: string }[]> {
    const r = await this.exec.run(['firewall-cmd', ...this.zoneArgs(), '--list-rich-rules']);
    return parseRichRules(r.stdout);
  }

  async apply(rule: Rule): Promise<Applied> {
    const { id, rules } = richRules('firewalld', rule, this.config);
    const present = new Set((await this.listed()).map((x) => x.rich));
    for (const rr of rules) if (!present.has(rr)) await this.exec.run(this.addArgv(rr, rule.ttlSeconds));
    return {
      ruleId: id,
      state: 'installed',
      nativeId: `firewalld ${id}`,
      detail: `${rules.length} runtime rich rule(s), timeout ${rule.ttlSeconds}s`,
    };
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    let id: string;
    if ('kind' in target) id = checkRuleId('firewalld', target.id);
    else {
      const m = /^firewalld ((?:hf|sh)-[0-9a-f]{16})$/.exec(target.nativeId);
      if (!m)
        throw new HostRuleError(
          'firewalld',
          'nativeId',
          `${JSON.stringify(target.nativeId)} is not a rich rule ft added`,
        );
      id = m[1] as string;
    }
    // Removed exactly as firewalld lists them, so a rule is matched whatever text ft first gave it.
    for (const x of (await this.listed()).filter((l) => l.id === id)) {
      await this.exec.run(['firewall-cmd', ...this.zoneArgs(), `--remove-rich-rule=${x.rich}`]);
    }
  }

  async list(): Promise<InstalledRef[]> {
    const byId = new Map<RuleId, number>();
    for (const x of await this.listed()) byId.set(x.id, (byId.get(x.id) ?? 0) + 1);
    return [...byId].map(([id, n]) => ({
      ruleId: id,
      nativeId: `firewalld ${id}`,
      description: `${n} rich rule(s) logging ${tagOf(id)}`,
    }));
  }

  async health(): Promise<Health> {
    const fw = (await detectManagers(this.exec)).find((m) => m.name === 'firewalld');
    if (fw?.state === 'active') return { status: 'ok', detail: fw.detail };
    return { status: 'down', detail: fw?.detail ?? 'firewalld is not installed' };
  }
}

/** Lines of --list-rich-rules whose log prefix is ft's tag. */
export function parseRichRules(text: string): { id: RuleId; rich: string }[] {
  const out: { id: RuleId; rich: string }[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    const m = /log prefix="(ft:[^"\s]+)\s*"/.exec(line);
    const tag = m ? TAG_RE.exec(m[1] as string) : null;
    if (tag && m?.[1] === `ft:${tag[1]}`) out.push({ id: tag[1] as RuleId, rich: line });
  }
  return out;
}

export const firewalldFactory = defineAction({
  kind: 'firewalld',
  description:
    'firewalld runtime rich rules (tagged by log prefix ft:<rule id>, expiring with the rule TTL) via firewall-cmd',
  configSchema: firewalldConfig,
  capabilities: ['host-filter'],
  reach: 'host',
  // The onNode steps it can carry (policy validate refuses the others); test/policy/host-steps.test.ts checks them.
  features: { hostSteps: ['dropUdpSourcePorts', 'dropTopSources'] },
  async create(config) {
    return new FirewalldAction(firewalldConfig.parse(config));
  },
});
