import { randomUUID } from 'node:crypto';
import type { RenderedCommand, Rule, RuleId } from '@ft/sdk';
import type { Op, Plan, Reason } from '../model/plan.js';
import type { AdapterResult, AdapterStatus, AuditRecord, Outcome, RuleRecord, RuleStore } from '../state/store.js';
import { callWithRetry, realSleep, type ActionHandle, type Sleep } from './actions.js';

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** What the executor reports to metrics; core/metrics implements it with prom-client. */
export interface ExecMetrics {
  opDone(op: string, adapter: string, outcome: AdapterResult['outcome'], seconds: number): void;
  adapterError(adapter: string, op: string): void;
  /** Called after every change to the set of live rules. */
  rulesChanged(rules: RuleRecord[]): void;
}

export interface ExecLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Measures legitimate traffic toward a rule's target (collateral-damage rollback); undefined = cannot tell.
 * `installedOn` is empty for the measurement just before the rule goes in.
 */
export interface CollateralProbe {
  legitRate(rule: Rule, installedOn: string[]): Promise<number | undefined>;
}

export interface ExecutorOptions {
  store: RuleStore;
  actions: Map<string, ActionHandle>;
  logger: ExecLogger;
  clock?: Clock;
  sleep?: Sleep;
  metrics?: ExecMetrics;
  /**
   * Live rules per tenant (the planner enforces it; the executor checks again because the fleet shares the cap).
   * A function when tenants have caps of their own.
   */
  maxRules?: number | ((tenant: string) => number);
  /** Backoff for retrying a failed adapter between ops (the lifecycle drives it): base and ceiling. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  probe?: CollateralProbe;
  /** Called when an operator must know now (collateral rollback, an adapter that keeps failing). */
  alert?: (message: string, detail: Record<string, unknown>) => void;
}

export interface OpContext {
  /** "planner", "operator:alice", "lifecycle:ttl", "reconcile". */
  plannedBy: string;
  mode?: 'enforce' | 'preview';
  incidentId?: string;
}

export interface OpReport {
  type: Op['type'];
  ruleId: RuleId;
  outcome: Outcome;
  results: AdapterResult[];
  message?: string;
}

export interface ExecReport {
  mode: 'enforce' | 'preview';
  ops: OpReport[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Carries plans out through actions. Every op is written to the store before any action is touched and to the
 * audit trail before and after, so a crash at any point leaves enough behind for reconcile to finish the job.
 * Ops on one rule are serialised; ops on different rules run concurrently.
 */
export class Executor {
  readonly store: RuleStore;
  readonly actions: Map<string, ActionHandle>;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly locks = new Map<RuleId, Promise<unknown>>();
  private readonly previewed = new Map<string, number>();
  /** Rules rolled back for collateral damage are not re-added until this time. */
  readonly suppressed = new Map<RuleId, number>();

  constructor(private readonly opts: ExecutorOptions) {
    this.store = opts.store;
    this.actions = opts.actions;
    this.clock = opts.clock ?? systemClock;
    this.sleep = opts.sleep ?? realSleep;
  }

  async execute(plan: Plan, ctx: OpContext): Promise<ExecReport> {
    const mode = ctx.mode ?? plan.mode;
    const c: OpContext = {
      ...ctx,
      mode,
      ...(plan.incidentId && !ctx.incidentId ? { incidentId: plan.incidentId } : {}),
    };
    if (mode === 'preview') {
      // Preview executes nothing, but what it would have done is still on the record: once per op and rule a
      // minute, since nothing goes live and the planner asks again at every tick of the attack.
      const now = this.clock.now();
      const fresh = plan.ops.filter((op) => {
        const key = `${op.type}:${op.rule.id}`;
        const last = this.previewed.get(key);
        if (last !== undefined && now - last < 60_000) return false;
        this.previewed.set(key, now);
        return true;
      });
      if (this.previewed.size > 10_000)
        for (const [k, t] of this.previewed) if (now - t >= 60_000) this.previewed.delete(k);
      await this.store.appendAudit(
        fresh.map((op): AuditRecord => ({
          id: randomUUID(),
          phase: 'event',
          at: iso(now),
          op: 'preview',
          mode,
          tenant: plan.tenant,
          ruleId: op.rule.id,
          plannedBy: c.plannedBy,
          rule: op.rule,
          via: op.via,
          reason: op.reason,
          rendered: op.rendered,
          ...(op.rpki ? { rpki: op.rpki } : {}),
          ...(c.incidentId ? { incidentId: c.incidentId } : {}),
          message: `preview: would ${op.type} (mode preview executes nothing)`,
        })),
      );
      return {
        mode,
        ops: plan.ops.map((op) => ({ type: op.type, ruleId: op.rule.id, outcome: 'skipped', results: [] })),
      };
    }
    // Make before break: a withdrawal whose target an add or refresh of this plan also covers (escalation,
    // de-escalation, aggregation) waits until its replacement is in, so the edge is never left without a rule.
    // Withdrawals that replace nothing still go first: at the cap, room is made before new rules ask for it.
    const installs = plan.ops.filter((o) => o.type !== 'withdraw');
    const replacersOf = (w: Op) =>
      installs.filter(
        (a) => a.rule.tenant === w.rule.tenant && a.rule.id !== w.rule.id && a.rule.target.overlaps(w.rule.target),
      );
    const withdraws = plan.ops.filter((o) => o.type === 'withdraw');
    const replaced = withdraws.filter((w) => replacersOf(w).length > 0);
    const freeing = withdraws.filter((w) => replacersOf(w).length === 0);
    const first = await Promise.all(freeing.map((op) => this.runOp(op, c)));
    // The rule a replacement supersedes is still counted against the cap until it comes out after it: each add may
    // go over the cap by the number of rules it replaces that the store still holds, and no further.
    const stillHeld = new Set<RuleId>();
    for (const w of replaced) if (await this.store.rule(w.rule.id)) stillHeld.add(w.rule.id);
    const added = await Promise.all(
      installs.map((op) =>
        this.runOp(op, c, replaced.filter((w) => stillHeld.has(w.rule.id) && replacersOf(w).includes(op)).length),
      ),
    );
    const then = await Promise.all(replaced.map((w) => this.withdrawReplaced(w, replacersOf(w), c)));
    return { mode, ops: [...first, ...added, ...then] };
  }

  /**
   * Withdraws a rule once one of its replacements is installed somewhere. When an escalation's replacement went in
   * nowhere (refused at the cap, every adapter failed) the old rule stays, to its TTL or the next plan, rather than
   * leaving nothing in place. A de-escalation withdraws anyway: the attack fell, and keeping a stronger rule (an
   * RTBH black-holing the customer) for want of a weaker one would do more harm than the weaker attack.
   */
  private async withdrawReplaced(w: Op, replacers: Op[], ctx: OpContext): Promise<OpReport> {
    if (replacers.every((r) => r.rule.level < w.rule.level)) return this.runOp(w, ctx);
    for (const r of replacers) {
      const rec = await this.store.rule(r.rule.id);
      if (rec?.phase === 'live' && Object.values(rec.adapters).some((s) => s.state === 'installed'))
        return this.runOp(w, ctx);
    }
    const message = `kept: its replacement ${replacers.map((r) => r.rule.id).join(', ')} is not installed anywhere yet`;
    const now = this.clock.now();
    await this.store.appendAudit([
      { ...this.auditStart(randomUUID(), 'withdraw', w, ctx, now), phase: 'event', outcome: 'skipped', message },
    ]);
    this.opts.logger.warn({ ruleId: w.rule.id, reason: message }, 'withdrawal held');
    return { type: 'withdraw', ruleId: w.rule.id, outcome: 'skipped', results: [], message };
  }

  /** `replacing`: how many rules this op replaces that are still counted against the cap (they come out after it). */
  runOp(op: Op, ctx: OpContext, replacing = 0): Promise<OpReport> {
    return this.withRuleLock(op.rule.id, () => {
      switch (op.type) {
        case 'add':
          return this.add(op, ctx, replacing);
        case 'refresh':
          return this.refresh(op, ctx);
        case 'withdraw':
          return this.withdrawLocked(
            op.rule.id,
            ctx,
            typeof op.reason === 'string' ? op.reason : op.reason.summary,
            op,
          );
      }
    });
  }

  /** Withdraws a rule the store knows (TTL expiry, operator, rollback). */
  withdraw(id: RuleId, reason: string, ctx: OpContext): Promise<OpReport> {
    return this.withRuleLock(id, () => this.withdrawLocked(id, ctx, reason));
  }

  private admission: Promise<unknown> = Promise.resolve();

  private admit<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.admission.then(fn, fn);
    this.admission = run.catch(() => undefined);
    return run;
  }

  private async withRuleLock<T>(id: RuleId, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }

  // ── add / refresh ──────────────────────────────────────────────────────────────────────────────────────────────

  private async add(op: Op, ctx: OpContext, replacing = 0): Promise<OpReport> {
    const rule = op.rule;
    const now = this.clock.now();
    const existing = await this.store.rule(rule.id);
    if (existing && existing.phase === 'live' && op.via.every((v) => existing.adapters[v]?.state === 'installed')) {
      // The same content planned again (another worker, a restart): one rule, its TTL refreshed.
      return this.refresh({ ...op, type: 'refresh' }, ctx);
    }
    const until = this.suppressed.get(rule.id);
    if (until !== undefined && until > now) {
      return this.refuse(op, ctx, `rolled back for collateral damage; not re-added before ${iso(until)}`);
    }
    const missing = op.via.filter((v) => !this.actions.has(v));
    if (missing.length > 0) return this.refuse(op, ctx, `no action instance named ${missing.join(', ')} is running`);
    if (op.via.length === 0) return this.refuse(op, ctx, 'the op names no action to carry it out');
    const legitBefore =
      existing?.legitBefore ??
      (this.opts.probe ? await this.opts.probe.legitRate(rule, []).catch(() => undefined) : undefined);
    const adapters: Record<string, AdapterStatus> = {};
    for (const v of op.via) {
      const prior = existing?.phase === 'live' ? existing.adapters[v] : undefined;
      adapters[v] =
        prior?.state === 'installed'
          ? prior
          : { state: 'pending', failures: prior?.failures ?? 0, updatedAt: iso(now) };
    }
    const record: RuleRecord = {
      rule,
      via: [...new Set([...(existing?.phase === 'live' ? existing.via : []), ...op.via])],
      appliedAt: existing?.phase === 'live' ? existing.appliedAt : iso(now),
      // Never shortens a live rule's expiry (a rule asked for again with a shorter TTL keeps the longer one).
      expiresAt: iso(
        Math.max(now + rule.ttlSeconds * 1000, existing?.phase === 'live' ? Date.parse(existing.expiresAt) : 0),
      ),
      phase: 'live',
      adapters: existing?.phase === 'live' ? { ...existing.adapters, ...adapters } : adapters,
      plannedBy: ctx.plannedBy,
      reason: op.reason,
      ...(ctx.incidentId
        ? { incidentId: ctx.incidentId }
        : existing?.incidentId
          ? { incidentId: existing.incidentId }
          : {}),
      ...(legitBefore !== undefined ? { legitBefore } : {}),
    };
    const cap = typeof this.opts.maxRules === 'function' ? this.opts.maxRules(rule.tenant) : this.opts.maxRules;
    // Claiming a slot and recording the rule are one step, so concurrent adds cannot both take the last slot. The
    // store takes the record into its view at once; only the wait for the disk happens outside the admission.
    const admitted = await this.admit(async () => {
      if (cap !== undefined) {
        const slot = await this.store.claimSlot(rule.tenant, rule.id, cap + replacing);
        if (!slot.granted) return undefined;
      }
      return { written: this.store.putRule(record) };
    });
    if (!admitted) return this.refuse(op, ctx, `tenant ${rule.tenant} is at its cap of ${cap} live rules`);
    const opId = randomUUID();
    // Intent first: the rule record and the audit start are both durable before any action is touched, so a crash
    // during apply leaves a trace to finish. The two files are synced in parallel.
    await Promise.all([admitted.written, this.store.appendAudit([this.auditStart(opId, 'add', op, ctx, now)])]);
    const results = await Promise.all(
      op.via.filter((v) => record.adapters[v]?.state !== 'installed').map((v) => this.applyOn(record, v, 'add')),
    );
    this.opts.metrics?.rulesChanged(await this.store.rules());
    return this.finish(opId, 'add', op, ctx, now, results, record);
  }

  private async refresh(op: Op, ctx: OpContext): Promise<OpReport> {
    const now = this.clock.now();
    const existing = await this.store.rule(op.rule.id);
    // A refresh keeps alive what is live. If the rule went meanwhile (its incident resolved, its TTL ran out, an
    // operator withdrew it) the plan was made on a world that is gone: announcing it again on that stale view would
    // undo the withdrawal for no attack anyone still sees. The next plan, made on fresh state, adds it if wanted.
    if (!existing || existing.phase !== 'live') {
      const message = `not refreshed: ${existing ? 'being withdrawn' : 'no longer live'} since the plan was made; the next plan decides`;
      this.opts.logger.info({ ruleId: op.rule.id, plannedBy: ctx.plannedBy }, message);
      return { type: 'refresh', ruleId: op.rule.id, outcome: 'skipped', results: [], message };
    }
    const ttlMs = op.rule.ttlSeconds * 1000;
    const expiresAt = now + ttlMs;
    const current = Date.parse(existing.expiresAt);
    const record: RuleRecord = { ...existing, rule: op.rule };
    // The same attack seen again after a restart is a new incident: the rule follows it, so its resolve rolls it back.
    const moved = ctx.incidentId !== undefined && ctx.incidentId !== existing.incidentId;
    if (moved) record.incidentId = ctx.incidentId;
    // Adapters that failed are tried again here only once their backoff has passed (the lifecycle does the rest).
    const due = (v: string) => {
      const s = existing.adapters[v];
      return !s?.retryAt || Date.parse(s.retryAt) <= now;
    };
    const retry = op.via.filter((v) => existing.adapters[v]?.state !== 'installed' && this.actions.has(v) && due(v));
    // Refreshes come every tick while an attack lasts: only extensions worth a journal write are persisted.
    const persist = expiresAt - current >= Math.max(1000, ttlMs / 10) || retry.length > 0 || moved;
    if (!persist) return { type: 'refresh', ruleId: op.rule.id, outcome: 'ok', results: [] };
    record.expiresAt = iso(Math.max(current, expiresAt));
    if (retry.length === 0) {
      await Promise.all([
        this.store.putRule(record),
        this.store.appendAudit([
          {
            ...this.auditStart(randomUUID(), 'refresh', op, ctx, now),
            phase: 'event',
            outcome: 'ok',
            message: `TTL refreshed to ${record.expiresAt}`,
          },
        ]),
      ]);
      return { type: 'refresh', ruleId: op.rule.id, outcome: 'ok', results: [] };
    }
    const opId = randomUUID();
    await Promise.all([
      this.store.putRule(record),
      this.store.appendAudit([this.auditStart(opId, 'refresh', op, ctx, now)]),
    ]);
    const results = await Promise.all(retry.map((v) => this.applyOn(record, v, 'refresh')));
    return this.finish(opId, 'refresh', op, ctx, now, results, record);
  }

  /** Applies a live rule on one adapter and records the outcome in the store (not the audit: the caller does). */
  private async applyOn(record: RuleRecord, adapter: string, opName: string): Promise<AdapterResult> {
    const h = this.actions.get(adapter);
    if (!h)
      return {
        adapter,
        outcome: 'skipped',
        attempts: 0,
        ms: 0,
        error: `no action instance named ${adapter} is running`,
      };
    const r = await callWithRetry(h, `apply ${record.rule.id}`, () => h.action.apply(record.rule), this.sleep);
    const now = this.clock.now();
    const prior = record.adapters[adapter];
    if (r.ok) {
      record.adapters[adapter] = {
        state: r.value.state === 'installed' ? 'installed' : 'pending',
        failures: 0,
        updatedAt: iso(now),
        ...(r.value.nativeId ? { nativeId: r.value.nativeId } : {}),
        ...(r.value.state === 'pending' ? { retryAt: iso(now + (this.opts.retryBaseMs ?? 1000)) } : {}),
      };
    } else {
      const failures = (prior?.failures ?? 0) + 1;
      record.adapters[adapter] = {
        state: 'failed',
        failures,
        error: r.error.message,
        updatedAt: iso(now),
        retryAt: iso(now + this.backoff(failures)),
      };
      this.opts.metrics?.adapterError(adapter, 'apply');
      this.opts.logger.error(
        { adapter, ruleId: record.rule.id, err: r.error.message, attempts: r.attempts, failures },
        'apply failed; will retry',
      );
      if (failures === 3)
        this.opts.alert?.(`${adapter} keeps failing to apply ${record.rule.id}`, {
          adapter,
          ruleId: record.rule.id,
          error: r.error.message,
        });
    }
    const result: AdapterResult = r.ok
      ? {
          adapter,
          outcome: 'ok',
          attempts: r.attempts,
          ms: round(r.ms),
          ...(r.value.detail ? { detail: r.value.detail } : {}),
        }
      : {
          adapter,
          outcome: r.timeout ? 'timeout' : 'failed',
          attempts: r.attempts,
          ms: round(r.ms),
          error: r.error.message,
        };
    this.opts.metrics?.opDone(opName, adapter, result.outcome, r.ms / 1000);
    return result;
  }

  private backoff(failures: number): number {
    return Math.min(this.opts.retryMaxMs ?? 60_000, (this.opts.retryBaseMs ?? 1000) * 2 ** (failures - 1));
  }

  // ── withdraw ───────────────────────────────────────────────────────────────────────────────────────────────────

  private async withdrawLocked(id: RuleId, ctx: OpContext, reason: string, op?: Op): Promise<OpReport> {
    const now = this.clock.now();
    const existing = await this.store.rule(id);
    if (!existing) {
      if (!op) return { type: 'withdraw', ruleId: id, outcome: 'ok', results: [], message: 'not live' };
      // Unknown to the store but planned for withdrawal: withdraw anyway (idempotent), it may be an orphan.
      const opId = randomUUID();
      await this.store.appendAudit([this.auditStart(opId, 'withdraw', op, ctx, now)]);
      const results = await Promise.all(op.via.map((v) => this.withdrawOn(op.rule, v, undefined)));
      return this.finish(opId, 'withdraw', op, ctx, now, results);
    }
    const record: RuleRecord = {
      ...existing,
      phase: 'withdrawing',
      withdrawReason: reason,
      adapters: { ...existing.adapters },
    };
    const theOp: Op = op ?? {
      type: 'withdraw',
      rule: existing.rule,
      via: existing.via,
      reason: { summary: reason },
      rendered: this.render(existing.rule, existing.via),
    };
    const opId = randomUUID();
    await Promise.all([
      this.store.putRule(record),
      this.store.appendAudit([this.auditStart(opId, 'withdraw', { ...theOp, via: record.via }, ctx, now)]),
    ]);
    const targets = record.via.filter((v) => record.adapters[v]?.state !== 'withdrawn');
    const results = await Promise.all(targets.map((v) => this.withdrawOn(record.rule, v, record)));
    if (record.via.every((v) => record.adapters[v]?.state === 'withdrawn')) await this.store.removeRule(id);
    else await this.store.putRule(record);
    this.opts.metrics?.rulesChanged(await this.store.rules());
    return this.finish(opId, 'withdraw', { ...theOp, via: record.via }, ctx, now, results, undefined);
  }

  private async withdrawOn(rule: Rule, adapter: string, record: RuleRecord | undefined): Promise<AdapterResult> {
    const h = this.actions.get(adapter);
    const now = () => iso(this.clock.now());
    if (!h) {
      if (record) {
        const prior = record.adapters[adapter];
        record.adapters[adapter] = {
          state: 'withdraw-failed',
          failures: (prior?.failures ?? 0) + 1,
          error: `no action instance named ${adapter} is running`,
          updatedAt: now(),
          retryAt: iso(this.clock.now() + this.backoff((prior?.failures ?? 0) + 1)),
        };
      }
      return {
        adapter,
        outcome: 'skipped',
        attempts: 0,
        ms: 0,
        error: `no action instance named ${adapter} is running`,
      };
    }
    const r = await callWithRetry(h, `withdraw ${rule.id}`, () => h.action.withdraw(rule), this.sleep);
    if (record) {
      const prior = record.adapters[adapter];
      const failures = (prior?.failures ?? 0) + 1;
      record.adapters[adapter] = r.ok
        ? { state: 'withdrawn', failures: 0, updatedAt: now() }
        : {
            state: 'withdraw-failed',
            failures,
            error: r.error.message,
            updatedAt: now(),
            retryAt: iso(this.clock.now() + this.backoff(failures)),
          };
    }
    if (!r.ok) {
      this.opts.metrics?.adapterError(adapter, 'withdraw');
      this.opts.logger.error(
        { adapter, ruleId: rule.id, err: r.error.message, attempts: r.attempts },
        'withdraw failed; will retry',
      );
    }
    const result: AdapterResult = r.ok
      ? { adapter, outcome: 'ok', attempts: r.attempts, ms: round(r.ms) }
      : {
          adapter,
          outcome: r.timeout ? 'timeout' : 'failed',
          attempts: r.attempts,
          ms: round(r.ms),
          error: r.error.message,
        };
    this.opts.metrics?.opDone('withdraw', adapter, result.outcome, r.ms / 1000);
    return result;
  }

  // ── retries driven by the lifecycle ────────────────────────────────────────────────────────────────────────────

  /** Re-applies a live rule on adapters that are failed/pending and due; re-withdraws a stuck withdrawal. */
  retryDue(id: RuleId, ctx: OpContext, force = false): Promise<OpReport | undefined> {
    return this.withRuleLock(id, async () => {
      const now = this.clock.now();
      const rec = await this.store.rule(id);
      if (!rec) return undefined;
      const due = (s: AdapterStatus | undefined) => force || !s?.retryAt || Date.parse(s.retryAt) <= now;
      if (rec.phase === 'withdrawing') {
        if (!rec.via.some((v) => rec.adapters[v]?.state !== 'withdrawn' && due(rec.adapters[v]))) return undefined;
        return this.withdrawLocked(id, ctx, rec.withdrawReason ?? 'withdrawal retried');
      }
      const targets = rec.via.filter((v) => rec.adapters[v]?.state !== 'installed' && due(rec.adapters[v]));
      if (targets.length === 0) return undefined;
      const op: Op = {
        type: 'refresh',
        rule: rec.rule,
        via: targets,
        reason: rec.reason ?? { summary: 'retry' },
        rendered: this.render(rec.rule, targets),
      };
      const opId = randomUUID();
      const record: RuleRecord = { ...rec, adapters: { ...rec.adapters } };
      await this.store.appendAudit([
        { ...this.auditStart(opId, 'add', op, ctx, now), message: `retrying apply on ${targets.join(', ')}` },
      ]);
      const results = await Promise.all(targets.map((v) => this.applyOn(record, v, 'retry')));
      await this.store.putRule(record);
      this.opts.metrics?.rulesChanged(await this.store.rules());
      return this.finish(opId, 'add', op, ctx, now, results, record, false);
    });
  }

  /** Marks an adapter installed for a live rule (reconcile found it there). */
  markInstalled(id: RuleId, adapter: string, nativeId?: string): Promise<void> {
    return this.withRuleLock(id, async () => {
      const rec = await this.store.rule(id);
      if (!rec || rec.phase !== 'live' || rec.adapters[adapter]?.state === 'installed') return;
      await this.store.putRule({
        ...rec,
        adapters: {
          ...rec.adapters,
          [adapter]: {
            state: 'installed',
            failures: 0,
            updatedAt: iso(this.clock.now()),
            ...(nativeId ? { nativeId } : {}),
          },
        },
      });
    });
  }

  /**
   * Drops a rule from the store without touching any action: the operator's way out when an action is gone for
   * good (removed from the policy, a router decommissioned) and they cleaned up by hand. Audited as such.
   */
  forget(id: RuleId, ctx: OpContext): Promise<OpReport> {
    return this.withRuleLock(id, async () => {
      const rec = await this.store.rule(id);
      if (!rec) return { type: 'withdraw', ruleId: id, outcome: 'ok', results: [], message: 'not live' };
      await this.store.removeRule(id);
      await this.store.appendAudit([
        {
          id: randomUUID(),
          phase: 'event',
          at: iso(this.clock.now()),
          op: 'forget',
          tenant: rec.rule.tenant,
          ruleId: id,
          plannedBy: ctx.plannedBy,
          rule: rec.rule,
          via: rec.via,
          outcome: 'ok',
          ...(rec.incidentId ? { incidentId: rec.incidentId } : {}),
          message: `forgotten without touching ${rec.via.join(', ')} (adapter states: ${rec.via.map((v) => `${v}=${rec.adapters[v]?.state ?? '?'}`).join(', ')}); anything still installed is now the operator's`,
        },
      ]);
      this.opts.metrics?.rulesChanged(await this.store.rules());
      return { type: 'withdraw', ruleId: id, outcome: 'ok', results: [], message: 'forgotten' };
    });
  }

  /** Marks an adapter as not carrying a live rule any more (reconcile did not find it there). */
  markMissing(id: RuleId, adapter: string): Promise<void> {
    return this.withRuleLock(id, async () => {
      const rec = await this.store.rule(id);
      if (!rec || rec.phase !== 'live') return;
      await this.store.putRule({
        ...rec,
        adapters: {
          ...rec.adapters,
          [adapter]: {
            state: 'pending',
            failures: 0,
            updatedAt: iso(this.clock.now()),
            error: 'not found on the adapter by reconcile',
          },
        },
      });
    });
  }

  // ── audit helpers ──────────────────────────────────────────────────────────────────────────────────────────────

  render(rule: Rule, via: string[]): RenderedCommand[] {
    const out: RenderedCommand[] = [];
    for (const v of via) {
      try {
        out.push(...(this.actions.get(v)?.action.render(rule) ?? []));
      } catch (err) {
        out.push({ adapter: v, format: 'text', text: `render failed: ${(err as Error).message}` });
      }
    }
    return out;
  }

  private auditStart(id: string, opName: AuditRecord['op'], op: Op, ctx: OpContext, now: number): AuditRecord {
    return {
      id,
      phase: 'start',
      at: iso(now),
      op: opName,
      mode: ctx.mode ?? 'enforce',
      tenant: op.rule.tenant,
      ruleId: op.rule.id,
      plannedBy: ctx.plannedBy,
      rule: op.rule,
      via: op.via,
      reason: op.reason,
      rendered: op.rendered.length > 0 ? op.rendered : this.render(op.rule, op.via),
      ...(op.rpki ? { rpki: op.rpki } : {}),
      ...(ctx.incidentId ? { incidentId: ctx.incidentId } : {}),
    };
  }

  private async finish(
    id: string,
    opName: AuditRecord['op'],
    op: Op,
    ctx: OpContext,
    startedAt: number,
    results: AdapterResult[],
    record?: RuleRecord,
    persist = true,
  ): Promise<OpReport> {
    if (record && persist) await this.store.putRule(record);
    const okCount = results.filter((r) => r.outcome === 'ok').length;
    const outcome: Outcome =
      results.length === 0 || okCount === results.length ? 'ok' : okCount === 0 ? 'failed' : 'partial';
    const end: AuditRecord = {
      id,
      phase: 'end',
      at: iso(this.clock.now()),
      op: opName,
      tenant: op.rule.tenant,
      ruleId: op.rule.id,
      plannedBy: ctx.plannedBy,
      results,
      outcome,
      durationMs: round(this.clock.now() - startedAt),
      ...(ctx.incidentId ? { incidentId: ctx.incidentId } : {}),
    };
    await this.store.appendAudit([end]);
    if (outcome !== 'ok')
      this.opts.logger.warn({ ruleId: op.rule.id, op: opName, outcome, results }, `${opName} ${outcome}`);
    else
      this.opts.logger.info(
        { ruleId: op.rule.id, op: opName, via: op.via, plannedBy: ctx.plannedBy },
        `${opName} ${op.rule.kind} ${String(op.rule.target)}`,
      );
    return { type: op.type, ruleId: op.rule.id, outcome, results };
  }

  private async refuse(op: Op, ctx: OpContext, message: string): Promise<OpReport> {
    const now = this.clock.now();
    await this.store.appendAudit([
      { ...this.auditStart(randomUUID(), 'add', op, ctx, now), phase: 'event', outcome: 'skipped', message },
    ]);
    this.opts.logger.warn({ ruleId: op.rule.id, reason: message }, 'op refused');
    return { type: op.type, ruleId: op.rule.id, outcome: 'skipped', results: [], message };
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

export function reasonText(reason: Reason | string | undefined): string {
  return reason === undefined ? '' : typeof reason === 'string' ? reason : reason.summary;
}
