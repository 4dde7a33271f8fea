import {
  Prefix,
  canonicalJson,
  formatBitrate,
  formatDuration,
  formatPacketRate,
  type DivertRule,
  type FlowSpecAction,
  type FlowSpecRule,
  type HostFilterRule,
  type RenderedCommand,
  type RtbhRule,
  type Rule,
  type ShapeRule,
} from '@ft/sdk';
import type { Incident } from '../model/incident.js';
import type { ActiveRule, Op, Plan, Reason, Refusal, RpkiVerdict } from '../model/plan.js';
import type { AnnouncementCheck, RpkiVerdictProvider } from '../model/rpki.js';
import type { EscalationLevel, FlowSpecThen, HostStep, Policy, TargetOverride } from '../policy/types.js';
import { flowspecMatch, hostMatch, topSources, vectorsOf } from './match.js';
import { prefixRails, protectedBy, ruleRails, unblockable } from './rails.js';
import { buildRule } from './rules.js';
import { describeTrigger, evaluate, holdingLevels, holds, overrideFor, type LevelChoice } from './triggers.js';

export interface PlanInput {
  policy: Policy;
  /** Undefined for the periodic re-plan: only expiry and rail checks on what is active. */
  incident?: Incident;
  /** Freeze it when planning many incidents against the same snapshot: a frozen snapshot is indexed once. */
  active: readonly ActiveRule[];
  now: Date;
  rpki: RpkiVerdictProvider;
  /** What an action instance will run for a rule (its render()); absent → ops list rule content only. */
  render?: (via: string, rule: Rule) => RenderedCommand[];
  /** What an action instance will run to withdraw a rule (its renderWithdraw()); absent → no commands listed. */
  renderWithdraw?: (via: string, rule: Rule) => RenderedCommand[];
}

/** For each candidate: is a rule with its id live on every one of its vias and unexpired? */
type AreLive = (candidates: readonly { id: string; via: readonly string[] }[]) => boolean[];

/** A rule the policy wants now, before it is compared with what is active. */
interface Want {
  rule: Rule;
  via: string[];
  reason: Reason;
  rpki?: RpkiVerdict;
  /** The active entry with the same id, if any (found once, used for add/refresh/keep). */
  live?: ActiveRule;
}

const KIND_ORDER: Record<Rule['kind'], number> = { divert: 0, rtbh: 1, flowspec: 2, 'host-filter': 3, shape: 4 };
const TYPE_ORDER: Record<Op['type'], number> = { add: 0, refresh: 1, withdraw: 2 };
const iso = (ms: number) => new Date(ms).toISOString();
const byId = (a: ActiveRule, b: ActiveRule) => (a.rule.id < b.rule.id ? -1 : a.rule.id > b.rule.id ? 1 : 0);

/**
 * The one planner: preview prints what it returns and apply executes the same. Pure and deterministic: the same
 * input gives the same plan, op for op, whatever the order of `active`.
 *
 * With an incident, it looks at that incident's rules (and counts the tenant's rules for the cap); the periodic
 * re-plan (no incident) looks at every active rule for expiry and for what the policy no longer allows.
 */
export function plan(input: PlanInput): Plan {
  const { policy, incident } = input;
  const nowMs = input.now.getTime();
  const notes: string[] = [];
  const refused: Refusal[] = [];
  const result = (ops: Op[]): Plan => ({
    tenant: policy.tenant,
    mode: policy.mode,
    ...(incident ? { incidentId: incident.id } : {}),
    ops: sortOps(ops),
    refused,
    notes,
  });

  if (incident) {
    const hit = prefixRails(policy, incident.target);
    if (hit) {
      refused.push({ rail: hit.rail, message: `incident ${incident.id} target: ${hit.message}` });
      notes.push(`plan refused whole by rail ${hit.rail}: nothing is added, refreshed or withdrawn`);
      return result([]);
    }
  }

  // Live on every one of these vias and unexpired: nothing is announced for it, so no RPKI check is due. One scan
  // answers for all of a level's candidates: plans want a handful of rules, and indexing every active rule costs more.
  const index = snapshotIndex(input.active);
  const areLive: AreLive = (candidates) => {
    const found = new Array<ActiveRule | undefined>(candidates.length).fill(undefined);
    if (index) {
      for (let j = 0; j < candidates.length; j++) found[j] = index.byId.get((candidates[j] as { id: string }).id)?.[0];
    } else {
      const active = input.active;
      for (let i = 0; i < active.length; i++) {
        const a = active[i] as ActiveRule;
        const id = a.rule.id;
        for (let j = 0; j < candidates.length; j++)
          if (found[j] === undefined && (candidates[j] as { id: string }).id === id) found[j] = a;
      }
    }
    return candidates.map((c, j) => {
      const a = found[j];
      return a !== undefined && times(a).expires > nowMs && c.via.every((v) => a.via.includes(v));
    });
  };
  const override = incident ? overrideFor(policy, incident.target) : undefined;
  const wanted = incident ? want(input, incident, override, notes, refused, areLive) : { wants: [], level: 0 };

  // Rails on everything wanted: one violation refuses the whole plan (nothing applied half-way).
  const railHits = wanted.wants.flatMap((w) => {
    const hit = cachedRails(policy, w.rule, w.via);
    return hit ? [{ rule: w.rule, ...hit }] : [];
  });
  if (railHits.length > 0) {
    refused.push(...railHits);
    notes.push(
      `plan refused whole by rail ${[...new Set(railHits.map((h) => h.rail))].join(', ')}: nothing is added, refreshed or withdrawn`,
    );
    return result([]);
  }

  // One pass over what is active: the entries of wanted rules, this incident's rules, and the tenant's count.
  const wantedIds = new Set<string>();
  for (const w of wanted.wants) wantedIds.add(w.rule.id);
  const listed = new Map<string, ActiveRule>();
  const mine: ActiveRule[] = [];
  const tenant = override?.tenant ?? policy.tenant;
  let tenantLive = 0;
  const incidentId = incident?.id;
  if (index) {
    for (const id of wantedIds) {
      const entries = index.byId.get(id);
      if (entries) listed.set(id, entries[entries.length - 1] as ActiveRule);
    }
    if (!incident) mine.push(...input.active);
    else {
      mine.push(...(index.byIncident.get(incident.id) ?? []));
      for (const a of index.unowned) if (belongsTo(a, incident)) mine.push(a);
    }
    tenantLive = index.perTenant.get(tenant) ?? 0;
  } else {
    // A plan wants a handful of rules: comparing ids directly beats hashing each active id into a Set.
    const ids = [...wantedIds];
    const nIds = ids.length;
    const active = input.active;
    for (let i = 0; i < active.length; i++) {
      const a = active[i] as ActiveRule;
      const r = a.rule;
      const id = r.id;
      for (let j = 0; j < nIds; j++) {
        if (ids[j] === id) {
          listed.set(id, a);
          break;
        }
      }
      if (!incident || (a.incidentId !== undefined ? a.incidentId === incidentId : belongsTo(a, incident)))
        mine.push(a);
      if (r.tenant === tenant) tenantLive++;
    }
  }

  const ops: Op[] = [];
  const rendered = (rule: Rule, via: readonly string[]) => renderedBy(input.render, rule, via);
  const adds: Op[] = [];
  for (const w of wanted.wants) {
    const a = listed.get(w.rule.id);
    const base = { rule: w.rule, reason: w.reason, ...(w.rpki ? { rpki: w.rpki } : {}) };
    if (!a || times(a).expires <= nowMs) {
      const reason = a
        ? { ...w.reason, summary: `${w.reason.summary} (its TTL ran out while the attack goes on)` }
        : w.reason;
      adds.push({ type: 'add', ...base, reason, via: w.via, rendered: rendered(w.rule, w.via) });
      continue;
    }
    const missing = w.via.filter((v) => !a.via.includes(v));
    if (missing.length > 0) adds.push({ type: 'add', ...base, via: missing, rendered: rendered(w.rule, missing) });
    const remaining = (times(a).expires - nowMs) / 1000;
    if (remaining < w.rule.ttlSeconds / 2) {
      ops.push({
        type: 'refresh',
        ...base,
        via: a.via.filter((v) => w.via.includes(v)),
        rendered: [],
        reason: {
          ...w.reason,
          summary: `attack goes on: TTL extended to ${formatDuration(w.rule.ttlSeconds)} (${formatDuration(Math.max(0, Math.round(remaining)))} were left); ${w.reason.summary}`,
        },
      });
    } else {
      notes.push(
        `kept ${w.rule.id} (${w.rule.kind}, level ${w.rule.level}): still wanted, expires ${iso(a.expiresAt)}`,
      );
    }
  }

  const withdrawn = new Set<string>();
  const withdraw = (a: ActiveRule, summary: string) => {
    withdrawn.add(a.rule.id);
    if (a.rule.tenant === tenant) tenantLive--;
    ops.push({
      type: 'withdraw',
      rule: a.rule,
      via: a.via,
      rendered: renderedBy(input.renderWithdraw, a.rule, a.via),
      reason: { summary, level: a.rule.level },
    });
  };
  for (const a of mine.sort(byId)) {
    if (wantedIds.has(a.rule.id) || withdrawn.has(a.rule.id)) continue;
    if (times(a).expires <= nowMs) {
      withdraw(a, `TTL expired at ${iso(a.expiresAt)}`);
      continue;
    }
    const hit = cachedRails(policy, a.rule, a.via);
    if (hit) {
      withdraw(a, `the policy no longer allows it (rail ${hit.rail}: ${hit.message})`);
      continue;
    }
    if (!incident) continue;
    const network = a.rule.kind !== 'host-filter' && a.rule.kind !== 'shape';
    if (network && a.rule.level > 0 && a.rule.level < wanted.level) {
      withdraw(a, `superseded: escalated to level ${wanted.level}`);
      continue;
    }
    // While the attack goes on, the quiet period runs from the last time the rule went in or was refreshed (a
    // refresh sets expiresAt to then + TTL): the last moment its level was known to be wanted. A resolved incident
    // has already been quiet for the detection engine's resolve period: only the time since it went in counts.
    const lastWanted =
      incident.state === 'resolved'
        ? times(a).applied
        : Math.max(times(a).applied, times(a).expires - a.rule.ttlSeconds * 1000);
    const holdUntil = lastWanted + policy.defaults.cooldownSeconds * 1000;
    const why =
      incident.state === 'resolved'
        ? 'incident resolved'
        : wanted.level < a.rule.level
          ? `attack fell below level ${a.rule.level}`
          : 'no longer wanted';
    if (nowMs >= holdUntil)
      withdraw(
        a,
        `${why}; cooldown of ${formatDuration(policy.defaults.cooldownSeconds)} since it was applied or refreshed has passed`,
      );
    else
      notes.push(
        `held ${a.rule.id} (${a.rule.kind}, level ${a.rule.level}): ${why}, but the cooldown keeps it until ${new Date(holdUntil).toISOString()}`,
      );
  }

  if (adds.length > 0)
    ops.push(...applyCap(input, { tenant, live: tenantLive, listed }, adds, withdrawn, ops, refused, notes));
  return result(ops);
}

/** What one plan needs from a snapshot of active rules, found without walking all of them. */
interface ActiveIndex {
  /** Every entry per rule id, in snapshot order (a rule listed twice keeps the plan's first/last-entry rules). */
  byId: Map<string, ActiveRule[]>;
  byIncident: Map<string, ActiveRule[]>;
  /** Entries without an incident id: matched to an incident by target. */
  unowned: ActiveRule[];
  perTenant: Map<string, number>;
}

/**
 * A caller that plans many incidents against one snapshot (a burst of incidents, the fleet, the benchmark) freezes
 * the array: the planner then indexes it once instead of walking every active rule in every plan. An unfrozen
 * array may change between plans, so it is walked each time.
 */
const indexes = new WeakMap<readonly ActiveRule[], ActiveIndex>();
function snapshotIndex(active: readonly ActiveRule[]): ActiveIndex | undefined {
  if (!Object.isFrozen(active)) return undefined;
  let index = indexes.get(active);
  if (index) return index;
  index = { byId: new Map(), byIncident: new Map(), unowned: [], perTenant: new Map() };
  for (const a of active) {
    const byId = index.byId.get(a.rule.id);
    if (byId) byId.push(a);
    else index.byId.set(a.rule.id, [a]);
    if (a.incidentId === undefined) index.unowned.push(a);
    else {
      const own = index.byIncident.get(a.incidentId);
      if (own) own.push(a);
      else index.byIncident.set(a.incidentId, [a]);
    }
    index.perTenant.set(a.rule.tenant, (index.perTenant.get(a.rule.tenant) ?? 0) + 1);
  }
  indexes.set(active, index);
  return index;
}

/** An active rule's times (epoch ms); kept as a function so every use reads them the same way. */
function times(a: ActiveRule): { expires: number; applied: number } {
  return { expires: a.expiresAt, applied: a.appliedAt };
}

// Keyed by the rule object (the planner's rules are memoised, so the same content is the same object) and then
// by where it goes: no key text to build and hash on every plan.
const railCache = new WeakMap<Policy, WeakMap<Rule, Map<string, ReturnType<typeof ruleRails> | null>>>();
/** Rails are a pure function of policy, rule content and where it goes. */
function cachedRails(policy: Policy, rule: Rule, via: readonly string[]): ReturnType<typeof ruleRails> {
  let byRule = railCache.get(policy);
  if (!byRule) railCache.set(policy, (byRule = new WeakMap()));
  let byVia = byRule.get(rule);
  if (!byVia) byRule.set(rule, (byVia = new Map<string, ReturnType<typeof ruleRails> | null>()));
  const key = via.length === 1 ? (via[0] as string) : via.join(',');
  let hit = byVia.get(key);
  if (hit === undefined) {
    hit = ruleRails(policy, rule, via) ?? null;
    byVia.set(key, hit);
  }
  return hit ?? undefined;
}

/** What each via will run for the rule (install or withdraw, as `render` says); [] without a renderer. */
function renderedBy(render: PlanInput['render'], rule: Rule, via: readonly string[]): RenderedCommand[] {
  return render ? via.flatMap((v) => render(v, rule)) : [];
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
      (a.rule.id < b.rule.id ? -1 : a.rule.id > b.rule.id ? 1 : 0) ||
      (a.via.join(',') < b.via.join(',') ? -1 : a.via.join(',') > b.via.join(',') ? 1 : 0),
  );
}

function observed(incident: Incident): Record<string, number | string> {
  const o: Record<string, number | string> = {
    bps: incident.bps,
    pps: incident.pps,
    family: incident.family,
    severity: incident.severity,
  };
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
function want(
  input: PlanInput,
  incident: Incident,
  override: TargetOverride | undefined,
  notes: string[],
  refused: Refusal[],
  areLive: AreLive,
): { wants: Want[]; level: number } {
  const { policy } = input;
  const tenant = override?.tenant ?? policy.tenant;
  if (incident.state === 'resolved') {
    notes.push(`incident ${incident.id} is resolved: nothing new is wanted`);
    return { wants: [], level: 0 };
  }
  const wants: Want[] = [];
  const choices = holdingLevels(policy, incident, override);
  if (override?.maxLevel !== undefined) {
    const above = holdingLevels(policy, incident, override, true).filter(
      (c) => c.level.level > (override.maxLevel as number),
    );
    if (above.length > 0)
      notes.push(
        `target ${override.name} is capped at level ${override.maxLevel}: level ${above[0]?.level.level} would otherwise apply`,
      );
  }
  let level = 0;
  for (let i = 0; i < choices.length; i++) {
    const choice = choices[i] as LevelChoice;
    const levelWants = levelRules(input, incident, choice, tenant, override, refused, areLive, notes);
    if (levelWants.length > 0) {
      wants.push(...levelWants);
      level = choice.level.level;
      break;
    }
    const next = choices[i + 1];
    if (next) notes.push(`level ${choice.level.level} was refused entirely: falling back to level ${next.level.level}`);
  }
  if (choices.length === 0 && policy.escalation.length > 0)
    notes.push(`no escalation level holds for ${incident.target} (${describeObserved(incident)})`);
  for (const rule of policy.onNode) {
    if (!holds(rule.when, incident)) continue;
    let reason: Reason | undefined;
    for (const entry of rule.do) {
      for (const step of entry.steps) {
        const built = hostRule(policy, step, incident, tenant, ttlFor(policy, override, rule.ttlSeconds), notes);
        if (!built) continue;
        reason ??= {
          summary: `on-node rule #${rule.index + 1}: ${evaluate(rule.when, incident).because.join(', ')}`,
          level: 0,
          trigger: describeTrigger(rule.when),
          observed: observed(incident),
        };
        wants.push({ rule: built, via: [entry.via], reason });
      }
    }
  }
  if (wants.length <= 1) return { wants, level };
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
  return `${formatBitrate(incident.bps)}, ${formatPacketRate(incident.pps)}, ${incident.family}`;
}

function levelRules(
  input: PlanInput,
  incident: Incident,
  choice: LevelChoice,
  tenant: string,
  override: TargetOverride | undefined,
  refused: Refusal[],
  areLive: AreLive,
  notes: string[],
): Want[] {
  const { policy } = input;
  const l: EscalationLevel = choice.level;
  const ttlSeconds = ttlFor(policy, override, l.ttlSeconds);
  const target = incident.target;
  const covering = protectedBy(policy, target) ?? target;
  const candidates: { rule: Rule; via: string[]; check?: AnnouncementCheck }[] = [];
  const asn = policy.asn ?? 0;
  const mode = policy.defaults.rpki;
  if (l.do.flowspec) {
    const rule = buildRule<FlowSpecRule>({
      kind: 'flowspec',
      tenant,
      target,
      match: flowspecMatch(incident, target),
      action: flowspecAction(l.do.flowspec),
      level: l.level,
      ttlSeconds,
    });
    candidates.push({
      rule,
      via: l.via,
      check: { kind: 'flowspec', announced: target, covering, originAs: asn, mode },
    });
  }
  if (l.do.rtbh) {
    const rtbh = l.do.rtbh;
    const rule = buildRule<RtbhRule>({
      kind: 'rtbh',
      tenant,
      target,
      communities: rtbh.communities,
      noExport: rtbh.noExport,
      ...(rtbh.nextHop && Prefix.parse(rtbh.nextHop).family === target.family ? { nextHop: rtbh.nextHop } : {}),
      level: l.level,
      ttlSeconds,
    });
    // An attack on a whole prefix (carpet bombing) or a whole host group: blackholing it would drop every
    // customer behind it. Only when the level says so (rtbh.wholePrefix).
    const whole = !target.isHost
      ? `${target} is a prefix`
      : incident.group !== undefined
        ? `${target} is one member of host group ${incident.group}, under an attack on the whole group`
        : undefined;
    if (whole !== undefined && !rtbh.wholePrefix)
      refused.push({
        rule,
        rail: 'rtbh-host-only',
        message: `RTBH blackholes one attacked host; ${whole} (use FlowSpec or scrubbing for it, or set rtbh.wholePrefix on this level)`,
      });
    else
      candidates.push({ rule, via: l.via, check: { kind: 'rtbh', announced: target, covering, originAs: asn, mode } });
  }
  if (l.do.scrub) {
    const scrubber = policy.scrubbers.get(l.do.scrub.provider);
    if (scrubber) {
      const len = target.family === 4 ? scrubber.divertLength.v4 : scrubber.divertLength.v6;
      const diverted = Prefix.covering(target, Math.min(len, target.length));
      const rule = buildRule<DivertRule>({
        kind: 'divert',
        tenant,
        target: diverted,
        provider: scrubber.name,
        level: l.level,
        ttlSeconds,
      });
      // A diverted prefix the rails refuse (a /24 around a host of a protected /25) is this level's failure, not
      // the whole plan's: the level is left out and the next one down holds, never nothing at all.
      const hit = prefixRails(policy, diverted, { divert: true });
      if (hit) refused.push({ rule, rail: hit.rail, message: `divert to ${scrubber.name}: ${hit.message}` });
      else
        candidates.push({
          rule,
          via: [scrubber.name],
          check: { kind: 'divert', announced: diverted, covering: diverted, originAs: scrubber.originAs, mode },
        });
    }
  }
  if (l.do.block) {
    const sources = blockSources(policy, incident, l.do.block.count, notes);
    if (sources.length > 0) {
      const rule = buildRule<HostFilterRule>({
        kind: 'host-filter',
        tenant,
        target,
        match: { destination: target, sources },
        action: { type: 'drop' },
        level: l.level,
        ttlSeconds,
      });
      // No check: a block rule goes to the filter's API and is never announced by BGP.
      candidates.push({ rule, via: l.filters });
    }
  }
  if (candidates.length === 0) return [];
  const reason: Reason = {
    summary: `level ${l.level}${l.name ? ` (${l.name})` : ''}: ${evaluate(choice.trigger, incident).because.join(', ')}`,
    level: l.level,
    trigger: describeTrigger(choice.trigger),
    observed: observed(incident),
  };
  const out: Want[] = [];
  const live = areLive(candidates.map((c) => ({ id: c.rule.id, via: c.via })));
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i] as (typeof candidates)[number];
    // Checked before every announcement. A rule already live and unexpired is not announced again; the RPKI
    // re-check of live announcements when the VRP set changes is core/rpki's job.
    if (live[i]) {
      out.push({ rule: c.rule, via: [...c.via].sort(), reason });
      continue;
    }
    if (!c.check) {
      out.push({ rule: c.rule, via: [...c.via].sort(), reason, rpki: NOT_ANNOUNCED });
      continue;
    }
    const { allowed, ...verdict } = input.rpki.verdict(c.check);
    if (!allowed) {
      refused.push({
        rule: c.rule,
        rail: 'rpki',
        message: `${c.rule.kind} for ${c.check.announced} (origin AS${c.check.originAs}): ${verdict.reason}`,
      });
      continue;
    }
    out.push({ rule: c.rule, via: [...c.via].sort(), reason, rpki: verdict });
  }
  return out;
}

const NOT_ANNOUNCED: RpkiVerdict = {
  state: 'skipped',
  reason: "not applicable: a block rule is sent to the filter's API, nothing is announced by BGP",
};

/**
 * The sources a level's block rule drops: the incident's busiest hosts, minus any inside our protected space or
 * the never-target list (the rails refuse those anyway; sparing them here keeps the rest of the block). Spoofed
 * sources are never blocked: that would only hurt the hosts they impersonate.
 */
function blockSources(policy: Policy, incident: Incident, count: number, notes: string[]): Prefix[] {
  if (incident.spoofed) {
    notes.push('block skipped: the sources are spoofed, so blocking them would only hurt the hosts they impersonate');
    return [];
  }
  const sources = blockableSources(policy, incident, count, 'block', notes);
  if (sources.length === 0)
    notes.push('block skipped: the incident lists no top source addresses outside our own space and bogon space');
  return sources;
}

/**
 * The incident's busiest sources a block list may hold, sorted by address (the same set is the same rule whatever
 * the order of activity): only the target's family (the other cannot reach it; vendor rules, ipset and nft sets
 * are per family), never our own space or a never-target (a spoofed resolver), never a bogon (no real host sends
 * from 127/8, 10/8 or multicast). What is spared is noted, with a count past a handful.
 */
function blockableSources(
  policy: Policy,
  incident: Incident,
  count: number,
  what: 'block' | 'dropTopSources',
  notes: string[],
): Prefix[] {
  const own: Prefix[] = [];
  const bogons: Prefix[] = [];
  const out: Prefix[] = [];
  for (const p of topSources(incident, Number.POSITIVE_INFINITY)) {
    if (out.length >= count) break;
    if (p.family !== incident.target.family) continue;
    const why = unblockable(policy, p);
    if (why === 'bogon') bogons.push(p);
    else if (why) own.push(p);
    else out.push(p);
  }
  const say = (ps: Prefix[]) =>
    ps.length <= 5 ? ps.map(String).join(', ') : `${ps.slice(0, 5).map(String).join(', ')} and ${ps.length - 5} more`;
  if (own.length > 0) notes.push(`${what} spares ${say(own)}: inside protect or never-target`);
  if (bogons.length > 0) notes.push(`${what} spares ${say(bogons)}: bogon space, no real host sends from it`);
  return out.sort((a, b) => a.compare(b));
}

function hostRule(
  policy: Policy,
  step: HostStep,
  incident: Incident,
  tenant: string,
  ttlSeconds: number,
  notes: string[],
): HostFilterRule | ShapeRule | undefined {
  const destination = incident.target;
  const common = { tenant, target: destination, level: 0, ttlSeconds };
  const filter = (match: HostFilterRule['match'], action: HostFilterRule['action']) =>
    buildRule<HostFilterRule>({ kind: 'host-filter', ...common, match, action });
  switch (step.type) {
    case 'syn-cookies':
      return filter(
        { destination, protocol: 'tcp', tcpFlags: { set: ['syn'], unset: ['ack'] } },
        { type: 'syn-cookies' },
      );
    case 'hashlimit':
      return filter(hostMatch(incident, destination), {
        type: 'hashlimit',
        packetsPerSecond: step.packetsPerSecond,
        burst: step.burst,
        per: step.per,
      });
    case 'rate-limit':
      return filter(hostMatch(incident, destination), {
        type: 'rate-limit',
        packetsPerSecond: step.packetsPerSecond,
        burst: step.burst,
      });
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
        ports =
          flowspecMatch({ ...incident, family: 'udp_flood', vectors }, destination).sourcePorts?.map((r) => r.min) ??
          [];
      } else ports = step.ports;
      return filter(
        {
          destination,
          protocol: 'udp',
          sourcePorts: [...ports].sort((a, b) => a - b).map((p) => ({ min: p, max: p })),
        },
        { type: 'drop' },
      );
    }
    case 'drop-top-sources': {
      if (incident.spoofed) {
        notes.push(
          'dropTopSources skipped: the sources are spoofed, so dropping them would only hurt the hosts they impersonate',
        );
        return undefined;
      }
      const sources = blockableSources(policy, incident, step.count, 'dropTopSources', notes);
      if (sources.length === 0) {
        notes.push('dropTopSources skipped: the incident lists no top source addresses');
        return undefined;
      }
      return filter({ destination, sources }, { type: 'drop' });
    }
    case 'shape': {
      // A shaper queues by address, protocol and port (tc has no TCP-flag match): a SYN flood shapes its TCP.
      const { tcpFlags: _flags, ...match } = hostMatch(incident, destination);
      void _flags;
      return buildRule<ShapeRule>({
        kind: 'shape',
        ...common,
        match,
        bitsPerSecond: step.bitsPerSecond,
      });
    }
  }
}

/**
 * The per-tenant cap over active plus new rules. At the cap the policy chooses: refuse the rules that do not fit
 * (and say so), or aggregate a FlowSpec rule into one covering rule that replaces the per-host rules it subsumes.
 */
function applyCap(
  input: PlanInput,
  count: { tenant: string; live: number; listed: Map<string, ActiveRule> },
  adds: Op[],
  withdrawn: Set<string>,
  ops: Op[],
  refused: Refusal[],
  notes: string[],
): Op[] {
  const { policy } = input;
  const max = policy.tenants.get(count.tenant)?.maxRules ?? policy.defaults.maxRules;
  let n = count.live;
  const out: Op[] = [];
  const counted = new Set<string>();
  const isListed = (id: string) => count.listed.has(id) && !withdrawn.has(id);
  for (const op of sortOps([...adds])) {
    // Re-adding a rule that is still listed (expired, or on another via) takes no new slot.
    const isNew = !isListed(op.rule.id) && !counted.has(op.rule.id);
    if (!isNew || n < max) {
      if (isNew) {
        n++;
        counted.add(op.rule.id);
      }
      out.push(op);
      continue;
    }
    const message = `tenant ${count.tenant} has ${n} of ${max} live rules`;
    if (policy.atCap === 'aggregate' && op.rule.kind === 'flowspec') {
      const agg = aggregate(input, op, op.rule, withdrawn);
      if (agg) {
        for (const w of agg.withdraws) {
          withdrawn.add(w.rule.id);
          ops.push(w);
        }
        n -= agg.withdraws.length;
        const aggNew = !agg.listed && !counted.has(agg.add.rule.id);
        if (!aggNew || n < max) {
          if (aggNew) n++;
          counted.add(agg.add.rule.id);
          out.push(agg.add);
          notes.push(
            `ALERT: ${message}: aggregated into ${agg.add.rule.id} for ${agg.add.rule.target}, replacing ${agg.withdraws.length} rule(s)`,
          );
          continue;
        }
      }
    }
    refused.push({
      rule: op.rule,
      rail: 'cap',
      message: `${message}: ${op.rule.kind} for ${op.rule.target} refused (atCap: ${policy.atCap})`,
    });
    notes.push(`ALERT: ${message}: new rules are refused until some expire or are withdrawn`);
  }
  return out;
}

function aggregate(input: PlanInput, op: Op, rule: FlowSpecRule, withdrawn: Set<string>) {
  const { policy } = input;
  const target = rule.target;
  const min = target.family === 4 ? policy.defaults.minPrefixLength.v4 : policy.defaults.minPrefixLength.v6;
  const scope = [...policy.targets.map((t) => t.prefix), ...policy.protect]
    .filter((p) => p.contains(target))
    .sort((a, b) => b.length - a.length)[0];
  if (!scope) return undefined;
  const len = Math.max(scope.length, min);
  if (len >= target.length) return undefined;
  const cover = Prefix.covering(target, len);
  if (prefixRails(policy, cover)) return undefined;
  const shape = (r: FlowSpecRule) =>
    canonicalJson({ ...r.match, destination: undefined, action: r.action, tenant: r.tenant });
  const { id: _old, ...content } = rule;
  void _old;
  const aggRule = buildRule<FlowSpecRule>({
    ...content,
    target: cover,
    match: { ...rule.match, destination: cover },
    level: rule.level,
    ttlSeconds: rule.ttlSeconds,
  });
  const { allowed, ...verdict } = input.rpki.verdict({
    kind: 'flowspec',
    announced: cover,
    covering: protectedBy(policy, cover) ?? cover,
    originAs: policy.asn ?? 0,
    mode: policy.defaults.rpki,
  });
  if (!allowed) return undefined;
  const seen = new Set<string>();
  const listed = input.active.some((a) => a.rule.id === aggRule.id && !withdrawn.has(aggRule.id));
  const withdraws: Op[] = [...input.active]
    .sort(byId)
    .filter(
      (a) =>
        a.rule.kind === 'flowspec' &&
        a.rule.tenant === rule.tenant &&
        !withdrawn.has(a.rule.id) &&
        a.rule.id !== aggRule.id &&
        !seen.has(a.rule.id) &&
        seen.add(a.rule.id),
    )
    .filter(
      (a) =>
        cover.contains((a.rule as FlowSpecRule).match.destination) && shape(a.rule as FlowSpecRule) === shape(rule),
    )
    .map((a) => ({
      type: 'withdraw' as const,
      rule: a.rule,
      via: a.via,
      rendered: renderedBy(input.renderWithdraw, a.rule, a.via),
      reason: { summary: `aggregated into ${aggRule.id} (${cover}) at the rule cap`, level: a.rule.level },
    }));
  const rendered = renderedBy(input.render, aggRule, op.via);
  const add: Op = {
    type: listed ? 'refresh' : 'add',
    rule: aggRule,
    via: op.via,
    rendered,
    rpki: verdict,
    reason: { ...op.reason, summary: `${op.reason.summary}; aggregated to ${cover} at the rule cap` },
  };
  return { add, withdraws, listed };
}
