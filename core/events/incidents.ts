import type { Incident, Rule } from '@ft/sdk';
import { ruleFacts } from './facts.js';
import type { Plan } from '../model/plan.js';
import { draft, type EventAppender, type EventDraft, type EventLogger } from './log.js';

/** What the detection engine reports (core/detect's DetectionEngine.on fits). */
export interface EngineIncidentEvent {
  type: 'open' | 'update' | 'resolve';
  incident: Incident;
}

/** Live rules of an incident, as the store holds them (for the level the cooldown still keeps, and rule.held). */
export type LiveRules = (incidentId: string) => Promise<{ rule: Rule; via: string[] }[]>;

export interface IncidentEventsOptions {
  events: EventAppender;
  logger?: EventLogger;
  now?: () => number;
  /** incident.updated at most this often per incident (default 10 s). */
  coalesceMs?: number;
  /** A peak must rise by this fraction to count as a change (default 0.1). */
  peakStep?: number;
  /** A current rate must move by this fraction (either way) to count (default 0.25). */
  rateStep?: number;
  liveRules?: LiveRules;
}

interface Tracked {
  opened: number;
  /** The incident as last reported in an event. */
  reported: Incident;
  reportedAt: number;
  level: number;
  maxLevel: number;
  pending?: { incident: Incident; changed: Set<string>; count: number };
  /** Updates folded in since the last incident.updated. */
  folded: number;
}

const NETWORK = new Set(['flowspec', 'rtbh', 'divert']);

/**
 * The incident side of the stream: opened and resolved as detection reports them, escalated / de-escalated when
 * the incident's level changes (the highest level of its network rules the plan wants or the cooldown still
 * holds), and updated — coalesced — when rates, peaks, vectors or the family change by more than the noise.
 * Nothing here is awaited by detection or mitigation: events are appended in order and any failure is logged.
 */
export class IncidentEvents {
  private readonly open = new Map<string, Tracked>();
  private readonly now: () => number;

  constructor(private readonly o: IncidentEventsOptions) {
    this.now = o.now ?? Date.now;
  }

  private readonly inflight = new Set<Promise<unknown>>();
  /** Holds already reported: rule id → the cooldown's end. */
  private readonly held = new Map<string, number>();

  private emit(drafts: EventDraft[]): void {
    if (drafts.length === 0) return;
    this.track(
      this.o.events
        .append(drafts)
        .catch((err: Error) =>
          this.o.logger?.error(
            { err: err.message, types: drafts.map((d) => d.type) },
            'could not record incident events',
          ),
        ),
    );
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Resolves once every event asked for so far is written (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  onEngine(e: EngineIncidentEvent): void {
    const now = this.now();
    const i = e.incident;
    const t = this.open.get(i.id);
    if (e.type === 'open' && !t) {
      this.open.set(i.id, { opened: now, reported: i, reportedAt: now, level: 0, maxLevel: 0, folded: 0 });
      this.emit([draft('incident.opened', { incident: i }, { at: now })]);
      return;
    }
    if (e.type === 'resolve') {
      if (!t && this.seenResolved(i.id)) return;
      this.open.delete(i.id);
      this.markResolved(i.id);
      const durationMs = Math.max(0, (i.resolvedAt ?? now) - i.startedAt);
      this.emit([
        draft(
          'incident.resolved',
          { incident: i, durationMs, ...(t && t.maxLevel > 0 ? { level: t.maxLevel } : {}) },
          { at: now },
        ),
      ]);
      return;
    }
    if (!t) {
      // An update for an incident this process never saw open (ft restarted during the attack): it is open now.
      if (this.seenResolved(i.id)) return;
      this.open.set(i.id, { opened: now, reported: i, reportedAt: now, level: 0, maxLevel: 0, folded: 0 });
      this.emit([draft('incident.opened', { incident: i }, { at: now })]);
      return;
    }
    const changed = this.changes(t.reported, i);
    t.folded++;
    if (changed.length === 0) return;
    const p = t.pending ?? { incident: i, changed: new Set<string>(), count: 0 };
    p.incident = i;
    for (const c of changed) p.changed.add(c);
    t.pending = p;
    this.flushOne(t, now);
  }

  /** What moved enough to tell anyone, between what was last reported and now. */
  private changes(a: Incident, b: Incident): string[] {
    const peak = this.o.peakStep ?? 0.1;
    const rate = this.o.rateStep ?? 0.25;
    const out: string[] = [];
    if (b.peakBps > a.peakBps * (1 + peak)) out.push('peak_bps');
    if (b.peakPps > a.peakPps * (1 + peak)) out.push('peak_pps');
    const moved = (x: number, y: number) => Math.abs(y - x) > rate * Math.max(x, 1);
    if (moved(a.bps, b.bps)) out.push('bps');
    if (moved(a.pps, b.pps)) out.push('pps');
    if (a.vectors.join(',') !== b.vectors.join(',')) out.push('vector');
    if (a.family !== b.family) out.push('attack_family');
    if (a.severity !== b.severity) out.push('severity');
    if (a.spoofed !== b.spoofed) out.push('spoofing_detected');
    if (a.botnet !== b.botnet) out.push('botnet_detected');
    return out;
  }

  private flushOne(t: Tracked, now: number): void {
    const p = t.pending;
    if (!p || now - t.reportedAt < (this.o.coalesceMs ?? 10_000)) return;
    t.pending = undefined;
    t.reported = p.incident;
    t.reportedAt = now;
    const coalesced = t.folded;
    t.folded = 0;
    this.emit([draft('incident.updated', { incident: p.incident, changed: [...p.changed], coalesced }, { at: now })]);
  }

  /** Emits the coalesced updates whose window has passed (the daemon calls it every second). */
  tick(): void {
    const now = this.now();
    for (const t of this.open.values()) this.flushOne(t, now);
  }

  /**
   * After a plan for an incident: its level now is the highest level among the network rules the plan adds or
   * refreshes and those of its live rules the plan does not withdraw (the cooldown keeps them on the wire).
   */
  onPlan(incident: Incident, plan: Plan): Promise<void> {
    const p = this.planned(incident, plan).catch((err: Error) =>
      this.o.logger?.error({ err: err.message, incidentId: incident.id }, 'could not work out the incident level'),
    );
    this.track(p);
    return p;
  }

  private async planned(incident: Incident, plan: Plan): Promise<void> {
    const t = this.open.get(incident.id);
    if (!t) return;
    const withdrawn = new Set<string>(plan.ops.filter((op) => op.type === 'withdraw').map((op) => op.rule.id));
    const wanted = plan.ops
      .filter((op) => op.type !== 'withdraw' && NETWORK.has(op.rule.kind))
      .map((op) => op.rule.level);
    const live = this.o.liveRules ? await this.o.liveRules(incident.id).catch(() => []) : [];
    const levels = [...wanted];
    for (const r of live) if (!withdrawn.has(r.rule.id) && NETWORK.has(r.rule.kind)) levels.push(r.rule.level);
    const level = Math.max(0, ...levels);
    const drafts: EventDraft[] = [];
    // The cooldown holding a higher level on the wire (the planner's note says so; the RuleBook will say it itself).
    for (const note of plan.notes) {
      const m = /^held (\S+) \(\S+, level (\d+)\): (.*), but the cooldown keeps it until (\S+)$/.exec(note);
      if (!m) continue;
      const until = Date.parse(m[4] as string);
      const rec = live.find((r) => r.rule.id === m[1]);
      if (!rec || this.held.get(rec.rule.id) === until) continue;
      this.held.set(rec.rule.id, until);
      if (this.held.size > 10_000) this.held.delete(this.held.keys().next().value as string);
      drafts.push(
        draft('rule.held', {
          ...ruleFacts(rec.rule, { via: rec.via, incidentId: incident.id, plannedBy: 'planner' }),
          until,
          wantedLevel: Math.max(0, ...wanted),
          message: note,
        }),
      );
    }
    if (this.open.has(incident.id) && level !== t.level) {
      const previousLevel = t.level;
      t.level = level;
      t.maxLevel = Math.max(t.maxLevel, level);
      const why = plan.ops.find((op) => op.type !== 'withdraw' && op.rule.level === level)?.reason.summary;
      const down = plan.ops.find((op) => op.type === 'withdraw' && op.rule.level === previousLevel)?.reason.summary;
      const reason = level > previousLevel ? why : down;
      drafts.unshift(
        draft(level > previousLevel ? 'incident.escalated' : 'incident.deescalated', {
          incident,
          level,
          previousLevel,
          ...(reason ? { reason } : {}),
        }),
      );
    }
    this.emit(drafts);
  }

  private readonly resolvedIds = new Set<string>();
  private markResolved(id: string): void {
    this.resolvedIds.add(id);
    if (this.resolvedIds.size > 10_000) this.resolvedIds.delete(this.resolvedIds.values().next().value as string);
  }
  private seenResolved(id: string): boolean {
    return this.resolvedIds.has(id);
  }
}
