import { randomUUID } from 'node:crypto';
import type { InstalledRef, RuleId } from '@ft/sdk';
import type { AuditRecord } from '../state/store.js';
import { callWithRetry, realSleep, type Sleep } from './actions.js';
import type { Clock, ExecLogger, Executor } from './executor.js';
import { systemClock } from './executor.js';

export interface ReconcileReport {
  /** Ops that had a start and no end in the audit trail (the process died during them), now closed. */
  interruptedOps: number;
  /** Installed objects tagged as ours that the store did not want: withdrawn. */
  orphansWithdrawn: { adapter: string; nativeId: string; ruleId?: string }[];
  /** Live rules missing from an adapter: re-applied. */
  reapplied: { adapter: string; ruleId: string }[];
  /** Rules whose TTL passed while nobody watched: withdrawn. */
  expired: string[];
  /** Adapters whose list() failed: nothing was decided for them this round. */
  unreachable: { adapter: string; error: string }[];
}

export interface ReconcileOptions {
  executor: Executor;
  logger: ExecLogger;
  clock?: Clock;
  sleep?: Sleep;
  /** At startup: close audit ops a crash interrupted. */
  closeInterrupted?: boolean;
}

/**
 * Makes the world match the store: each action's list() against the rules the store wants live. Runs at startup
 * (after a crash this is what removes orphaned announcements) and periodically (someone cleared a rule by hand,
 * a router restarted and lost it).
 */
export async function reconcile(opts: ReconcileOptions): Promise<ReconcileReport> {
  const { executor, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const store = executor.store;
  const report: ReconcileReport = {
    interruptedOps: 0,
    orphansWithdrawn: [],
    reapplied: [],
    expired: [],
    unreachable: [],
  };
  const ctx = { plannedBy: 'reconcile' };

  if (opts.closeInterrupted) report.interruptedOps = await closeInterruptedOps(executor, clock);

  const now = clock.now();
  // Expired while we were away (or while the daemon was down): withdraw first.
  for (const rec of await store.rules()) {
    if (rec.phase === 'live' && Date.parse(rec.expiresAt) <= now) {
      await executor.withdraw(rec.rule.id, `TTL expired at ${rec.expiresAt} (found by reconcile)`, ctx);
      report.expired.push(rec.rule.id);
    } else if (rec.phase === 'withdrawing') {
      await executor.retryDue(rec.rule.id, ctx, true);
    }
  }

  for (const h of executor.actions.values()) {
    const listed = await callWithRetry(h, 'list', () => h.action.list(), opts.sleep ?? realSleep);
    if (!listed.ok) {
      report.unreachable.push({ adapter: h.name, error: listed.error.message });
      logger.error(
        { adapter: h.name, err: listed.error.message },
        'reconcile: list() failed; nothing decided for this adapter this round',
      );
      continue;
    }
    const installed = new Map<string, InstalledRef>();
    // An object whose tag could not be read is matched by the native id the adapter gave when it applied it, so an
    // adapter with unreadable tags does not see its own live rules reconciled away (and re-applied, every round).
    const byNative = new Map<string, RuleId>();
    for (const rec of await store.rules()) {
      const nativeId = rec.adapters[h.name]?.nativeId;
      if (nativeId) byNative.set(nativeId, rec.rule.id);
    }
    for (const listedRef of listed.value) {
      const known = listedRef.ruleId ?? byNative.get(listedRef.nativeId);
      const ref: InstalledRef = known ? { ...listedRef, ruleId: known } : listedRef;
      const rec = ref.ruleId ? await store.rule(ref.ruleId) : undefined;
      const wanted = rec && rec.phase === 'live' && rec.via.includes(h.name) && Date.parse(rec.expiresAt) > now;
      if (wanted && ref.ruleId) {
        installed.set(ref.ruleId, ref);
        if (rec.adapters[h.name]?.state !== 'installed') await executor.markInstalled(ref.ruleId, h.name, ref.nativeId);
        continue;
      }
      // Tagged as ours, not wanted: an orphan (a crash between apply and the record, a rule withdrawn elsewhere).
      const w = await callWithRetry(
        h,
        `withdraw orphan ${ref.nativeId}`,
        () => h.action.withdraw(ref),
        opts.sleep ?? realSleep,
      );
      const entry = { adapter: h.name, nativeId: ref.nativeId, ...(ref.ruleId ? { ruleId: ref.ruleId } : {}) };
      await store.appendAudit([
        {
          id: randomUUID(),
          phase: 'event',
          at: new Date(clock.now()).toISOString(),
          op: 'reconcile',
          plannedBy: 'reconcile',
          ...(ref.ruleId ? { ruleId: ref.ruleId } : {}),
          via: [h.name],
          outcome: w.ok ? 'ok' : 'failed',
          results: [
            w.ok
              ? { adapter: h.name, outcome: 'ok', attempts: w.attempts, ms: w.ms }
              : {
                  adapter: h.name,
                  outcome: w.timeout ? 'timeout' : 'failed',
                  attempts: w.attempts,
                  ms: w.ms,
                  error: w.error.message,
                },
          ],
          message: `withdrew ${ref.description} (${ref.nativeId}): installed and tagged as ours, but not a live rule in the store`,
        },
      ]);
      if (w.ok) report.orphansWithdrawn.push(entry);
      else
        logger.error(
          { ...entry, err: w.error.message },
          'reconcile: could not withdraw an orphan; will retry next round',
        );
    }
    // Live rules this adapter should carry but does not: re-apply.
    for (const rec of await store.rules()) {
      if (rec.phase !== 'live' || !rec.via.includes(h.name) || installed.has(rec.rule.id)) continue;
      if (Date.parse(rec.expiresAt) <= clock.now()) continue;
      // The store may believe it installed (a router restart lost it, someone cleared it by hand): apply again.
      if (rec.adapters[h.name]?.state === 'installed') await executor.markMissing(rec.rule.id, h.name);
      await executor.retryDue(rec.rule.id, ctx, true);
      report.reapplied.push({ adapter: h.name, ruleId: rec.rule.id });
    }
  }
  if (report.orphansWithdrawn.length + report.reapplied.length + report.expired.length + report.interruptedOps > 0) {
    logger.info({ ...report }, 'reconcile changed things');
  }
  return report;
}

/** Every op start without an end gets an end saying it was interrupted; reconcile then sets the world right. */
async function closeInterruptedOps(executor: Executor, clock: Clock): Promise<number> {
  // Ops last minutes at most: a week back covers any crash, without reading months of trail at every start.
  const records = await executor.store.queryAudit({ since: new Date(clock.now() - 7 * 86400_000) });
  const open = new Map<string, AuditRecord>();
  for (const r of records) {
    if (r.phase === 'start') open.set(r.id, r);
    else if (r.phase === 'end') open.delete(r.id);
  }
  if (open.size === 0) return 0;
  const at = new Date(clock.now()).toISOString();
  await executor.store.appendAudit(
    [...open.values()].map((s): AuditRecord => ({
      id: s.id,
      phase: 'end',
      at,
      op: s.op,
      ...(s.tenant ? { tenant: s.tenant } : {}),
      ...(s.ruleId ? { ruleId: s.ruleId } : {}),
      ...(s.incidentId ? { incidentId: s.incidentId } : {}),
      plannedBy: s.plannedBy ?? 'unknown',
      outcome: 'interrupted',
      message:
        'ft stopped during this op (crash or kill); reconcile at the next start compared every action with the store and finished it',
    })),
  );
  return open.size;
}
