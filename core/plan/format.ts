import {
  IP_PROTOCOLS,
  formatBitrate,
  formatDuration,
  formatPacketRate,
  type FlowSpecMatch,
  type HostMatch,
  type Range,
  type Rule,
} from '@ft/sdk';
import type { Incident } from '../model/incident.js';
import type { Op, Plan, Refusal, RpkiVerdict } from '../model/plan.js';
import type { Policy } from '../policy/types.js';
import { protectedBy } from './rails.js';
import { vectorsOf } from './match.js';

export interface FormatContext {
  policy: Policy;
  incident?: Incident;
  now: Date;
  /** Instances whose exact commands cannot be shown, and why. */
  unavailable?: Map<string, string>;
  /** Where RPKI verdicts came from, e.g. "VRP file policies/examples/vrps.json". */
  rpkiSource?: string;
}

const PROTO_NAMES = new Map<number, string>(Object.entries(IP_PROTOCOLS).map(([k, v]) => [v, k]));
const KIND_LABEL: Record<Rule['kind'], string> = {
  flowspec: 'FlowSpec',
  rtbh: 'RTBH',
  divert: 'scrubbing divert',
  'host-filter': 'on-node filter',
  shape: 'on-node shaping',
};

function ranges(rs: Range[] | undefined): string {
  return (rs ?? []).map((r) => (r.min === r.max ? `=${r.min}` : `>=${r.min}&<=${r.max}`)).join(' ');
}

/** A FlowSpec match as router configs write it (RFC 8955 components, GoBGP/ExaBGP operator syntax). */
export function describeFlowSpecMatch(m: FlowSpecMatch): string {
  const parts = [`destination ${m.destination}`];
  if (m.source) parts.push(`source ${m.source}`);
  if (m.protocols?.length)
    parts.push(
      `protocol ${m.protocols.map((p) => `=${p}${PROTO_NAMES.has(p) ? ` (${PROTO_NAMES.get(p)})` : ''}`).join(' ')}`,
    );
  if (m.sourcePorts?.length) parts.push(`source-port ${ranges(m.sourcePorts)}`);
  if (m.destinationPorts?.length) parts.push(`destination-port ${ranges(m.destinationPorts)}`);
  if (m.tcpFlags) parts.push(`tcp-flags ${[...m.tcpFlags.set, ...m.tcpFlags.unset.map((f) => `!${f}`)].join('&')}`);
  if (m.packetLength?.length) parts.push(`packet-length ${ranges(m.packetLength)}`);
  if (m.fragment?.length) parts.push(`fragment ${m.fragment.join(' ')}`);
  if (m.icmpType?.length) parts.push(`icmp-type ${m.icmpType.join(' ')}`);
  if (m.dscp?.length) parts.push(`dscp ${m.dscp.join(' ')}`);
  return parts.join(', ');
}

function describeHostMatch(m: HostMatch): string {
  const parts = [`to ${m.destination}`];
  if (m.protocol) parts.push(m.protocol);
  if (m.sources?.length) parts.push(`from ${m.sources.map(String).join(' ')}`);
  if (m.sourcePorts?.length) parts.push(`source-port ${ranges(m.sourcePorts)}`);
  if (m.destinationPorts?.length) parts.push(`destination-port ${ranges(m.destinationPorts)}`);
  if (m.tcpFlags) parts.push(`flags ${[...m.tcpFlags.set, ...m.tcpFlags.unset.map((f) => `!${f}`)].join('&')}`);
  return parts.join(' ');
}

/** What the rule does, in the words a router or firewall uses: [label, text] lines. */
export function describeRule(rule: Rule): [string, string][] {
  switch (rule.kind) {
    case 'flowspec': {
      const a = rule.action;
      const then =
        a.type === 'rate-limit'
          ? `rate-limit ${a.bytesPerSecond} bytes/s (${formatBitrate(a.bytesPerSecond * 8)})`
          : a.type === 'redirect'
            ? `redirect ${a.routeTarget}`
            : a.type === 'mark'
              ? `mark dscp ${a.dscp}`
              : 'discard';
      return [
        ['match', describeFlowSpecMatch(rule.match)],
        ['then', then],
      ];
    }
    case 'rtbh':
      return [
        [
          'announce',
          `${rule.target} community ${rule.communities.join(' ')}${rule.noExport ? ' no-export' : ''}${rule.nextHop ? ` next-hop ${rule.nextHop}` : ''}`,
        ],
      ];
    case 'divert':
      return [['divert', `${rule.target} to scrubber ${rule.provider}`]];
    case 'host-filter': {
      const a = rule.action;
      const action =
        a.type === 'hashlimit'
          ? `hashlimit ${a.packetsPerSecond}/s burst ${a.burst} per ${a.per}`
          : a.type === 'rate-limit'
            ? `rate-limit ${a.packetsPerSecond}/s burst ${a.burst}`
            : a.type === 'connlimit'
              ? `connlimit ${a.maxConnections} connections per source`
              : a.type;
      return [
        ['match', describeHostMatch(rule.match)],
        ['action', action],
      ];
    }
    case 'shape':
      return [
        ['match', describeHostMatch(rule.match)],
        ['action', `shape to ${formatBitrate(rule.bitsPerSecond)}`],
      ];
  }
}

/** Ops in a plan carry only verdicts that let the announcement through; refused ones are in `refused`. */
function rpkiLine(v: RpkiVerdict): string {
  const state = v.loose ? `loose ${v.loose}, strict ${v.state}` : v.state;
  const extra = [
    v.sessionId || v.serial ? `session ${v.sessionId ?? 0} serial ${v.serial ?? 0}` : undefined,
    v.dataAgeSeconds ? `data ${formatDuration(Math.round(v.dataAgeSeconds))} old` : undefined,
  ].filter(Boolean);
  return `${v.state === 'skipped' ? 'skipped' : `allowed (${state})`}: ${v.reason}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

function block(op: Op, ctx: FormatContext): string[] {
  const r = op.rule;
  const expires = new Date(ctx.now.getTime() + r.ttlSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const level = r.level > 0 ? `level ${r.level}` : 'on-node';
  const life =
    op.type === 'withdraw' ? 'removed now' : `ttl ${formatDuration(r.ttlSeconds)}, expires ${expires} unless refreshed`;
  // A host-filter rule from an escalation level goes to an off-box filter (a vendor firewall), not this host.
  const label = r.kind === 'host-filter' && r.level > 0 ? 'block rule (off-box filter)' : KIND_LABEL[r.kind];
  const lines = [`${op.type.toUpperCase().padEnd(8)} ${r.id}  ${label}  ${level}  ${life}`];
  const row = (label: string, text: string) => lines.push(`         ${label.padEnd(9)}${text}`);
  for (const [label, text] of describeRule(r)) row(label, text);
  row('why', op.reason.summary);
  row('via', op.via.map((v) => describeVia(v, ctx)).join(', '));
  if (op.rpki) row('rpki', rpkiLine(op.rpki));
  if (op.type === 'add' || op.type === 'withdraw') {
    if (op.rendered.length > 0) {
      op.rendered.forEach((c, i) =>
        row(i === 0 ? 'runs' : '', `${c.adapter}: ${c.text.split('\n').join(`\n${' '.repeat(18)}`)}`),
      );
    } else {
      const missing = op.via.map((v) => ctx.unavailable?.get(v)).filter(Boolean);
      if (missing.length > 0) row('runs', `(exact commands unavailable: ${missing.join('; ')})`);
      else if (op.type === 'withdraw')
        row(
          'runs',
          '(removes what it installed for this rule, found by its tag at withdrawal; the adapter does not list the commands beforehand)',
        );
      else row('runs', '(no adapter rendering available)');
    }
  }
  return lines;
}

function describeVia(name: string, ctx: FormatContext): string {
  const p = ctx.policy;
  const inst = p.speakers.get(name) ?? p.scrubbers.get(name) ?? p.filters.get(name) ?? p.nodeActions.get(name);
  if (!inst) return name;
  return `${name} (${inst.adapter}${inst.pop ? ` @${inst.pop}` : ''}${inst.role === 'node' ? ', this host' : ''})`;
}

/** The preview a network engineer reads before letting ft touch routers. */
export function formatPlan(plan: Plan, ctx: FormatContext): string {
  const out: string[] = [];
  const p = ctx.policy;
  out.push(
    `policy   ${p.file}: tenant ${p.tenant}, mode ${p.mode}${p.mode === 'preview' ? ' (ft run would only log this plan)' : ' (ft run applies this plan)'}, rpki ${p.defaults.rpki}${ctx.rpkiSource ? ` with ${ctx.rpkiSource}` : ''}`,
  );
  const i = ctx.incident;
  if (i) {
    const vectors = vectorsOf(i);
    const cover = protectedBy(p, i.target);
    out.push(
      `incident ${i.id}: ${i.family}${vectors.length ? ` (vector ${vectors.join(', ')})` : ''} at ${i.target}, ` +
        `${[i.bps > 0 || i.pps === 0 ? formatBitrate(i.bps) : '', i.pps > 0 ? formatPacketRate(i.pps) : ''].filter(Boolean).join(' / ')}, severity ${i.severity}, ${i.state}` +
        (cover ? `; inside protect ${cover}` : ''),
    );
  } else out.push('incident none: periodic re-plan (expiry and policy checks on active rules only)');
  const count = (t: Op['type']) => plan.ops.filter((o) => o.type === t).length;
  out.push('');
  out.push(
    `PLAN     ${count('add')} to add, ${count('refresh')} to refresh, ${count('withdraw')} to withdraw, ${plan.refused.length} refused`,
  );
  for (const op of plan.ops) {
    out.push('');
    out.push(...block(op, ctx));
  }
  for (const r of plan.refused) {
    out.push('');
    out.push(
      `REFUSED  ${r.rule ? `${r.rule.id}  ${KIND_LABEL[r.rule.kind]}  ${r.rule.level > 0 ? `level ${r.rule.level}` : 'on-node'}` : 'whole plan'}`,
    );
    out.push(`         rail     ${r.rail}`);
    out.push(`         why      ${r.message}`);
  }
  if (plan.notes.length > 0) {
    out.push('');
    for (const n of plan.notes) out.push(`note     ${n}`);
  }
  if (
    ctx.unavailable &&
    ctx.unavailable.size > 0 &&
    plan.ops.some((o) => o.type === 'add' && o.rendered.length === 0)
  ) {
    out.push(
      `note     install the adapters' plugins (ft registry lists what is installed) to see their exact commands`,
    );
  }
  return out.join('\n');
}

/**
 * A key that changes only when what a plan refuses changes (which rule, by which rail), whatever the order.
 * The run loop re-plans an incident every tick: it logs refusals when this key differs from the last one it logged
 * for the incident, so a never-target refusal is said once, not every second. A refused rule is keyed by rail and
 * rule id only: its message may carry a figure that moves every tick (the age of stale RPKI data), which made the
 * stale refusal a log line per second. A refusal without a rule (the whole incident) is keyed by its message.
 */
export function refusalDigest(refused: readonly Refusal[]): string {
  return refused
    .map((r) => (r.rule ? `${r.rail}\u0000${r.rule.id}` : `${r.rail}\u0000\u0000${r.message}`))
    .sort()
    .join('\u0001');
}
