import { formatBitrate, formatDuration, formatPacketRate, type Prefix } from '@ft/sdk';
import { explainAlerts, type ExplainedChannel } from './alerts.js';
import { explainExport } from './export.js';
import type { EscalationLevel, HostStep, Policy, TargetOverride, Trigger } from './types.js';

export interface ExplainedLevel {
  level: number;
  when: string;
  does: string;
  /** true when this target never reaches the level (capped), with why. */
  skipped?: string;
}

export interface ExplainedTarget {
  name: string;
  prefix: string;
  tenant: string;
  levels: ExplainedLevel[];
  onNode: { when: string; does: string }[];
}

export interface Explanation {
  text: string;
  targets: ExplainedTarget[];
  alerts: ExplainedChannel[];
}

function trig(t: Trigger): string {
  const rates = [
    t.bps && `bps ${t.bps.op} ${formatBitrate(t.bps.value)}`,
    t.pps && `pps ${t.pps.op} ${formatPacketRate(t.pps.value)}`,
  ].filter(Boolean);
  const parts: string[] = [];
  if (rates.length) parts.push(rates.join(' or '));
  if (t.family) parts.push(`family ${t.family.join('|')}`);
  if (t.vector) parts.push(`vector ${t.vector.join('|')}`);
  if (t.severity) parts.push(`severity >= ${t.severity}`);
  return parts.join(' and ');
}

function via(policy: Policy, names: string[]): string {
  return names
    .map((n) => {
      const s = policy.speakers.get(n);
      return s ? `${n} (${s.adapter}${s.pop ? ` @${s.pop}` : ''})` : n;
    })
    .join(', ');
}

function levelDoes(policy: Policy, l: EscalationLevel, family: 4 | 6): string {
  const parts: string[] = [];
  const f = l.do.flowspec;
  if (f) {
    const then =
      f.then === 'rate-limit'
        ? `rate-limit to ${formatBitrate(f.bitsPerSecond)}`
        : f.then === 'redirect'
          ? `redirect to ${f.routeTarget}`
          : f.then === 'mark'
            ? `mark DSCP ${f.dscp}`
            : 'discard';
    parts.push(`FlowSpec ${then} (match built from the attack) via ${via(policy, l.via)}`);
  }
  if (l.do.rtbh)
    parts.push(
      `RTBH of the attacked host, communities ${l.do.rtbh.communities.join(' ')}${l.do.rtbh.noExport ? ' + NO_EXPORT' : ''} via ${via(policy, l.via)}`,
    );
  if (l.do.scrub) {
    const s = policy.scrubbers.get(l.do.scrub.provider);
    const len = s ? (family === 4 ? s.divertLength.v4 : s.divertLength.v6) : undefined;
    parts.push(
      `divert the covering /${len} to scrubber ${l.do.scrub.provider}${s ? ` (${s.adapter}, originated by AS${s.originAs})` : ''}`,
    );
  }
  if (l.do.block) {
    const names = l.filters.map((n) => {
      const f = policy.filters.get(n);
      return f ? `${n} (${f.adapter}${f.pop ? ` @${f.pop}` : ''})` : n;
    });
    parts.push(
      `block the top ${l.do.block.count} source addresses (not when spoofed, never inside protect or never-target) via ${names.join(', ')}`,
    );
  }
  return parts.join('; ');
}

function step(s: HostStep): string {
  switch (s.type) {
    case 'syn-cookies':
      return 'SYN cookies';
    case 'hashlimit':
      return `hashlimit ${s.packetsPerSecond}/s per ${s.per} (burst ${s.burst})`;
    case 'rate-limit':
      return `rate-limit ${s.packetsPerSecond}/s (burst ${s.burst})`;
    case 'connlimit':
      return `connlimit ${s.maxConnections} per source`;
    case 'drop-udp-source-ports':
      return `drop UDP from source ports ${s.ports === 'auto' ? "of the attack's vector" : s.ports.join(',')}`;
    case 'drop-top-sources':
      return `drop the top ${s.count} source addresses (not when spoofed)`;
    case 'shape':
      return `shape to ${formatBitrate(s.bitsPerSecond)}`;
  }
}

function explainTarget(policy: Policy, name: string, prefix: Prefix, o: TargetOverride | undefined): ExplainedTarget {
  const levels = policy.escalation.map((l): ExplainedLevel => {
    const own = o?.when.get(l.level);
    const e: ExplainedLevel = {
      level: l.level,
      when: trig(own ?? l.when) + (own ? ' (own threshold)' : ''),
      does: levelDoes(policy, l, prefix.family),
    };
    if (o?.maxLevel !== undefined && l.level > o.maxLevel)
      e.skipped = `never: ${name} is capped at level ${o.maxLevel}`;
    return e;
  });
  const onNode = policy.onNode.map((r) => ({
    when: trig(r.when),
    does: r.do.map((d) => `${d.via}: ${d.steps.map(step).join(', ')}`).join('; '),
  }));
  return { name, prefix: prefix.toString(), tenant: o?.tenant ?? policy.tenant, levels, onNode };
}

/** What happens at each level for each protected prefix and each per-target override, in words. */
export function explainPolicy(policy: Policy): Explanation {
  const targets: ExplainedTarget[] = [
    ...policy.protect.map((p) => explainTarget(policy, 'protect', p, undefined)),
    ...policy.targets.map((t) => explainTarget(policy, t.name, t.prefix, t)),
  ];
  const d = policy.defaults;
  const lines: string[] = [];
  lines.push(
    `policy ${policy.file}: tenant ${policy.tenant}, mode ${policy.mode}${policy.mode === 'preview' ? ' (plans and logs, changes nothing)' : ' (applies)'}${policy.asn ? `, origin AS${policy.asn}` : ''}`,
  );
  lines.push(
    `protect ${policy.protect.map(String).join(', ')}; never target ${policy.neverTarget.map(String).join(', ') || 'nothing listed'}`,
  );
  lines.push(
    `every rule lives ${formatDuration(d.ttlSeconds)} unless its attack goes on; escalation comes down only after ${formatDuration(d.cooldownSeconds)} without the higher level being wanted; ` +
      `at most ${d.maxRules} live rules per tenant (at the cap: ${policy.atCap === 'refuse' ? 'refuse new rules and alert' : 'aggregate FlowSpec into a covering rule, else refuse and alert'}); ` +
      `RPKI ${d.rpki}; no prefix shorter than /${d.minPrefixLength.v4} (IPv4) or /${d.minPrefixLength.v6} (IPv6)`,
  );
  lines.push(
    `on shutdown: ${policy.onShutdown === 'withdraw' ? 'withdraw every rule' : 'keep rules until their TTL'}; roll a rule back when legitimate traffic drops by more than ${Math.round(policy.rollback.collateralDrop * 100)}%`,
  );
  for (const t of targets) {
    lines.push('');
    lines.push(`${t.name === 'protect' ? t.prefix : `${t.name} ${t.prefix}`} (tenant ${t.tenant})`);
    if (t.levels.length === 0) lines.push('  no escalation levels: nothing leaves this box');
    for (const l of t.levels) lines.push(`  level ${l.level}  when ${l.when}: ${l.skipped ?? l.does}`);
    for (const r of t.onNode) lines.push(`  on-node  when ${r.when}: ${r.does}`);
  }
  lines.push('');
  lines.push(
    'The highest level whose trigger holds applies (bps and pps are alternatives; family, vector and severity narrow).',
  );
  const alerts = explainAlerts(policy.alerts);
  lines.push('');
  lines.push(...alerts.lines);
  lines.push(...explainExport(policy.export));
  return { text: lines.join('\n'), targets, alerts: alerts.channels };
}
