import { randomUUID } from 'node:crypto';
import type { RuleKind } from '@ft/sdk';
import type { RuleRecord } from '../state/store.js';
import type { Clock, CollateralProbe, ExecLogger, Executor, OpReport } from './executor.js';
import { systemClock } from './executor.js';

export interface LifecycleOptions {
  executor: Executor;
  logger: ExecLogger;
  clock?: Clock;
  /** Collateral-damage rollback: legitimate traffic falling by more than `drop` (0..1) after a rule went in. */
  collateral?: {
    probe: CollateralProbe;
    drop: number;
    /** How long after apply a rule is watched (default 120 s). */
    watchMs?: number;
    /** How long a rolled-back rule may not come back (default 10 min). */
    suppressMs?: number;
    /** Kinds whose purpose is not to drop everything (RTBH and diversion are excluded by design). */
    kinds?: RuleKind[];
  };
  alert?: (message: string, detail: Record<string, unknown>) => void;
}

/** Kinds that are meant to keep legitimate traffic flowing, so a collapse of it means the rule is wrong. */
export const COLLATERAL_KINDS: RuleKind[] = ['host-filter', 'shape', 'flowspec'];

/**
 * Time-driven duties, one `tick()` at a time (the runner calls it every second; tests drive a fake clock):
 * TTL expiry, retries of failed adapters, collateral-damage rollback.
 */
export class Lifecycle {
  private readonly clock: Clock;

  constructor(private readonly opts: LifecycleOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  async tick(): Promise<OpReport[]> {
    const { executor } = this.opts;
    const now = this.clock.now();
    const reports: OpReport[] = [];
    const rules = await executor.store.rules();
    await Promise.all(
      rules.map(async (rec) => {
        let report: OpReport | undefined;
        if (rec.phase === 'live' && Date.parse(rec.expiresAt) <= now) {
          report = await executor.withdraw(rec.rule.id, `TTL of ${rec.rule.ttlSeconds}s expired at ${rec.expiresAt}`, {
            plannedBy: 'lifecycle:ttl',
            ...(rec.incidentId ? { incidentId: rec.incidentId } : {}),
          });
        } else if (rec.phase === 'live' && (await this.collateral(rec, now))) {
          return;
        } else {
          report = await executor.retryDue(rec.rule.id, {
            plannedBy: 'lifecycle:retry',
            ...(rec.incidentId ? { incidentId: rec.incidentId } : {}),
          });
        }
        if (report) reports.push(report);
      }),
    );
    return reports;
  }

  /** Host rules belong to their incident: when it resolves they go, whatever their TTL. */
  async incidentResolved(incidentId: string, hostAdapters: Set<string>): Promise<OpReport[]> {
    const rules = await this.opts.executor.store.rules();
    const mine = rules.filter(
      (r) =>
        r.phase === 'live' &&
        r.incidentId === incidentId &&
        (r.rule.kind === 'host-filter' || r.rule.kind === 'shape' || r.via.every((v) => hostAdapters.has(v))),
    );
    return Promise.all(
      mine.map((r) =>
        this.opts.executor.withdraw(r.rule.id, `incident ${incidentId} resolved: host rules roll back`, {
          plannedBy: 'lifecycle:resolve',
          incidentId,
        }),
      ),
    );
  }

  /** True when the rule was rolled back. */
  private async collateral(rec: RuleRecord, now: number): Promise<boolean> {
    const c = this.opts.collateral;
    if (!c || rec.legitBefore === undefined || rec.legitBefore <= 0) return false;
    if (!(c.kinds ?? COLLATERAL_KINDS).includes(rec.rule.kind)) return false;
    if (now - Date.parse(rec.appliedAt) > (c.watchMs ?? 120_000)) return false;
    const installedOn = rec.via.filter((v) => rec.adapters[v]?.state === 'installed');
    if (installedOn.length === 0) return false;
    const after = await c.probe.legitRate(rec.rule, installedOn).catch(() => undefined);
    if (after === undefined) return false;
    const fell = 1 - after / rec.legitBefore;
    if (fell <= c.drop) return false;
    const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
    const message =
      `collateral damage: legitimate traffic to ${String(rec.rule.target)} fell ${pct(fell)} (from ${round(rec.legitBefore)} to ${round(after)}) ` +
      `after ${rec.rule.id} went in, more than the policy allows (${pct(c.drop)}); rolled back`;
    const until = now + (c.suppressMs ?? 600_000);
    this.opts.executor.suppressed.set(rec.rule.id, until);
    await this.opts.executor.withdraw(rec.rule.id, message, {
      plannedBy: 'lifecycle:collateral',
      ...(rec.incidentId ? { incidentId: rec.incidentId } : {}),
    });
    await this.opts.executor.store.appendAudit([
      {
        id: randomUUID(),
        phase: 'event',
        at: new Date(now).toISOString(),
        op: 'alert',
        tenant: rec.rule.tenant,
        ruleId: rec.rule.id,
        plannedBy: 'lifecycle:collateral',
        message,
        ...(rec.incidentId ? { incidentId: rec.incidentId } : {}),
      },
    ]);
    this.opts.logger.error({ ruleId: rec.rule.id, legitBefore: rec.legitBefore, legitAfter: after }, message);
    this.opts.alert?.(message, {
      ruleId: rec.rule.id,
      target: String(rec.rule.target),
      legitBefore: rec.legitBefore,
      legitAfter: after,
    });
    return true;
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
