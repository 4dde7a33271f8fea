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
 *   after: what the rule let through to its target, where its mechanism counts that (`passed`: nft, iptables,
 *   ipset); otherwise what reaches the target minus what the rule matched (per second, from counters() deltas).
 *   The difference of two rates measured over different intervals is only an estimate, and a useless one when the
 *   attack dwarfs the legitimate traffic: 1 % of error in a 50:1 flood is half the legitimate traffic.
 * A network rule (FlowSpec, a cloud filter) drops before the detector's counters, so what still arrives is already
 * net of it. An on-node rule drops after the interface counters: without the rule's own counters (nullroute, ufw,
 * firewalld, CSF) what it dropped is unknown and the rule cannot be judged at all (undefined), rather than judged
 * by traffic that arrives whether the rule drops it or not.
 */
export class EngineCollateralProbe implements CollateralProbe {
  private readonly last = new Map<
    string,
    { at: number; packets: number; passed?: number; matchedRate: number; passedRate?: number }
  >();
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
    const judged = via.filter((name) => {
      const h = this.actions.get(name);
      return h !== undefined && (h.reach === 'network' || h.action.counters !== undefined);
    });
    if (judged.length === 0) return undefined;
    const r = await this.rates(rule, via);
    // What the rule let through to its target, counted by the rule itself: exact, whatever the attack's size.
    if (r.passed === 'first-reading') return undefined;
    if (r.passed !== undefined) return r.passed;
    return Math.max(0, t.pps - r.matched);
  }

  /**
   * One counters() call per adapter per round, however many rules are being watched on it; `at` is when the
   * counters were read, which is what a rate is computed over (a cached reading is the same instant).
   */
  private async countersOf(
    name: string,
    h: ActionHandle,
    now: number,
  ): Promise<{ at: number; counters: RuleCounters[] }> {
    const cached = this.counterCache.get(name);
    if (cached && now - cached.at < 500) return cached;
    const counters = await (h.action.counters?.() ?? Promise.resolve([])).catch(() => [] as RuleCounters[]);
    const reading = { at: now, counters };
    this.counterCache.set(name, reading);
    return reading;
  }

  /**
   * Per second between the two latest readings: what the rule matched (summed over its adapters) and, where the
   * mechanism counts it, what it let through to its target (the least of its adapters: traffic passes them one after
   * another; 'first-reading' until there are two readings to take a difference of).
   */
  private async rates(rule: Rule, via: string[]): Promise<{ matched: number; passed?: number | 'first-reading' }> {
    let matched = 0;
    let passed: number | 'first-reading' | undefined;
    const now = this.now();
    for (const name of via) {
      const h = this.actions.get(name);
      if (!h?.action.counters) continue;
      const { at, counters } = await this.countersOf(name, h, now);
      const c = counters.find((x) => x.ruleId === rule.id);
      if (!c) continue;
      const key = `${name}\u0000${rule.id}`;
      let r = this.last.get(key);
      // A new reading: the rates over the time since the previous one. The same reading again: the same rates.
      if (!r || r.at !== at) {
        const dt = r ? at - r.at : 0;
        const rate = (was: number | undefined, is: number | undefined) =>
          was !== undefined && is !== undefined && dt > 0 && is >= was ? ((is - was) * 1000) / dt : undefined;
        r = {
          at,
          packets: c.packets,
          ...(c.passed !== undefined ? { passed: c.passed } : {}),
          matchedRate: rate(r?.packets, c.packets) ?? 0,
          ...(rate(r?.passed, c.passed) !== undefined ? { passedRate: rate(r?.passed, c.passed) } : {}),
        };
        this.last.set(key, r);
      }
      matched += r.matchedRate;
      if (c.passed === undefined || passed === 'first-reading') continue;
      if (r.passedRate === undefined) passed = 'first-reading';
      else passed = passed === undefined ? r.passedRate : Math.min(passed, r.passedRate);
    }
    return { matched, ...(passed !== undefined ? { passed } : {}) };
  }
}
