import type { Prefix, Severity } from '@ft/sdk';
import type {
  AggregateLimits,
  DetectionSettings,
  HostGroupSettings,
  HttpLimits,
  RateLimits,
} from '../model/detection.js';
import type { Baseline } from './baseline.js';

/**
 * Floors used when the policy sets none, so an idle box (baseline near zero) does not call a download an attack.
 * A policy floor of any value replaces these.
 */
export const BUILTIN_FLOOR: Required<RateLimits> = { pps: 1000, bps: 10_000_000 };

/**
 * The request-rate floor for HTTP targets when the policy sets none: a crawler or a page with many assets bursts
 * to tens of requests/s, while a few hundred requests/s of uncached pages already hurt a small dynamic site.
 */
export const BUILTIN_HTTP_FLOOR_RPS = 100;

/** The settings that apply to one target after its most specific override. */
export interface TargetPolicy {
  factor: number;
  floor: Required<RateLimits>;
  static?: RateLimits;
  /** The override prefix that applied, if any. */
  override?: Prefix;
  /** An HTTP target: its pps is requests/s and its floor/static come from the request-rate settings. */
  requests?: true;
  /** Judged as an aggregate (a protected prefix as a whole, or this host group) by `aggregate` thresholds. */
  aggregate?: 'prefix' | { group: string };
}

/** What kind of target a Sample is about, for its thresholds. */
export type TargetKind = { kind: 'host' } | { kind: 'prefix' } | { kind: 'group'; group: HostGroupSettings };

/**
 * What one target is judged by. `requests` marks an HTTP target (samples from the l7 detector): the packet floor
 * and static pps of a policy would be in the wrong unit there, so its pps dimension uses `settings.http`. Settings
 * from a policy always carry `http`; without it (ft detect with no --policy, where --static-pps is documented as
 * requests/s for sites) a site is judged by the one set of limits, as before.
 */
export function targetPolicy(
  settings: DetectionSettings,
  prefix: Prefix | undefined,
  requests = false,
  kind: TargetKind = { kind: 'host' },
): TargetPolicy {
  if (kind.kind === 'group') return aggregatePolicy(settings, undefined, kind.group);
  let best: DetectionSettings['overrides'][number] | undefined;
  if (prefix) {
    for (const o of settings.overrides) {
      if (o.prefix.contains(prefix) && (!best || o.prefix.length > best.prefix.length)) best = o;
    }
  }
  if (requests && settings.http) return requestPolicy(settings, best, settings.http);
  if (kind.kind === 'prefix' && (settings.aggregate !== undefined || best?.aggregate !== undefined))
    return aggregatePolicy(settings, best, undefined);
  const floor = { ...settings.floor, ...best?.floor };
  const staticLimits: RateLimits = { ...settings.static, ...best?.static };
  const policy: TargetPolicy = {
    factor: best?.factor ?? settings.baseline.factor,
    floor: { pps: floor.pps ?? BUILTIN_FLOOR.pps, bps: floor.bps ?? BUILTIN_FLOOR.bps },
  };
  if (staticLimits.pps !== undefined || staticLimits.bps !== undefined) policy.static = staticLimits;
  if (best) policy.override = best.prefix;
  return policy;
}

/**
 * A protected prefix as a whole, or a host group: the host-level global settings, then `detection.aggregate`,
 * then the override's (or the group's) own aggregate thresholds, field by field. A target override's host-level
 * fields do not apply: they are about each host inside it, not their sum.
 */
function aggregatePolicy(
  settings: DetectionSettings,
  best: DetectionSettings['overrides'][number] | undefined,
  group: HostGroupSettings | undefined,
): TargetPolicy {
  const own: AggregateLimits | undefined = group ?? best?.aggregate;
  const floor = { ...settings.floor, ...settings.aggregate?.floor, ...own?.floor };
  const staticLimits: RateLimits = { ...settings.static, ...settings.aggregate?.static, ...own?.static };
  const policy: TargetPolicy = {
    factor: own?.factor ?? settings.aggregate?.factor ?? settings.baseline.factor,
    floor: { pps: floor.pps ?? BUILTIN_FLOOR.pps, bps: floor.bps ?? BUILTIN_FLOOR.bps },
    aggregate: group ? { group: group.name } : 'prefix',
  };
  if (staticLimits.pps !== undefined || staticLimits.bps !== undefined) policy.static = staticLimits;
  if (best) policy.override = best.prefix;
  return policy;
}

function requestPolicy(
  settings: DetectionSettings,
  best: DetectionSettings['overrides'][number] | undefined,
  http: HttpLimits,
): TargetPolicy {
  const floorRps = best?.http?.floor?.rps ?? http.floor?.rps ?? BUILTIN_HTTP_FLOOR_RPS;
  const staticRps = best?.http?.static?.rps ?? http.static?.rps;
  // Bits keep their meaning (sites report 0 bps today); only the pps dimension changes unit.
  const policy: TargetPolicy = {
    factor: best?.factor ?? settings.baseline.factor,
    floor: { pps: floorRps, bps: best?.floor?.bps ?? settings.floor.bps ?? BUILTIN_FLOOR.bps },
    requests: true,
  };
  if (staticRps !== undefined) policy.static = { pps: staticRps };
  if (best) policy.override = best.prefix;
  return policy;
}

export interface Threshold {
  /** A rate above this fires; undefined = this dimension cannot fire (learning without a static threshold). */
  pps?: number;
  bps?: number;
}

/**
 * The rate above which a target is under attack. After learning: factor × the baseline's percentile, never below
 * the floor. A static threshold fires whenever crossed, learning or not, so the lower of the two applies.
 */
export function threshold(policy: TargetPolicy, baseline: Baseline): Threshold {
  const dim = (learned: number, floor: number, fixed: number | undefined): number | undefined => {
    const dynamic = baseline.learning ? undefined : Math.max(policy.factor * learned, floor);
    if (dynamic === undefined) return fixed;
    return fixed === undefined ? dynamic : Math.min(dynamic, fixed);
  };
  const t: Threshold = {};
  const pps = dim(baseline.ppsLevel, policy.floor.pps, policy.static?.pps);
  const bps = dim(baseline.bpsLevel, policy.floor.bps, policy.static?.bps);
  if (pps !== undefined) t.pps = pps;
  if (bps !== undefined) t.bps = bps;
  return t;
}

export function isOver(rate: { pps: number; bps: number }, t: Threshold): boolean {
  return (t.pps !== undefined && rate.pps > t.pps) || (t.bps !== undefined && rate.bps > t.bps);
}

/** How many times the threshold the rate is (the larger of the two dimensions); 0 when nothing can fire. */
export function overload(rate: { pps: number; bps: number }, t: Threshold): number {
  const a = t.pps !== undefined && t.pps > 0 ? rate.pps / t.pps : 0;
  const b = t.bps !== undefined && t.bps > 0 ? rate.bps / t.bps : 0;
  return Math.max(a, b);
}

/** Below threshold × ratio on every dimension that has a threshold: the quiet condition for resolving. */
export function isQuiet(rate: { pps: number; bps: number }, t: Threshold, ratio: number): boolean {
  return (t.pps === undefined || rate.pps < t.pps * ratio) && (t.bps === undefined || rate.bps < t.bps * ratio);
}

export function severityFor(times: number, scale: DetectionSettings['severity']): Severity {
  if (times >= scale.critical) return 'critical';
  if (times >= scale.high) return 'high';
  if (times >= scale.medium) return 'medium';
  return 'low';
}
