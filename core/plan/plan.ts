import {
  Prefix, canonicalJson, formatBitrate, formatDuration, formatPacketRate, makeRule,
  type DivertRule, type FlowSpecAction, type FlowSpecRule, type HostFilterRule, type Incident, type RenderedCommand,
  type RtbhRule, type Rule, type ShapeRule,
} from '@ft/sdk';
import type { ActiveRule, Op, Plan, Reason, Refusal, RpkiVerdict } from '../model/plan.js';
import type { AnnouncementCheck, RpkiVerdictProvider } from '../model/rpki.js';
import type { EscalationLevel, FlowSpecThen, HostStep, Policy, TargetOverride } from '../policy/types.js';
import { flowspecMatch, hostMatch, topSources, vectorsOf } from './match.js';
import { prefixRails, protectedBy, ruleRails } from './rails.js';
import { describeTrigger, evaluate, holdingLevels, overrideFor, type LevelChoice } from './triggers.js';

export interface PlanInput {
  policy: Policy;
  /** Undefined for the periodic re-plan: only expiry and rail checks on what is active. */
  incident?: Incident;
  active: ActiveRule[];
  now: Date;
  rpki: RpkiVerdictProvider;
  /** What an action instance will run for a rule (its render()); absent → ops list rule content only. */
  render?: (via: string, rule: Rule) => RenderedCommand[];
}

/** A rule the policy wants now, before it is compared with what is active. */
interface Want {
  rule: Rule;
  via: string[];
  reason: Reason;
  rpki?: RpkiVerdict;
}

const KIND_ORDER: Record<Rule['kind'], number> = { divert: 0, rtbh: 1, flowspec: 2, 'host-filter': 3, shape: 4 };
const TYPE_ORDER: Record<Op['type'], number> = { add: 0, refresh: 1, withdraw: 2 };

/**
 * The one planner: preview prints what it returns and apply executes the same. Pure and deterministic: the same
 * input gives the same plan, op for op, whatever the order of `active`.
 */
export function plan(input: PlanInput): Plan {
  const { policy, incident } = input;
  const nowMs = input.now.getTime();
  const notes: string[] = [];
  const refused: Refusal[] = [];
  const result = (ops: Op[]): Plan => ({
    tenant: policy.tenant, mode: policy.mode, ...(incident ? { incidentId: incident.id } : {}), ops: sortOps(ops), refused, notes,
  });

  if (incident) {
    const hit = prefixRails(policy, incident.target);
    if (hit) {
      refused.push({ rail: hit.rail, message: `incident ${incident.id} target: ${hit.message}` });
      notes.push(`plan refused whole by rail ${hit.rail}: nothing is added, refreshed or withdrawn`);
      return result([]);
    }
  }

  const override = incident ? overrideFor(policy, incident.target) : undefined;
  const wanted = incident ? want(input, incident, override, notes, refused) : { wants: [], level: 0 };

  // Rails on everything wanted: one violation refuses the whole plan (nothing applied half-way).
  const railHits = wanted.wants.flatMap((w) => {
    const hit = ruleRails(policy, w.rule, w.via);
    return hit ? [{ rule: w.rule, ...hit }] : [];
  });
  if (railHits.length > 0) {
    refused.push(...railHits);
    notes.push(`plan refused whole by rail ${[...new Set(railHits.map((h) => h.rail))].join(', ')}: nothing is added, refreshed or withdrawn`);
    return result([]);
  }

  const active = [...input.active].sort((a, b) => a.rule.id.localeCompare(b.rule.id));
  const activeById = new Map(active.map((a) => [a.rule.id as string, a]));
  const wantedIds = new Set(wanted.wants.map((w) => w.rule.id as string));
  const ops: Op[] = [];
  const rendered = (rule: Rule, via: string[]) => (input.render ? via.flatMap((v) => input.render?.(v, rule) ?? []) : []);
  const expiresMs = (a: ActiveRule) => {
    const t = Date.parse(a.expiresAt);
    return Number.isNaN(t) ? -Infinity : t; // an unreadable expiry is treated as expired: never kept forever
  };

  const adds: Op[] = [];
  for (const w of wanted.wants) {
    const a = activeById.get(w.rule.id);
    const base = { rule: w.rule, reason: w.reason, ...(w.rpki ? { rpki: w.rpki } : {}) };
    if (!a || expiresMs(a) <= nowMs) {
      const reason = a ? { ...w.reason, summary: `${w.reason.summary} (its TTL ran out while the attack goes on)` } : w.reason;
      adds.push({ type: 'add', ...base, reason, via: w.via, rendered: rendered(w.rule, w.via) });
      continue;
    }
    const missing = w.via.filter((v) => !a.via.includes(v));
    if (missing.length > 0) adds.push({ type: 'add', ...base, via: missing, rendered: rendered(w.rule, missing) });
    const remaining = (expiresMs(a) - nowMs) / 1000;
    if (remaining < w.rule.ttlSeconds / 2) {
      ops.push({
        type: 'refresh', ...base, via: a.via.filter((v) => w.via.includes(v)), rendered: [],
        reason: { ...w.reason, summary: `attack goes on: TTL extended to ${formatDuration(w.rule.ttlSeconds)} (${formatDuration(Math.max(0, Math.round(remaining)))} were left); ${w.reason.summary}` },
      });
    } else {
      notes.push(`kept ${w.rule.id} (${w.rule.kind}, level ${w.rule.level}): still wanted, expires ${a.expiresAt}`);
    }
  }

  const withdrawn = new Set<string>();
  const withdraw = (a: ActiveRule, summary: string) => {
    withdrawn.add(a.rule.id);
    ops.push({ type: 'withdraw', rule: a.rule, via: a.via, rendered: [], reason: { summary, level: a.rule.level } });
  };
  for (const a of active) {
    if (wantedIds.has(a.rule.id)) continue;
    if (expiresMs(a) <= nowMs) {
      withdraw(a, `TTL expired at ${a.expiresAt}`);
      continue;
    }
    const hit = ruleRails(policy, a.rule, a.via);
    if (hit) {
      withdraw(a, `the policy no longer allows it (rail ${hit.rail}: ${hit.message})`);
      continue;
    }
    if (!incident || !belongsTo(a, incident)) continue;
    const network = a.rule.kind !== 'host-filter' && a.rule.kind !== 'shape';
    if (network && a.rule.level > 0 && a.rule.level < wanted.level) {
      withdraw(a, `superseded: escalated to level ${wanted.level}`);
      continue;
    }
    const appliedMs = Date.parse(a.appliedAt);
    const holdUntil = (Number.isNaN(appliedMs) ? -Infinity : appliedMs) + policy.defaults.cooldownSeconds * 1000;
    const why = incident.state === 'resolved' ? 'incident resolved' : wanted.level < a.rule.level ? `attack fell below level ${a.rule.level}` : 'no longer wanted';
    if (nowMs >= holdUntil) withdraw(a, `${why}; cooldown of ${formatDuration(policy.defaults.cooldownSeconds)} since it was applied has passed`);
    else notes.push(`held ${a.rule.id} (${a.rule.kind}, level ${a.rule.level}): ${why}, but the cooldown keeps it until ${new Date(holdUntil).toISOString()}`);
  }

  ops.push(...applyCap(input, adds, active, withdrawn, ops, refused, notes));
  return result(ops);
}

/** An active rule is this incident's when its incidentId says so, or, having none, when its target is the incident's or covers it. */
function belongsTo(a: ActiveRule, incident: Incident): boolean {
  if (a.incidentId !== undefined) return a.incidentId === incident.id;
  return a.rule.target.contains(incident.target) || incident.target.contains(a.rule.target);
}

function sortOps(ops: Op[]): Op[] {
  return ops.sort(
    (a, b) =>
      TYPE_ORDER[a.type] - TYPE_ORDER[b.type] ||
      b.rule.level - a.rule.level ||
      KIND_ORDER[a.rule.kind] - KIND_ORDER[b.rule.kind] ||
      a.rule.id.localeCompare(b.rule.id) ||
      a.via.join(',').localeCompare(b.via.join(',')),
  );
}

function observed(incident: Incident): Record<string, number | string> {
  const o: Record<string, number | string> = { bps: incident.bps, pps: incident.pps, family: incident.attack_family, severity: incident.severity };
  const v = vectorsOf(incident);
  if (v.length > 0) o.vector = v.join(',');
  return o;
}

function ttlFor(policy: Policy, override: TargetOverride | undefined, own?: number): number {
  return own ?? override?.ttlSeconds ?? policy.defaults.ttlSeconds;
}

function flowspecAction(t: FlowSpecThen): FlowSpecAction {
  switch (t.then) {
    case 'rate-limit':
      return { type: 'rate-limit', bytesPerSecond: Math.round(t.bitsPerSecond / 8) };
    case 'redirect':
      return { type: 'redirect', routeTarget: t.routeTarget };
    case 'mark':
      return { type: 'mark', dscp: t.dscp };
    default:
      return { type: 'discard' };
  }
}

/** The rules the policy wants for this incident now: one escalation level (with RPKI fallback) plus on-node rules. */
function want(input: PlanInput, incident: Incident, override: TargetOverride | undefined, notes: string[], refused: Refusal[]): { wants: Want[]; level: number } {
  const { policy } = input;
  const tenant = override?.tenant ?? policy.tenant;
  if (incident.state === 'resolved') {
    notes.push(`incident ${incident.id} is resolved: nothing new is wanted`);
    return { wants: [], level: 0 };
  }
  const wants: Want[] = [];
  const seen = holdingLevels(policy, incident, undefined).filter((c) => override?.maxLevel !== undefined && c.level.level > override.maxLevel);
  const choices = holdingLevels(policy, incident, override);
  if (seen.length > 0) notes.push(`target ${override?.name} is capped at level ${override?.maxLevel}: level ${seen[0]?.level.level} would otherwise apply`);
  let level = 0;
  for (let i = 0; i < choices.length; i++) {
    const choice = choices[i] as LevelChoice;
    const levelWants = levelRules(input, incident, choice, tenant, override, refused);
    if (levelWants.length > 0) {
      wants.push(...levelWants);
      level = choice.level.level;
      break;
    }
    const next = choices[i + 1];
    if (next) notes.push(`level ${choice.level.level} was refused entirely: falling back to level ${next.level.level}`);
  }
  if (choices.length === 0 && policy.escalation.length > 0) notes.push(`no escalation level holds for ${incident.target} (${describeObserved(incident)})`);
  for (const rule of policy.onNode) {
    const r = evaluate(rule.when, incident);
    if (!r.holds) continue;
    rule.do.forEach((entry) => {
      for (const step of entry.steps) {
        const built = hostRule(step, incident, tenant, ttlFor(policy, override, rule.ttlSeconds), notes);
        if (!built) continue;
        wants.push({
          rule: built, via: [entry.via],
          reason: { summary: `on-node rule #${rule.index + 1}: ${r.because.join(', ')}`, level: 0, trigger: describeTrigger(rule.when), observed: observed(incident) },
        });
      }
    });
  }
  // One rule asked for twice (two on-node entries) is one want with both vias.
  const merged = new Map<string, Want>();
  for (const w of wants) {
    const m = merged.get(w.rule.id);
    if (m) m.via = [...new Set([...m.via, ...w.via])].sort();
    else merged.set(w.rule.id, { ...w, via: [...w.via].sort() });
  }
  return { wants: [...merged.values()], level };
}

function describeObserved(incident: Incident): string {
  return `${formatBitrate(incident.bps)}, ${formatPacketRate(incident.pps)}, ${incident.attack_family}`;
}

function levelRules(input: PlanInput, incident: Incident, choice: LevelChoice, tenant: string, override: TargetOverride | undefined, refused: Refusal[]): Want[] {
  const { policy } = input;
  const l: EscalationLevel = choice.level;
  const ttlSeconds = ttlFor(policy, override, l.ttlSeconds);
  const reason: Reason = {
    summary: `level ${l.level}${l.name ? ` (${l.name})` : ''}: ${choice.result.because.join(', ')}`,
    level: l.level, trigger: describeTrigger(choice.trigger), observed: observed(incident),
  };
  const target = incident.target;
  const covering = protectedBy(policy, target) ?? target;
  const candidates: { rule: Rule; via: string[]; check: AnnouncementCheck }[] = [];
  const asn = policy.asn ?? 0;
  const mode = policy.defaults.rpki;
  if (l.do.flowspec) {
    const rule = makeRule<FlowSpecRule>({
      kind: 'flowspec', tenant, target, match: flowspecMatch(incident, target), action: flowspecAction(l.do.flowspec), level: l.level, ttlSeconds,
    });
    candidates.push({ rule, via: l.via, check: { kind: 'flowspec', announced: target, covering, originAs: asn, mode } });
  }
  if (l.do.rtbh) {
    const rtbh = l.do.rtbh;
    const rule = makeRule<RtbhRule>({
      kind: 'rtbh', tenant, target, communities: rtbh.communities, noExport: rtbh.noExport,
      ...(rtbh.nextHop && Prefix.parse(rtbh.nextHop).family === target.family ? { nextHop: rtbh.nextHop } : {}),
      level: l.level, ttlSeconds,
    });
    if (!target.isHost) refused.push({ rule, rail: 'rtbh-host-only', message: `RTBH blackholes one host; ${target} is a prefix (use FlowSpec or scrubbing for it)` });
    else candidates.push({ rule, via: l.via, check: { kind: 'rtbh', announced: target, covering, originAs: asn, mode } });
  }
  if (l.do.scrub) {
    const scrubber = policy.scrubbers.get(l.do.scrub.provider);
    if (scrubber) {
      const len = target.family === 4 ? scrubber.divertLength.v4 : scrubber.divertLength.v6;
      const diverted = Prefix.covering(target, Math.min(len, target.length));
      const rule = makeRule<DivertRule>({ kind: 'divert', tenant, target: diverted, provider: scrubber.name, level: l.level, ttlSeconds });
      candidates.push({ rule, via: [scrubber.name], check: { kind: 'divert', announced: diverted, covering: diverted, originAs: scrubber.originAs, mode } });
    }
  }
  const out: Want[] = [];
  for (const c of candidates) {
    const v = input.rpki.verdict(c.check);
    const { allowed, ...verdict } = v;
    if (!allowed) {
      refused.push({ rule: c.rule, rail: 'rpki', message: `${c.rule.kind} for ${c.check.announced} (origin AS${c.check.originAs}): ${verdict.reason}` });
      continue;
    }
    out.push({ rule: c.rule, via: [...c.via].sort(), reason, rpki: verdict });
  }
  return out;
}

function hostRule(step: HostStep, incident: Incident, tenant: string, ttlSeconds: number, notes: string[]): HostFilterRule | ShapeRule | undefined {
  const destination = incident.target;
  const common = { tenant, target: destination, level: 0, ttlSeconds };
  const filter = (match: HostFilterRule['match'], action: HostFilterRule['action']) =>
    makeRule<HostFilterRule>({ kind: 'host-filter', ...common, match, action });
  switch (step.type) {
    case 'syn-cookies':
      return filter({ destination, protocol: 'tcp', tcpFlags: { set: ['syn'], unset: ['ack'] } }, { type: 'syn-cookies' });
    case 'hashlimit':
      return filter(hostMatch(incident, destination), { type: 'hashlimit', packetsPerSecond: step.packetsPerSecond, burst: step.burst, per: step.per });
    case 'rate-limit':
      return filter(hostMatch(incident, destination), { type: 'rate-limit', packetsPerSecond: step.packetsPerSecond, burst: step.burst });
    case 'connlimit':
      return filter({ destination, protocol: 'tcp' }, { type: 'connlimit', maxConnections: step.maxConnections });
    case 'drop-udp-source-ports': {
      let ports: number[];
      if (step.ports === 'auto') {
        const vectors = vectorsOf(incident);
        if (vectors.length === 0) {
          notes.push('dropUdpSourcePorts: auto skipped: the incident names no amplification vector');
          return undefined;
        }
        ports = [...new Set(vectors.flatMap((v) => flowspecMatch({ ...incident, attack_family: 'udp_flood', vector: [v] }, destination).sourcePorts?.map((r) => r.min) ?? []))];
      } else ports = step.ports;
      return filter({ destination, protocol: 'udp', sourcePorts: [...ports].sort((a, b) => a - b).map((p) => ({ min: p, max: p })) }, { type: 'drop' });
    }
    case 'drop-top-sources': {
      if (incident.spoofing_detected) {
        notes.push('dropTopSources skipped: the sources are spoofed, so dropping them would only hurt the hosts they impersonate');
        return undefined;
      }
      const sources = topSources(incident, step.count);
      if (sources.length === 0) {
        notes.push('dropTopSources skipped: the incident lists no top source addresses');
        return undefined;
      }
      return filter({ destination, sources }, { type: 'drop' });
    }
    case 'shape':
      return makeRule<ShapeRule>({ kind: 'shape', ...common, match: hostMatch(incident, destination), bitsPerSecond: step.bitsPerSecond });
  }
}

/**
 * The per-tenant cap over active plus new rules. At the cap the policy chooses: refuse the rules that do not fit
 * (and say so), or aggregate a FlowSpec rule into one covering rule that replaces the per-host rules it subsumes.
 */
function applyCap(input: PlanInput, adds: Op[], active: ActiveRule[], withdrawn: Set<string>, ops: Op[], refused: Refusal[], notes: string[]): Op[] {
  const { policy } = input;
  const live = new Map<string, Set<string>>();
  for (const a of active) {
    if (withdrawn.has(a.rule.id)) continue;
    if (!live.has(a.rule.tenant)) live.set(a.rule.tenant, new Set());
    live.get(a.rule.tenant)?.add(a.rule.id);
  }
  const activeIds = new Set(active.map((a) => a.rule.id as string));
  const out: Op[] = [];
  const ordered = sortOps([...adds]);
  for (const op of ordered) {
    const tenant = op.rule.tenant;
    const max = policy.tenants.get(tenant)?.maxRules ?? policy.defaults.maxRules;
    const ids = live.get(tenant) ?? new Set<string>();
    live.set(tenant, ids);
    if (ids.has(op.rule.id) || ids.size < max) {
      ids.add(op.rule.id);
      out.push(op);
      continue;
    }
    const message = `tenant ${tenant} has ${ids.size} of ${max} live rules`;
    if (policy.atCap === 'aggregate' && op.rule.kind === 'flowspec') {
      const agg = aggregate(input, op, op.rule, active, ids, withdrawn, activeIds);
      if (agg) {
        for (const w of agg.withdraws) {
          ids.delete(w.rule.id);
          withdrawn.add(w.rule.id);
          ops.push(w);
        }
        if (ids.size < max || ids.has(agg.add.rule.id)) {
          ids.add(agg.add.rule.id);
          out.push(agg.add);
          notes.push(`ALERT: ${message}: aggregated into ${agg.add.rule.id} for ${agg.add.rule.target}, replacing ${agg.withdraws.length} rule(s)`);
          continue;
        }
      }
    }
    refused.push({ rule: op.rule, rail: 'cap', message: `${message}: ${op.rule.kind} for ${op.rule.target} refused (atCap: ${policy.atCap})` });
    notes.push(`ALERT: ${message}: new rules are refused until some expire or are withdrawn`);
  }
  return out;
}

function aggregate(input: PlanInput, op: Op, rule: FlowSpecRule, active: ActiveRule[], ids: Set<string>, withdrawn: Set<string>, activeIds: Set<string>) {
  const { policy } = input;
  const target = rule.target;
  const min = target.family === 4 ? policy.defaults.minPrefixLength.v4 : policy.defaults.minPrefixLength.v6;
  const scope = [...policy.targets.map((t) => t.prefix), ...policy.protect].filter((p) => p.contains(target)).sort((a, b) => b.length - a.length)[0];
  if (!scope) return undefined;
  const len = Math.max(scope.length, min);
  if (len >= target.length) return undefined;
  const cover = Prefix.covering(target, len);
  if (prefixRails(policy, cover)) return undefined;
  const shape = (r: FlowSpecRule) => canonicalJson({ ...r.match, destination: undefined, action: r.action, tenant: r.tenant });
  const { id: _old, ...content } = rule;
  void _old;
  const aggRule = makeRule<FlowSpecRule>({ ...content, target: cover, match: { ...rule.match, destination: cover }, level: rule.level, ttlSeconds: rule.ttlSeconds });
  const v = input.rpki.verdict({ kind: 'flowspec', announced: cover, covering: protectedBy(policy, cover) ?? cover, originAs: policy.asn ?? 0, mode: policy.defaults.rpki });
  const { allowed, ...verdict } = v;
  if (!allowed) return undefined;
  const withdraws: Op[] = active
    .filter((a) => a.rule.kind === 'flowspec' && !withdrawn.has(a.rule.id) && ids.has(a.rule.id) && a.rule.id !== aggRule.id)
    .filter((a) => cover.contains((a.rule as FlowSpecRule).match.destination) && shape(a.rule as FlowSpecRule) === shape(rule))
    .map((a) => ({ type: 'withdraw' as const, rule: a.rule, via: a.via, rendered: [], reason: { summary: `aggregated into ${aggRule.id} (${cover}) at the rule cap`, level: a.rule.level } }));
  const rendered = input.render ? op.via.flatMap((v2) => input.render?.(v2, aggRule) ?? []) : [];
  const add: Op = {
    type: activeIds.has(aggRule.id) ? 'refresh' : 'add', rule: aggRule, via: op.via, rendered, rpki: verdict,
    reason: { ...op.reason, summary: `${op.reason.summary}; aggregated to ${cover} at the rule cap` },
  };
  return { add, withdraws };
}
