import { randomUUID } from 'node:crypto';
import type { Detector, Sample } from '@ft/sdk';
import { toReport, type Incident } from '../model/incident.js';
import type { ActiveRule, Plan } from '../model/plan.js';
import type { ActionHandle } from '../exec/actions.js';
import {
  Executor,
  systemClock,
  type Clock,
  type CollateralProbe,
  type ExecLogger,
  type ExecMetrics,
  type ExecReport,
  type OpContext,
  type OpReport,
} from '../exec/executor.js';
import { Lifecycle } from '../exec/lifecycle.js';
import { reconcile, type ReconcileReport } from '../exec/reconcile.js';
import type { RuleRecord, RuleStore } from '../state/store.js';
import { refusalDigest } from '../plan/format.js';

/** How many resolved incident ids the runner remembers to refuse late events for (a Set: oldest forgotten first). */
const RESOLVED_MEMORY = 10_000;

/** How shutdown went: `complete` false when onShutdown could not be carried out (see Runner.stop). */
export interface StopReport {
  complete: boolean;
  reason?: string;
}

/** The planner as the runner calls it: policy, RPKI and renderers are already bound. */
export type PlanFn = (input: { incident?: Incident; active: ActiveRule[]; now: Date }) => Plan;

export interface IncidentEvent {
  type: 'open' | 'update' | 'resolve';
  incident: Incident;
}

/** The detection engine as the runner needs it (core/detect's DetectionEngine fits). */
export interface IncidentSource {
  ingest(sample: Sample): void;
  on(listener: (event: IncidentEvent) => void): () => void;
  start(): void;
  stop(): void;
}

export interface RunMetrics extends ExecMetrics {
  sampleIn(source: string): void;
  incidentsOpen(n: number): void;
  reconciled(report: ReconcileReport): void;
}

export interface RunnerOptions {
  store: RuleStore;
  actions: Map<string, ActionHandle>;
  logger: ExecLogger;
  tenant: string;
  mode: 'enforce' | 'preview';
  /** The live-rule cap, per tenant when tenants have their own. */
  maxRules: number | ((tenant: string) => number);
  onShutdown: 'withdraw' | 'keep';
  /** 0..1; absent: no collateral-damage rollback. */
  collateralDrop?: number;
  probe?: CollateralProbe;
  plan?: PlanFn;
  engine?: IncidentSource;
  detectors?: { name: string; detector: Detector }[];
  clock?: Clock;
  /** Lifecycle tick: TTL, retries, collateral checks, re-planning of open incidents (default 1 s). */
  tickMs?: number;
  /** Periodic reconcile against every action's list() (default 60 s). */
  reconcileEveryMs?: number;
  metrics?: RunMetrics;
  /** How long shutdown may spend withdrawing (onShutdown: withdraw) before it gives up and exits (default 60 s). */
  shutdownDeadlineMs?: number;
  alert?: (message: string, detail: Record<string, unknown>) => void;
  /** Every plan made for an incident (before it is executed): `ft run --watch` shows it to a human. */
  onPlan?: (incident: Incident, plan: Plan) => void;
}

/**
 * `ft run`: detectors feed the engine, incidents feed the planner, the executor carries plans out, the store
 * remembers. Start reconciles first (after a crash that is what removes orphans); stop follows the policy's
 * onShutdown.
 */
export class Runner {
  readonly executor: Executor;
  readonly lifecycle: Lifecycle;
  private readonly clock: Clock;
  private readonly open = new Map<string, Incident>();
  private readonly planning = new Map<string, { running: Promise<void>; next?: Incident }>();
  /**
   * Incidents resolved lately (the newest RESOLVED_MEMORY ids). An event for one of them that arrives after its
   * resolve (a late update from a queue, a replayed event) must not re-open it: it would re-plan, and re-announce,
   * mitigation for an attack that is over. A new attack on the same target comes with a new incident id.
   */
  private readonly resolved = new Set<string>();
  /** Per open incident, the refusals last logged (see refusalDigest). */
  private readonly refusalLogged = new Map<string, string>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe?: () => void;
  private inflight = new Set<Promise<unknown>>();
  private ticking = false;
  private reconciling = false;
  private stopping?: Promise<StopReport>;

  constructor(private readonly opts: RunnerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.executor = new Executor({
      store: opts.store,
      actions: opts.actions,
      logger: opts.logger,
      clock: this.clock,
      maxRules: opts.maxRules,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      ...(opts.probe ? { probe: opts.probe } : {}),
      ...(opts.alert ? { alert: opts.alert } : {}),
    });
    this.lifecycle = new Lifecycle({
      executor: this.executor,
      logger: opts.logger,
      clock: this.clock,
      ...(opts.probe && opts.collateralDrop !== undefined
        ? { collateral: { probe: opts.probe, drop: opts.collateralDrop } }
        : {}),
      ...(opts.alert ? { alert: opts.alert } : {}),
    });
  }

  get store(): RuleStore {
    return this.opts.store;
  }

  /**
   * Reconciles, then starts detectors, the engine and the timers. In preview mode nothing is executed, so nothing
   * is reconciled either: the actions are never asked what they have installed (an unprivileged quickstart must
   * not need root, nor a reachable speaker).
   */
  async start(): Promise<ReconcileReport> {
    const preview = this.opts.mode === 'preview';
    const report = preview
      ? { interruptedOps: 0, orphansWithdrawn: [], reapplied: [], expired: [], unreachable: [] }
      : await reconcile({
          executor: this.executor,
          logger: this.opts.logger,
          clock: this.clock,
          closeInterrupted: true,
        });
    if (!preview) this.opts.metrics?.reconciled(report);
    this.opts.metrics?.rulesChanged(await this.opts.store.rules());
    const engine = this.opts.engine;
    if (engine) {
      this.unsubscribe = engine.on((event) => {
        void this.track(
          this.onIncident(event).catch((err: Error) =>
            this.opts.logger.error(
              { incidentId: event.incident.id, err: err.message },
              'handling an incident event failed (the next update or tick plans again)',
            ),
          ),
        );
      });
      for (const d of this.opts.detectors ?? []) {
        await d.detector.start((sample) => {
          this.opts.metrics?.sampleIn(d.name);
          engine.ingest(sample);
        });
      }
      engine.start();
    }
    const tickMs = this.opts.tickMs ?? 1000;
    this.timers.push(setInterval(() => void this.track(this.tick()), tickMs));
    if (!preview)
      this.timers.push(
        setInterval(() => {
          if (this.reconciling || this.stopping) return;
          this.reconciling = true;
          void this.track(
            this.reconcileNow()
              .catch((err: Error) =>
                this.opts.logger.error({ err: err.message }, 'periodic reconcile failed; will try again'),
              )
              .finally(() => (this.reconciling = false)),
          );
        }, this.opts.reconcileEveryMs ?? 60_000),
      );
    return report;
  }

  async reconcileNow(): Promise<ReconcileReport> {
    const report = await reconcile({ executor: this.executor, logger: this.opts.logger, clock: this.clock });
    this.opts.metrics?.reconciled(report);
    return report;
  }

  /** One lifecycle round plus a re-plan of every open incident (de-escalation after the cooldown comes from there). */
  async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      await this.lifecycle.tick();
      for (const incident of this.open.values()) await this.replan(incident);
      await this.replanActive();
    } catch (err) {
      this.opts.logger.error({ err: (err as Error).message }, 'lifecycle tick failed; will try again next tick');
    } finally {
      this.ticking = false;
    }
  }

  /**
   * The planner without an incident: what is live but no longer allowed (a policy reload moved a prefix into
   * never-target, shrank protected space) is withdrawn. Adds never come from here.
   */
  private async replanActive(): Promise<void> {
    if (!this.opts.plan) return;
    const active = (await this.opts.store.rules()).filter((r) => r.phase === 'live').map(toActive);
    if (active.length === 0) return;
    const p = this.opts.plan({ active, now: new Date(this.clock.now()) });
    const ops = p.ops.filter((o) => o.type === 'withdraw');
    if (ops.length > 0) await this.executor.execute({ ...p, ops }, { plannedBy: 'planner' });
  }

  /** Applies a plan made elsewhere (`ft mitigate apply`) through this runner's executor. */
  execute(plan: Plan, ctx: OpContext): Promise<ExecReport> {
    return this.track(this.executor.execute(plan, ctx));
  }

  async onIncident(event: IncidentEvent): Promise<void> {
    const { incident } = event;
    if (this.stopping) return;
    if (event.type !== 'resolve' && this.resolved.has(incident.id)) {
      this.opts.logger.warn(
        { incidentId: incident.id, event: event.type },
        'ignored an event for an incident already resolved (it does not re-open it)',
      );
      return;
    }
    // Recording the incident must not delay the mitigation: it is written while the planner and executor work
    // (the op's own intent records are what a crash needs; the incident is history).
    const recorded = Promise.all([
      this.opts.store.putIncident(incident),
      event.type === 'update'
        ? undefined
        : this.opts.store.appendAudit([
            {
              id: randomUUID(),
              phase: 'event',
              at: new Date(this.clock.now()).toISOString(),
              op: 'incident',
              incidentId: incident.id,
              tenant: this.opts.tenant,
              incident: toReport(incident),
              message: `incident ${event.type}: ${incident.family} against ${String(incident.target)}`,
            },
          ]),
    ]);
    if (event.type === 'resolve') {
      this.open.delete(incident.id);
      this.refusalLogged.delete(incident.id);
      this.resolved.add(incident.id);
      if (this.resolved.size > RESOLVED_MEMORY) this.resolved.delete(this.resolved.values().next().value as string);
    } else this.open.set(incident.id, incident);
    this.opts.metrics?.incidentsOpen(this.open.size);
    await this.replan(incident);
    await recorded;
    if (event.type === 'resolve') {
      const host = new Set([...this.opts.actions.values()].filter((h) => h.reach === 'host').map((h) => h.name));
      await this.lifecycle.incidentResolved(incident.id, host);
    }
  }

  /** Plans for one incident; a newer state arriving meanwhile replaces any queued one (only the latest matters). */
  private replan(incident: Incident): Promise<void> {
    const plan = this.opts.plan;
    if (!plan) return Promise.resolve();
    const slot = this.planning.get(incident.id);
    if (slot) {
      slot.next = incident;
      return slot.running;
    }
    const run = async (inc: Incident): Promise<void> => {
      try {
        const active = (await this.opts.store.rules()).filter((r) => r.phase === 'live').map(toActive);
        const p = plan({ incident: inc, active, now: new Date(this.clock.now()) });
        // Logged when what is refused changes, not at every tick an attack on a never-target lasts.
        const refusalKey = refusalDigest(p.refused);
        if (refusalKey !== this.refusalLogged.get(inc.id)) {
          this.refusalLogged.set(inc.id, refusalKey);
          if (p.refused.length > 0)
            this.opts.logger.warn({ incidentId: inc.id, refused: p.refused }, 'planner refused rules');
        }
        this.opts.onPlan?.(inc, p);
        if (p.ops.length > 0) await this.executor.execute(p, { plannedBy: 'planner', incidentId: inc.id });
      } catch (err) {
        this.opts.logger.error(
          { incidentId: inc.id, err: (err as Error).message },
          'planning or execution failed for this incident',
        );
      }
      const s = this.planning.get(inc.id);
      if (s?.next) {
        const next = s.next;
        delete s.next;
        await run(next);
      } else if (s === entry) {
        // Cleared here, synchronously with the check: cleared later (in a .finally), a state arriving in between
        // would be queued on a chain that has already finished, and dropped.
        this.planning.delete(inc.id);
      }
    };
    const entry: { running: Promise<void>; next?: Incident } = { running: Promise.resolve() };
    this.planning.set(incident.id, entry);
    entry.running = run(incident).finally(() => {
      if (this.planning.get(incident.id) === entry) this.planning.delete(incident.id);
    });
    return entry.running;
  }

  /** Resolves once every op, plan and tick in flight has finished (tests, benchmarks, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0 || this.planning.size > 0) {
      await Promise.allSettled([...this.inflight, ...[...this.planning.values()].map((p) => p.running)]);
    }
  }

  /** Withdraws every live rule (shutdown with onShutdown: withdraw, `ft mitigate withdraw --all`). */
  async withdrawAll(reason: string, plannedBy: string): Promise<OpReport[]> {
    const rules = (await this.opts.store.rules()).filter((r) => r.phase === 'live' || r.phase === 'withdrawing');
    return Promise.all(
      rules.map((r) =>
        this.executor.withdraw(r.rule.id, reason, { plannedBy, ...(r.incidentId ? { incidentId: r.incidentId } : {}) }),
      ),
    );
  }

  /**
   * Stops everything; with onShutdown: withdraw (the default), takes back everything we installed. Always resolves,
   * in bounded time: `complete` is false when shutdown could not do what onShutdown asks (the store could not be
   * read, withdrawals did not finish by the deadline); what is left is logged and stays to its TTL / the next start.
   */
  stop(signal: string, onShutdown: 'withdraw' | 'keep' = this.opts.onShutdown): Promise<StopReport> {
    if (!this.stopping) this.stopping = this.doStop(signal, onShutdown);
    return this.stopping;
  }

  private async doStop(signal: string, onShutdown: 'withdraw' | 'keep'): Promise<StopReport> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.unsubscribe?.();
    this.opts.engine?.stop();
    await Promise.all((this.opts.detectors ?? []).map((d) => d.detector.stop().catch(() => undefined)));
    await Promise.allSettled([...this.inflight]);
    // Bounded: an unreachable speaker or store must not hold the shutdown for minutes (a service manager would
    // SIGKILL anyway). What is not withdrawn by then stays recorded as withdrawing; the next start finishes it.
    const deadlineMs = this.opts.shutdownDeadlineMs ?? 60_000;
    const withDeadline = async <T>(work: Promise<T>): Promise<{ value: T } | { error: Error } | 'deadline'> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          work.then(
            (value) => ({ value }),
            (error: unknown) => ({ error: error instanceof Error ? error : new Error(String(error)) }),
          ),
          new Promise<'deadline'>((r) => (timer = setTimeout(() => r('deadline'), deadlineMs))),
        ]);
      } finally {
        clearTimeout(timer);
      }
    };
    let report: StopReport;
    try {
      if (onShutdown === 'withdraw' && this.opts.mode === 'enforce') {
        const done = await withDeadline(
          this.withdrawAll(`ft stopped (${signal}); policy onShutdown: withdraw`, 'shutdown'),
        );
        const failed =
          done !== 'deadline' && 'value' in done ? done.value.filter((o) => o.outcome !== 'ok') : undefined;
        if (failed && failed.length === 0) {
          this.opts.logger.info(
            { withdrawn: (done as { value: OpReport[] }).value.length, signal },
            'shutdown: withdrew every rule ft had installed',
          );
          report = { complete: true };
        } else if (failed) {
          // An adapter that failed or hit its per-adapter timeout: the rule stays recorded as withdrawing.
          const why = `${failed.length} rule(s) could not be withdrawn: ${failed
            .map(
              (o) =>
                `${o.ruleId} (${
                  o.results
                    .filter((x) => x.outcome !== 'ok')
                    .map((x) => `${x.adapter}: ${x.outcome}${x.error ? ` ${x.error}` : ''}`)
                    .join('; ') ||
                  o.message ||
                  o.outcome
                })`,
            )
            .join(', ')}`;
          this.opts.logger.error(
            { left: failed.map((o) => o.ruleId), signal },
            `shutdown: ${why}; left in place until their TTL or the next start's reconcile (or ft mitigate withdraw)`,
          );
          report = { complete: false, reason: why };
        } else {
          const left = await withDeadline(this.opts.store.rules());
          const ids = left !== 'deadline' && 'value' in left ? left.value.map((r) => r.rule.id) : undefined;
          const why =
            done === 'deadline' || !('error' in done)
              ? `withdrawals did not finish within ${deadlineMs} ms`
              : `the withdrawal failed: ${done.error.message}`;
          this.opts.logger.error(
            { left: ids ?? 'unknown (the rule store cannot be read)', deadlineMs, signal },
            `shutdown: ${why}; ${ids ? `${ids.length} rule(s)` : 'every rule ft installed'} left in place until their TTL or the next start's reconcile (or ft mitigate withdraw)`,
          );
          report = { complete: false, reason: why };
        }
      } else if (this.opts.mode === 'preview') {
        // Preview applied nothing; rules an earlier enforcing run left are not this run's to take back.
        const live = await withDeadline(this.opts.store.rules());
        const kept =
          live !== 'deadline' && 'value' in live ? live.value.filter((r) => r.phase === 'live').length : undefined;
        this.opts.logger.info(
          { signal, ...(kept !== undefined ? { kept } : {}) },
          kept
            ? `shutdown: preview mode withdraws nothing; ${kept} rule(s) from an earlier run stay until their TTL`
            : 'shutdown: preview mode applied nothing, nothing to withdraw',
        );
        report = { complete: true };
      } else {
        const live = await withDeadline(this.opts.store.rules());
        if (live !== 'deadline' && 'value' in live) {
          this.opts.logger.info(
            { kept: live.value.filter((r) => r.phase === 'live').length, signal },
            'shutdown: rules left in place until their TTL (policy onShutdown: keep); the next start reconciles them',
          );
        } else {
          this.opts.logger.warn(
            { signal },
            'shutdown: rules left in place (policy onShutdown: keep); the rule store could not be read to count them',
          );
        }
        report = { complete: true };
      }
    } finally {
      for (const h of this.opts.actions.values()) await h.action.close?.().catch(() => undefined);
    }
    return report;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }
}

export function toActive(r: RuleRecord): ActiveRule {
  return {
    rule: r.rule,
    via: r.via,
    appliedAt: ms(r.appliedAt),
    expiresAt: ms(r.expiresAt),
    ...(r.incidentId ? { incidentId: r.incidentId } : {}),
  };
}

/** An unreadable time counts as long past: a rule with a garbled expiry is withdrawn, never kept forever. */
function ms(t: string): number {
  const v = Date.parse(t);
  return Number.isNaN(v) ? -Infinity : v;
}
