import type { Rule, RuleCounters } from '@ft/sdk';
import type { ActionHandle } from '../exec/actions.js';
import type { CollateralProbe } from '../exec/executor.js';

/** What the probe needs from the detection engine's view of one target. */
export interface TargetTraffic {
  /** Merged inbound packets per second now. */
  pps: number;
  /** The learnt normal level, or undefined while the baseline is still learning. */
  baselinePps?: number;
}

/**
 * Legitimate traffic toward a rule's target, from the engine's view and the rule's own match counters:
 *   before the rule: the target's learnt baseline (what it normally receives);
 *   after: what reaches the target minus what the rule matched (per second, from Action.counters() deltas).
 * Where the mechanism keeps no counters the matched part is taken as zero, which overstates legitimate traffic:
 * the probe errs toward keeping a rule, never toward a false rollback.
 */
export class EngineCollateralProbe implements CollateralProbe {
  private readonly last = new Map<string, { packets: number; at: number }>();
  private readonly counterCache = new Map<string, { at: number; counters: RuleCounters[] }>();

  constructor(
    private readonly traffic: (target: string) => TargetTraffic | undefined,
    private readonly actions: Map<string, ActionHandle>,
    private readonly now: () => number = Date.now,
  ) {}

  async legitRate(rule: Rule, via: string[]): Promise<number | undefined> {
    const t = this.traffic(rule.target.toString());
    if (!t) return undefined;
    // No adapter carries it yet (the check before apply): the baseline is the measure of normal.
    if (via.length === 0) return t.baselinePps;
    const matched = await this.matchedPps(rule, via);
    return Math.max(0, t.pps - matched);
  }

  /** One counters() call per adapter per round, however many rules are being watched on it. */
  private async countersOf(name: string, h: ActionHandle, now: number): Promise<RuleCounters[]> {
    const cached = this.counterCache.get(name);
    if (cached && now - cached.at < 500) return cached.counters;
    const counters = await (h.action.counters?.() ?? Promise.resolve([])).catch(() => [] as RuleCounters[]);
    this.counterCache.set(name, { at: now, counters });
    return counters;
  }

  private async matchedPps(rule: Rule, via: string[]): Promise<number> {
    let total = 0;
    const now = this.now();
    for (const name of via) {
      const h = this.actions.get(name);
      if (!h?.action.counters) continue;
      const counters = await this.countersOf(name, h, now);
      const c = counters.find((x) => x.ruleId === rule.id);
      if (!c) continue;
      const key = `${name}\u0000${rule.id}`;
      const prev = this.last.get(key);
      this.last.set(key, { packets: c.packets, at: now });
      if (prev && now > prev.at && c.packets >= prev.packets)
        total += ((c.packets - prev.packets) * 1000) / (now - prev.at);
    }
    return total;
  }
}
