import type { Prefix } from '@ft/sdk';

/** Rates a threshold is expressed in; either may be absent (not checked). */
export interface RateLimits {
  pps?: number;
  bps?: number;
}

/**
 * Request-rate limits for targets fed by HTTP samples (sourceKind 'l7', or samples carrying `http`). Their `pps` is
 * requests per second, so the packet floor and static threshold do not apply to them: these do.
 */
export interface HttpLimits {
  floor?: { rps?: number };
  static?: { rps?: number };
}

/**
 * Thresholds for an aggregate target, judged as a whole: a protected prefix's Sample (a carpet bomb spreads a
 * flood over a /24 so that no host crosses its own threshold) or a host group's. Each field replaces the host-level
 * one it names; what is absent keeps the host-level value.
 */
export interface AggregateLimits {
  floor?: RateLimits;
  static?: RateLimits;
  factor?: number;
}

/** A policy host group: named prefixes (hosts or subnets) whose traffic is judged together. */
export interface HostGroupSettings extends AggregateLimits {
  name: string;
  members: Prefix[];
}

/**
 * What the detection engine needs from the policy. The policy loader builds it (units already parsed); the engine
 * uses DEFAULT_DETECTION for anything absent. Defaults follow the reference product: 300-sample window, p99,
 * recalculated every 10 ticks, fire at 3× p99.
 */
export interface DetectionSettings {
  baseline: { window: number; percentile: number; recalcEvery: number; factor: number };
  /** Never fire below these, whatever the baseline says. */
  floor: RateLimits;
  /** Fire when crossed even while the baseline is still learning. */
  static?: RateLimits;
  /**
   * Request-rate floor and static threshold for HTTP targets (default floor: BUILTIN_HTTP_FLOOR_RPS in core/detect).
   * Policies always set it; absent, HTTP targets share the packet limits (the engine used without a policy).
   */
  http?: HttpLimits;
  /**
   * Thresholds for aggregate targets (a protected prefix as a whole, a host group). Absent here and in the
   * override that applies, an aggregate is judged like a host.
   */
  aggregate?: AggregateLimits;
  /** Host groups: their aggregate Samples (target `group:NAME`) are judged by these; incidents name each member. */
  groups: HostGroupSettings[];
  /** Per-target overrides, most specific prefix wins. `aggregate` applies to the override's prefix as a whole. */
  overrides: {
    prefix: Prefix;
    floor?: RateLimits;
    static?: RateLimits;
    http?: HttpLimits;
    factor?: number;
    aggregate?: AggregateLimits;
  }[];
  /** Evaluation tick and the sliding window rates are measured over. */
  tickMs: number;
  windowMs: number;
  /** An attack must stay below threshold × resolveRatio for resolveAfterMs before its incident resolves. */
  resolveRatio: number;
  resolveAfterMs: number;
  /** Severity by how far the rate is above the threshold (multiples of it). */
  severity: { medium: number; high: number; critical: number };
}

export const DEFAULT_DETECTION: DetectionSettings = {
  baseline: { window: 300, percentile: 99, recalcEvery: 10, factor: 3 },
  floor: {},
  groups: [],
  overrides: [],
  tickMs: 100,
  windowMs: 1000,
  resolveRatio: 0.8,
  resolveAfterMs: 10_000,
  severity: { medium: 2, high: 5, critical: 10 },
};
