import { settleWithin } from '@ft/sdk';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Job, Queue, Worker } from 'bullmq';
import type { InstalledRef } from '@ft/sdk';
import { callWithRetry, type ActionHandle } from '../exec/actions.js';
import type { ExecLogger } from '../exec/executor.js';
import { reviveRule } from '../state/codec.js';
import type { RedisRuleStore } from '../state/redis/redis-store.js';
import { closeRedis } from '../state/redis/connect.js';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, type ApplyResult, type FleetJobData, type TtlResult } from './jobs.js';
import { checkPop, jobBase, jobId, queueName } from './names.js';

export interface FleetWorkerOptions {
  pop: string;
  /** The speakers (and scrubbers) of this POP, created from the policy in this process. */
  actions: Map<string, ActionHandle>;
  store: RedisRuleStore;
  /** Connections: one for the BullMQ worker (blocking), one for the queue used to re-arm TTL jobs. */
  workerConn: Redis;
  queueConn: Redis;
  logger: ExecLogger;
  concurrency?: number;
  /** BullMQ lock on a job in hand; a worker silent for longer loses the job to another (default 30 s). */
  lockDurationMs?: number;
  /** How often stalled jobs (their worker died) are looked for (default 30 s). */
  stalledIntervalMs?: number;
  /** SIGTERM: how long the job in hand may take to finish before it is handed back (default 10 s). */
  closeTimeoutMs?: number;
  /** How often the worker says it is alive (default 5 s; `ft fleet status` counts it dead after 3 misses). */
  heartbeatMs?: number;
  namespace?: string;
}

export interface FleetWorker {
  id: string;
  pop: string;
  worker: Worker;
  /** Jobs this process finished since it started (a failed attempt that BullMQ retries counts in `failed`). */
  stats: { completed: number; failed: number };
  /** Stops taking jobs, lets the job in hand finish (bounded), closes actions and connections. Never hangs. */
  close(): Promise<void>;
}

export class FleetJobError extends Error {}

/** Waits for `p` at most `ms`; true when it settled in time. */
export async function bounded(p: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = p.then(
    () => true,
    () => true,
  );
  return (await settleWithin(settled, ms)) ?? false;
}

/**
 * A worker of one POP: takes jobs from the POP's queue and carries them out on the speakers of that POP. Jobs
 * are idempotent by contract (apply/withdraw are on every action), so a job handed to a second worker after the
 * first died is safe to run again.
 */
export async function startFleetWorker(o: FleetWorkerOptions): Promise<FleetWorker> {
  const { Worker, Queue } = await import('bullmq');
  const pop = checkPop(o.pop);
  const id = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const prefix = o.namespace ?? 'ft';
  const queue: Queue = new Queue(queueName(pop), { connection: o.queueConn, prefix });

  const handle = (name: string): ActionHandle => {
    const h = o.actions.get(name);
    if (!h) throw new FleetJobError(`POP ${pop} has no speaker named ${name} in this worker's policy`);
    return h;
  };

  const processor = async (job: Job<FleetJobData>): Promise<unknown> => {
    const d = job.data;
    const h = handle(d.adapter);
    switch (d.op) {
      case 'apply': {
        const rule = reviveRule(d.rule, `job ${job.id}`);
        const r = await callWithRetry(h, `apply ${rule.id}`, () => h.action.apply(rule));
        if (!r.ok) throw r.error;
        const out: ApplyResult = {
          state: r.value.state === 'installed' ? 'installed' : 'pending',
          pop,
          worker: id,
          ...(r.value.nativeId ? { nativeId: r.value.nativeId } : {}),
          ...(r.value.detail ? { detail: r.value.detail } : {}),
        };
        return out;
      }
      case 'withdraw': {
        const target = d.rule ? reviveRule(d.rule, `job ${job.id}`) : d.ref;
        if (!target) throw new FleetJobError(`job ${job.id}: a withdraw names neither a rule nor an installed ref`);
        const r = await callWithRetry(h, `withdraw ${d.rule?.id ?? d.ref?.nativeId}`, () => h.action.withdraw(target));
        if (!r.ok) throw r.error;
        return { pop, worker: id };
      }
      case 'ttl':
        return ttl(job as Job<Extract<FleetJobData, { op: 'ttl' }>>, h);
      case 'list': {
        const r = await callWithRetry(h, 'list', () => h.action.list());
        if (!r.ok) throw r.error;
        return r.value satisfies InstalledRef[];
      }
    }
  };

  /** At the expiry the controller set: withdraw, unless the store shows a later expiry (then wait for that one). */
  const ttl = async (job: Job<Extract<FleetJobData, { op: 'ttl' }>>, h: ActionHandle): Promise<TtlResult> => {
    const rule = reviveRule(job.data.rule, `job ${job.id}`);
    const rec = await o.store.rule(rule.id);
    const later = rec && rec.phase === 'live' ? Date.parse(rec.expiresAt) : 0;
    if (later > Date.now() + 250) {
      await armTtl(queue, { op: 'ttl', adapter: h.name, rule, expiresAt: rec!.expiresAt });
      return { outcome: 'rearmed', expiresAt: rec!.expiresAt, worker: id };
    }
    const r = await callWithRetry(h, `withdraw ${rule.id} (TTL)`, () => h.action.withdraw(rule));
    if (!r.ok) throw r.error;
    o.logger.info(
      { ruleId: rule.id, adapter: h.name, pop, expiresAt: job.data.expiresAt },
      'TTL expired: withdrawn by the POP worker',
    );
    return { outcome: 'withdrawn', worker: id };
  };

  const worker = new Worker<FleetJobData>(queueName(pop), processor, {
    connection: o.workerConn,
    prefix,
    concurrency: o.concurrency ?? 4,
    autorun: true,
    lockDuration: o.lockDurationMs ?? 30_000,
    stalledInterval: o.stalledIntervalMs ?? 30_000,
    maxStalledCount: 3,
  });
  const stats = { completed: 0, failed: 0 };
  worker.on('completed', () => stats.completed++);
  worker.on('failed', () => stats.failed++);
  worker.on('failed', (job, err) =>
    o.logger.warn(
      {
        pop,
        jobId: job?.id,
        op: job?.data.op,
        adapter: job?.data.adapter,
        attempt: job?.attemptsMade,
        err: err.message,
      },
      'fleet job failed',
    ),
  );
  worker.on('error', (err) => o.logger.error({ pop, err: err.message }, 'fleet worker: Redis error (will reconnect)'));

  const hbKey = o.store.keys.worker(pop, id);
  const hbMs = o.heartbeatMs ?? 5000;
  const beat = () =>
    o.store.conn
      .set(
        hbKey,
        JSON.stringify({
          id,
          pop,
          pid: process.pid,
          host: hostname(),
          concurrency: o.concurrency ?? 4,
          speakers: [...o.actions.keys()],
          at: new Date().toISOString(),
        }),
        'PX',
        hbMs * 3,
      )
      .catch(() => undefined);
  await beat();
  const timer = setInterval(() => void beat(), hbMs);
  await worker.waitUntilReady();
  o.logger.info(
    { pop, worker: id, speakers: [...o.actions.keys()], concurrency: o.concurrency ?? 4 },
    `ft worker: serving POP ${pop}`,
  );

  let closing: Promise<void> | undefined;
  return {
    id,
    pop,
    worker,
    stats,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        // Graceful: the job in hand finishes. Past the bound it is abandoned: its lock lapses and stalled-job
        // recovery hands it to another worker (jobs are idempotent).
        const graceful = await bounded(worker.close(), o.closeTimeoutMs ?? 10_000);
        if (!graceful) {
          o.logger.warn(
            { pop, worker: id },
            'shutdown: the job in hand did not finish in time (or Redis is gone); it is handed back to the POP',
          );
          await bounded(worker.close(true), 2000);
        }
        await bounded(o.store.conn.del(hbKey), 1000);
        await bounded(queue.close(), 2000);
        for (const h of o.actions.values()) await bounded(h.action.close?.() ?? Promise.resolve(), 5000);
        await closeRedis(o.workerConn);
        await closeRedis(o.queueConn);
        await bounded(o.store.close(), 3000);
      })();
      return closing;
    },
  };
}

/** A delayed withdraw at the rule's expiry; one per rule, speaker and expiry (re-adding collapses). */
export async function armTtl(queue: Queue, data: Extract<FleetJobData, { op: 'ttl' }>): Promise<void> {
  const at = Date.parse(data.expiresAt);
  await queue.add('ttl', data, {
    jobId: jobId(jobBase('ttl', data.rule.id, data.adapter), at),
    delay: Math.max(0, at - Date.now()),
    attempts: 20,
    backoff: { type: 'exponential', delay: DEFAULT_BACKOFF_MS },
    removeOnComplete: { age: 3600 },
    removeOnFail: { age: 7 * 86400 },
  });
}

export const JOB_DEFAULTS = {
  attempts: DEFAULT_ATTEMPTS,
  backoff: { type: 'exponential' as const, delay: DEFAULT_BACKOFF_MS },
};
