import { isPrefix, Prefix, type IncidentEvidence, type Sample, type Severity } from '@ft/sdk';
import type { Incident } from '../model/incident.js';
import { DEFAULT_DETECTION, type DetectionSettings, type HostGroupSettings } from '../model/detection.js';
import { Baseline } from './baseline.js';
import { classify, type Classification } from './classify.js';
import { incidentId, toIncident, type IncidentFacts } from './incident.js';
import { mergeReadings, SourceWindow, type Reading, type SourceReading } from './reading.js';
import {
  isOver,
  isQuiet,
  overload,
  severityFor,
  targetPolicy,
  threshold,
  type TargetKind,
  type TargetPolicy,
  type Threshold,
} from './thresholds.js';

export interface DetectionEvent {
  type: 'open' | 'update' | 'resolve';
  incident: Incident;
}

export type DetectionListener = (event: DetectionEvent) => void;

export interface EngineLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
}

export interface DetectionEngineOptions {
  settings?: DetectionSettings;
  /** ms since the epoch; tests pass a controllable clock. */
  clock?: () => number;
  logger?: EngineLogger;
}

export type TargetState = 'learning' | 'normal' | 'attack';

export interface TargetView {
  target: string;
  prefix?: string;
  state: TargetState;
  /** Merged inbound rates: the highest any source reports. */
  pps: number;
  bps: number;
  /** Outbound rates, where a source reports them (not used for detection). */
  out?: { pps: number; bps: number };
  sources: { source: string; sourceKind: string; direction: 'in' | 'out'; pps: number; bps: number; at: string }[];
  baseline: { pps: number; bps: number; samples: number; window: number; learning: boolean; frozen: boolean };
  threshold: Threshold;
  /** Family and severity of the attack under way (also for targets without an address, which open no incident). */
  alarm?: {
    family: Classification['family'];
    vector: Classification['vector'];
    severity: Severity;
    since: string;
    reasons: string[];
  };
  incident?: Incident;
}

/** A source whose newest sample is older than its window plus this grace is no longer counted. */
const STALE_GRACE_MS = 2000;
/** Samples may end at most this far ahead of the engine's clock. */
const MAX_CLOCK_SKEW_MS = 5000;
/** Targets nobody has reported for this long (and not under attack) are forgotten. */
const TARGET_IDLE_MS = 10 * 60_000;
/** An open incident is re-announced this often while over threshold, so consumers see current rates. */
const UPDATE_EVERY_MS = 1000;
/** Or sooner, when a peak grows by more than this factor. */
const PEAK_STEP = 1.1;
/** ...but not more often than this, so a ramping flood does not produce an update per tick. */
const PEAK_UPDATE_MIN_MS = 250;

interface Episode {
  id: string;
  startedAt: number;
  updatedAt: number;
  resolvedAt?: number;
  classification: Classification;
  current: Reading;
  attack: Reading;
  peakPps: number;
  peakBps: number;
  peakTimes: number;
  sources: Set<string>;
  quietSince?: number;
  emitted?: { at: number; key: string; peakPps: number; peakBps: number };
  /** What packet captures reported about this incident (Detector.observe), merged field by field. */
  evidence?: IncidentEvidence;
}

interface Target {
  key: string;
  prefix?: Prefix;
  /** A host group's aggregate (target `group:NAME`): one incident per member. */
  group?: HostGroupSettings;
  inbound: Map<string, SourceWindow>;
  outbound: Map<string, SourceWindow>;
  baseline: Baseline;
  policy: TargetPolicy;
  lastPushAt?: number;
  lastSampleAt: number;
  merged: Reading;
  fresh: SourceReading[];
  /** A sample arrived since the merged reading was computed. */
  dirty: boolean;
  threshold: Threshold;
  episode?: Episode;
}

/**
 * Decides, per target, whether it is under attack, of what kind, and how badly. Detectors feed it samples with
 * ingest(); every tick (default 100 ms) it evaluates each target over a sliding window (default 1 s) against its
 * baseline and thresholds, and reports incidents opening, changing and resolving.
 */
export class DetectionEngine {
  readonly settings: DetectionSettings;
  private readonly clock: () => number;
  private readonly logger: EngineLogger | undefined;
  private readonly targets = new Map<string, Target>();
  private readonly groups: Map<string, HostGroupSettings>;
  private readonly listeners = new Set<DetectionListener>();
  private timer: NodeJS.Timeout | undefined;
  private rejected = 0;

  constructor(options: DetectionEngineOptions = {}) {
    this.settings = checkSettings(options.settings ?? DEFAULT_DETECTION);
    this.groups = new Map((this.settings.groups ?? []).map((g) => [g.name, g]));
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger;
  }

  /** Takes one detector reading. A malformed sample is dropped with a warning naming its source; nothing throws. */
  ingest(sample: Sample): void {
    const problem = sampleProblem(sample) ?? this.futureProblem(sample);
    if (problem) {
      this.rejected++;
      // The first few in full, then every 1000th: a broken detector must not flood the log.
      if (this.rejected <= 5 || this.rejected % 1000 === 0) {
        this.logger?.warn(
          { source: (sample as Partial<Sample>)?.source, rejected: this.rejected },
          `detection: sample dropped: ${problem}`,
        );
      }
      return;
    }
    const target = this.target(sample);
    const side = sample.direction === 'out' ? target.outbound : target.inbound;
    let window = side.get(sample.source);
    if (!window) side.set(sample.source, (window = new SourceWindow(sample.source, sample.sourceKind)));
    window.push(sample, this.settings.windowMs);
    if (sample.direction === 'in') target.dirty = true;
    target.lastSampleAt = Math.max(target.lastSampleAt, sample.at);
    // Running on its own timer: judge the target as soon as news arrives rather than at the next tick (saves up to
    // a tick of latency). Driven by hand (tests, replays), only tick() evaluates, so its return value is complete.
    if (this.timer && sample.direction === 'in') this.publish(this.evaluateNow(target, this.clock()));
  }

  /** A sample from the future (a remote detector with a skewed clock) would pin its source's window there. */
  private futureProblem(s: Sample): string | undefined {
    const ahead = s.at - this.clock();
    return ahead > MAX_CLOCK_SKEW_MS
      ? `from ${s.source} for ${s.target}: ends ${Math.round(ahead / 1000)} s in the future (clock skew?)`
      : undefined;
  }

  private evaluateNow(t: Target, now: number): DetectionEvent[] {
    const events: DetectionEvent[] = [];
    this.evaluate(t, now, events);
    return events;
  }

  private publish(events: DetectionEvent[]): void {
    for (const e of events) {
      for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          this.logger?.warn({ err }, 'detection: an incident listener threw');
        }
      }
    }
  }

  /** Evaluates every target at `now` and returns (and hands to listeners) the incident events it produced. */
  tick(now: number = this.clock()): DetectionEvent[] {
    const events: DetectionEvent[] = [];
    for (const [key, t] of this.targets) {
      this.evaluate(t, now, events);
      if (!t.episode && now - t.lastSampleAt > TARGET_IDLE_MS) this.targets.delete(key);
    }
    this.publish(events);
    return events;
  }

  /** Subscribes to incident events; returns the unsubscribe function. */
  on(listener: DetectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ticks on its own timer every settings.tickMs until stop(), and evaluates a target whenever a sample for it arrives. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.settings.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Attaches packet evidence (verdicts, IOC matches, the capture) to an open incident and announces the incident
   * again at once as an update, so the planner sees the verdicts. Later evidence replaces earlier fields. Returns
   * false when no open incident has that id (it resolved meanwhile: the capture keeps what it found).
   */
  addEvidence(incidentId: string, evidence: IncidentEvidence, now: number = this.clock()): boolean {
    for (const t of this.targets.values()) {
      const e = t.episode;
      if (!e || !this.incidentTargets(t, e).some((x) => x.id === incidentId)) continue;
      e.evidence = { ...e.evidence, ...evidence };
      const events: DetectionEvent[] = [];
      this.emit(e, t, 'update', now, events);
      this.publish(events);
      return true;
    }
    return false;
  }

  /** Open incidents, for consumers that join late. */
  openIncidents(): Incident[] {
    const out: Incident[] = [];
    for (const t of this.targets.values())
      if (t.episode)
        for (const x of this.incidentTargets(t, t.episode))
          out.push(toIncident(this.facts(t.episode, t, x.prefix, x.id, 'open')));
    return out;
  }

  /** Per-target state as of the last tick, sorted by target. */
  view(): TargetView[] {
    return [...this.targets.values()]
      .sort((a, b) => a.key.localeCompare(b.key))
      .map((t) => {
        const sources: TargetView['sources'] = [];
        const add = (m: Map<string, SourceWindow>, direction: 'in' | 'out') => {
          for (const w of m.values()) {
            const r = w.reading(this.settings.windowMs);
            if (r)
              sources.push({
                source: r.source,
                sourceKind: r.sourceKind,
                direction,
                pps: Math.round(r.pps),
                bps: Math.round(r.bps),
                at: new Date(r.at).toISOString(),
              });
          }
        };
        add(t.inbound, 'in');
        add(t.outbound, 'out');
        const v: TargetView = {
          target: t.key,
          state: t.episode ? 'attack' : t.baseline.learning ? 'learning' : 'normal',
          pps: Math.round(t.merged.pps),
          bps: Math.round(t.merged.bps),
          sources,
          baseline: {
            pps: t.baseline.ppsLevel,
            bps: t.baseline.bpsLevel,
            samples: t.baseline.samples,
            window: t.baseline.shape.window,
            learning: t.baseline.learning,
            frozen: t.baseline.isFrozen,
          },
          threshold: { ...t.threshold },
        };
        if (t.prefix) v.prefix = t.prefix.toString();
        const outs = sources.filter((s) => s.direction === 'out');
        if (outs.length > 0)
          v.out = { pps: Math.max(...outs.map((s) => s.pps)), bps: Math.max(...outs.map((s) => s.bps)) };
        if (t.episode) {
          const e = t.episode;
          v.alarm = {
            family: e.classification.family,
            vector: [...e.classification.vector],
            severity: this.severity(e),
            since: new Date(e.startedAt).toISOString(),
            reasons: [...e.classification.reasons],
          };
          const [first] = this.incidentTargets(t, e);
          if (first) v.incident = toIncident(this.facts(e, t, first.prefix, first.id, 'open'));
        }
        return v;
      });
  }

  private target(sample: Sample): Target {
    let t = this.targets.get(sample.target);
    if (t?.prefix) return t;
    // Whether the target's pps is requests/s is fixed by its first sample: sites (site:NAME) only ever get l7 ones.
    const requests = isRequestSample(sample);
    // Re-made from its bytes: a plugin's Prefix may come from its own copy of the sdk; incidents carry ours.
    const prefix =
      sample.prefix && isPrefix(sample.prefix)
        ? Prefix.fromBytes(sample.prefix.bytes, sample.prefix.length, { truncate: true })
        : undefined;
    if (!t) {
      t = {
        key: sample.target,
        inbound: new Map(),
        outbound: new Map(),
        baseline: new Baseline(this.settings.baseline),
        policy: targetPolicy(this.settings, prefix, requests, this.kindOf(sample.target, prefix)),
        lastSampleAt: sample.at,
        merged: { pps: 0, bps: 0 },
        fresh: [],
        dirty: true,
        threshold: {},
      };
      if (prefix) t.prefix = prefix;
      const group = this.groupOf(sample.target);
      if (group && !prefix) t.group = group;
      t.threshold = threshold(t.policy, t.baseline);
      this.targets.set(sample.target, t);
    } else if (!t.prefix && prefix) {
      // A later source knows the address (e.g. flows for a target first seen by name): overrides may now apply.
      t.prefix = prefix;
      t.policy = targetPolicy(this.settings, prefix, t.policy.requests === true, this.kindOf(t.key, prefix));
      t.threshold = threshold(t.policy, t.baseline);
    }
    return t;
  }

  private evaluate(t: Target, now: number, events: DetectionEvent[]): void {
    const { windowMs } = this.settings;
    // Readings only change when a sample arrives or a source goes stale: recompute the merge only then.
    let freshCount = 0;
    for (const w of t.inbound.values()) if (now - w.lastAt <= windowMs + STALE_GRACE_MS) freshCount++;
    if (t.dirty || freshCount !== t.fresh.length) {
      t.fresh = [];
      for (const w of t.inbound.values()) {
        if (now - w.lastAt > windowMs + STALE_GRACE_MS) continue;
        const r = w.reading(windowMs);
        if (r) t.fresh.push(r);
      }
      t.merged = mergeReadings(t.fresh);
      t.dirty = false;
    }
    const over = isOver(t.merged, t.threshold);

    if (!t.episode && over) this.open(t, now, events);
    else if (t.episode) this.continueEpisode(t, t.episode, over, now, events);

    // One baseline reading per elapsed second (frozen while an incident is open).
    // The first tick already covers one tick of traffic.
    if (t.lastPushAt === undefined) t.lastPushAt = now - this.settings.tickMs;
    const behind = now - t.lastPushAt;
    if (behind >= 1000) {
      // After a long stall, record one reading rather than replaying the gap with the same value.
      const pushes = behind > 10_000 ? 1 : Math.floor(behind / 1000);
      for (let i = 0; i < pushes; i++) t.baseline.push(t.merged.pps, t.merged.bps);
      t.lastPushAt = behind > 10_000 ? now : t.lastPushAt + pushes * 1000;
      // What view() shows and the next tick compares with.
      t.threshold = threshold(t.policy, t.baseline);
    }
  }

  private open(t: Target, now: number, events: DetectionEvent[]): void {
    t.baseline.freeze();
    const classification = classify(t.merged);
    const times = overload(t.merged, t.threshold);
    const e: Episode = {
      id: incidentId(t.key, now),
      startedAt: now,
      updatedAt: now,
      classification,
      current: t.merged,
      attack: t.merged,
      peakPps: t.merged.pps,
      peakBps: t.merged.bps,
      peakTimes: times,
      sources: new Set(t.fresh.filter((r) => r.pps > 0 || r.bps > 0).map((r) => r.source)),
    };
    t.episode = e;
    this.logger?.info(
      {
        target: t.key,
        family: classification.family,
        vector: classification.vector,
        pps: Math.round(t.merged.pps),
        bps: Math.round(t.merged.bps),
        threshold: t.threshold,
      },
      t.prefix || t.group
        ? 'detection: incident opened'
        : 'detection: attack on a target with no address (map the interface to an address to open incidents)',
    );
    this.emit(e, t, 'open', now, events);
  }

  private continueEpisode(t: Target, e: Episode, over: boolean, now: number, events: DetectionEvent[]): void {
    e.current = t.merged;
    if (over) {
      e.quietSince = undefined;
      e.attack = t.merged;
      e.classification = classify(t.merged);
      e.peakPps = Math.max(e.peakPps, t.merged.pps);
      e.peakBps = Math.max(e.peakBps, t.merged.bps);
      e.peakTimes = Math.max(e.peakTimes, overload(t.merged, t.threshold));
      for (const r of t.fresh) if (r.pps > 0 || r.bps > 0) e.sources.add(r.source);
      e.updatedAt = now;
      if (this.shouldUpdate(e, now)) this.emit(e, t, 'update', now, events);
      return;
    }
    if (!isQuiet(t.merged, t.threshold, this.settings.resolveRatio)) {
      // Between the resolve level and the threshold: still the same attack (hysteresis).
      e.quietSince = undefined;
      return;
    }
    e.quietSince ??= now;
    if (now - e.quietSince < this.settings.resolveAfterMs) return;
    e.resolvedAt = now;
    e.updatedAt = now;
    t.episode = undefined;
    t.baseline.thaw();
    this.logger?.info({ target: t.key, id: e.id, durationMs: now - e.startedAt }, 'detection: incident resolved');
    this.emit(e, t, 'resolve', now, events);
  }

  private severity(e: Episode): Severity {
    return severityFor(e.peakTimes, this.settings.severity);
  }

  /** Host group settings for a `group:NAME` target the policy defines. */
  private groupOf(target: string): HostGroupSettings | undefined {
    return target.startsWith('group:') ? this.groups.get(target.slice('group:'.length)) : undefined;
  }

  private kindOf(target: string, prefix: Prefix | undefined): TargetKind {
    const group = prefix ? undefined : this.groupOf(target);
    if (group) return { kind: 'group', group };
    return prefix && !prefix.isHost ? { kind: 'prefix' } : { kind: 'host' };
  }

  /**
   * What an episode's incidents are about: the target's address, or for a host group each member (one incident
   * per member prefix, each naming the group: mitigation is per prefix). None for a target without an address.
   */
  private incidentTargets(t: Target, e: Episode): { prefix: Prefix; id: string }[] {
    if (t.prefix) return [{ prefix: t.prefix, id: e.id }];
    if (t.group) return t.group.members.map((m) => ({ prefix: m, id: incidentId(`${t.key}|${m}`, e.startedAt) }));
    return [];
  }

  private facts(e: Episode, t: Target, prefix: Prefix, id: string, state: 'open' | 'resolved'): IncidentFacts {
    const f: IncidentFacts = {
      id,
      target: prefix,
      state,
      startedAt: e.startedAt,
      updatedAt: e.updatedAt,
      severity: this.severity(e),
      classification: e.classification,
      current: e.current,
      attack: e.attack,
      peakPps: e.peakPps,
      peakBps: e.peakBps,
      sources: [...e.sources],
    };
    if (e.resolvedAt !== undefined) f.resolvedAt = e.resolvedAt;
    if (e.evidence) f.evidence = e.evidence;
    if (t.group) f.group = t.group.name;
    return f;
  }

  private key(e: Episode): string {
    return `${e.classification.family}|${e.classification.vector.join(',')}|${this.severity(e)}|${[...e.sources].sort().join(',')}`;
  }

  private shouldUpdate(e: Episode, now: number): boolean {
    const last = e.emitted;
    if (!last) return true;
    return (
      last.key !== this.key(e) ||
      (now - last.at >= PEAK_UPDATE_MIN_MS &&
        (e.peakPps > last.peakPps * PEAK_STEP || e.peakBps > last.peakBps * PEAK_STEP)) ||
      now - last.at >= UPDATE_EVERY_MS
    );
  }

  private emit(e: Episode, t: Target, type: DetectionEvent['type'], now: number, events: DetectionEvent[]): void {
    e.emitted = { at: now, key: this.key(e), peakPps: e.peakPps, peakBps: e.peakBps };
    const state = type === 'resolve' ? 'resolved' : 'open';
    for (const x of this.incidentTargets(t, e))
      events.push({ type, incident: toIncident(this.facts(e, t, x.prefix, x.id, state)) });
  }
}

function sampleProblem(s: Sample): string | undefined {
  if (typeof s !== 'object' || s === null) return 'not an object';
  if (typeof s.source !== 'string' || s.source === '') return 'no source name';
  if (typeof s.target !== 'string' || s.target === '') return `from ${s.source}: no target`;
  const finite = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (!finite(s.at)) return `from ${s.source} for ${s.target}: "at" is not a time`;
  if (!finite(s.windowMs) || s.windowMs <= 0) return `from ${s.source} for ${s.target}: windowMs must be > 0`;
  if (!finite(s.pps) || !finite(s.bps)) return `from ${s.source} for ${s.target}: pps/bps must be finite and >= 0`;
  if (s.direction !== 'in' && s.direction !== 'out')
    return `from ${s.source} for ${s.target}: direction must be in or out`;
  if (
    s.protocols &&
    !['tcp', 'udp', 'icmp', 'other'].every((k) => finite((s.protocols as Record<string, unknown>)[k]))
  ) {
    return `from ${s.source} for ${s.target}: protocol rates must be finite and >= 0`;
  }
  return undefined;
}

function checkSettings(s: DetectionSettings): DetectionSettings {
  const bad = (why: string) => new RangeError(`detection settings: ${why}`);
  if (!(s.tickMs > 0)) throw bad(`tickMs must be > 0, got ${s.tickMs}`);
  if (!(s.windowMs >= s.tickMs)) throw bad(`windowMs (${s.windowMs}) must be at least tickMs (${s.tickMs})`);
  if (!(s.baseline.factor > 0)) throw bad(`baseline factor must be > 0, got ${s.baseline.factor}`);
  if (!(s.resolveRatio > 0 && s.resolveRatio <= 1)) throw bad(`resolveRatio must be in (0, 1], got ${s.resolveRatio}`);
  if (!(s.resolveAfterMs >= 0)) throw bad(`resolveAfterMs must be >= 0, got ${s.resolveAfterMs}`);
  const { medium, high, critical } = s.severity;
  if (!(medium <= high && high <= critical)) throw bad('severity scale must rise: medium <= high <= critical');
  return s;
}

/** A sample whose pps is requests/s: from the l7 detector, or carrying an HTTP breakdown. */
function isRequestSample(s: Sample): boolean {
  return s.sourceKind === 'l7' || s.http !== undefined;
}
