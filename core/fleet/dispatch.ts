import type { Redis } from 'ioredis';
import type { Job, Queue, QueueEvents } from 'bullmq';
import type { Action, Applied, InstalledRef, Rule, RuleKind } from '@ft/sdk';
import type { ActionHandle } from '../exec/actions.js';
import { closeRedis } from '../state/redis/connect.js';
import { keys } from '../state/redis/redis-store.js';
import { JOB_DEFAULTS, armTtl, bounded } from './worker.js';
import type { ApplyResult, FleetJobData } from './jobs.js';
import { checkPop, jobBase, jobId, queueName } from './names.js';

/** Bumps the epoch only if it is still the one the caller saw: concurrent controllers land on the same new id. */
const NEXT_EPOCH = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur == tonumber(ARGV[1]) then
  cur = redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], 2592000000)
end
return cur
`;

export class PopUnconfirmedError extends Error {}

export interface DispatcherOptions {
  pops: string[];
  /** One connection per queue and per QueueEvents (blocking reads): made on demand. */
  connect: (role: string, blocking: boolean) => Promise<Redis>;
  namespace?: string;
  /** How long the controller waits for a POP to confirm one job before it reports the op failed (default 25 s). */
  confirmTimeoutMs?: number;
  /** Finished jobs kept for `ft fleet status` and for collapsing duplicates (default 1 h; failed: 1 day). */
  keepCompletedSec?: number;
  /** Attempts inside BullMQ and the first backoff (exponential) before a job counts as failed (default 5, 500 ms). */
  attempts?: number;
  backoffMs?: number;
}

/**
 * The controller's side of the POP queues: adds jobs (one id per rule, speaker and operation, so duplicates from
 * several controllers collapse) and waits, through QueueEvents, for the POP to confirm them.
 */
export class FleetDispatcher {
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, QueueEvents>();
  private readonly conns: Redis[] = [];
  private control!: Redis;

  private constructor(private readonly opts: DispatcherOptions) {}

  static async open(opts: DispatcherOptions): Promise<FleetDispatcher> {
    const { Queue, QueueEvents } = await import('bullmq');
    const d = new FleetDispatcher(opts);
    const prefix = opts.namespace ?? 'ft';
    try {
      d.control = await opts.connect('controller', false);
      d.conns.push(d.control);
      d.control.defineCommand('ftNextEpoch', { numberOfKeys: 1, lua: NEXT_EPOCH });
      for (const pop of new Set(opts.pops)) {
        checkPop(pop);
        const qc = await opts.connect(`queue-${pop}`, false);
        const ec = await opts.connect(`events-${pop}`, true);
        d.conns.push(qc, ec);
        d.queues.set(pop, new Queue(queueName(pop), { connection: qc, prefix }));
        const ev = new QueueEvents(queueName(pop), { connection: ec, prefix });
        ev.on('error', () => undefined);
        d.events.set(pop, ev);
        await ev.waitUntilReady();
      }
    } catch (err) {
      await d.close();
      throw err;
    }
    return d;
  }

  queue(pop: string): Queue {
    const q = this.queues.get(pop);
    if (!q) throw new PopUnconfirmedError(`no queue for POP ${pop} (not in the policy?)`);
    return q;
  }

  get pops(): string[] {
    return [...this.queues.keys()];
  }

  /**
   * Runs one job on a POP and returns the worker's result; throws when the POP failed it (after its retries) or did
   * not confirm in time. A job still pending from an earlier call is joined, not added again.
   */
  async run<T>(
    pop: string,
    base: string,
    data: FleetJobData,
    timeoutMs = this.opts.confirmTimeoutMs ?? 25_000,
  ): Promise<T> {
    const queue = this.queue(pop);
    const events = this.events.get(pop)!;
    const epochKey = keys(this.opts.namespace ?? 'ft').epoch(base);
    const ctl = this.control as unknown as { ftNextEpoch(key: string, seen: number): Promise<number> };
    let job: Job | undefined;
    let epoch = Number((await this.control.get(epochKey)) ?? 0);
    for (let round = 0; round < 5 && !job; round++) {
      const id = jobId(base, epoch);
      const existing = await queue.getJob(id);
      const state = existing ? await existing.getState() : undefined;
      if (existing && state !== 'completed' && state !== 'failed' && state !== 'unknown') {
        job = existing;
      } else if (existing) {
        epoch = await ctl.ftNextEpoch(epochKey, epoch); // finished: this is a new request, under a new id
      } else {
        const keepDone = this.opts.keepCompletedSec ?? 3600;
        job = await queue.add(data.op, data, {
          jobId: id,
          attempts: this.opts.attempts ?? JOB_DEFAULTS.attempts,
          backoff: { type: 'exponential', delay: this.opts.backoffMs ?? JOB_DEFAULTS.backoff.delay },
          removeOnComplete: { age: keepDone, count: 10_000 },
          removeOnFail: { age: 86_400, count: 10_000 },
        });
      }
    }
    if (!job) throw new PopUnconfirmedError(`POP ${pop}: could not add job ${base}`);
    try {
      return (await job.waitUntilFinished(events, timeoutMs)) as T;
    } catch (err) {
      const msg = (err as Error).message;
      throw new PopUnconfirmedError(
        /timed out/i.test(msg)
          ? `POP ${pop} did not confirm ${data.op} within ${timeoutMs} ms (no live worker, or the job is still retrying)`
          : `POP ${pop}: ${msg}`,
      );
    }
  }

  async close(): Promise<void> {
    for (const e of this.events.values()) await bounded(e.close(), 2000);
    for (const q of this.queues.values()) await bounded(q.close(), 2000);
    for (const c of this.conns) await closeRedis(c);
  }
}

export interface RemoteInstance {
  name: string;
  kind: string;
  pop: string;
  reach: 'host' | 'network';
  capabilities: readonly RuleKind[];
}

/**
 * An action instance of a POP as the controller's executor sees it: apply/withdraw/list become jobs on the POP's
 * queue, answered by whichever worker of that POP takes them. Every apply also arms the delayed TTL withdraw, so
 * the POP takes the rule down at its expiry even when no controller is running then.
 */
export function remoteHandle(d: FleetDispatcher, inst: RemoteInstance, by: string, timeoutMs?: number): ActionHandle {
  const { name, pop } = inst;
  const confirmMs = timeoutMs ?? 25_000;
  const action: Action = {
    capabilities: inst.capabilities,
    // The speaker's own rendering needs its options, which only the POP's workers hold; the audit names the route.
    render: (rule: Rule) => [
      {
        adapter: name,
        format: 'text',
        text: `fleet: ${rule.kind} ${String(rule.target)} (${rule.id}) on ${name} through POP ${pop}`,
      },
    ],
    async apply(rule: Rule): Promise<Applied> {
      const r = await d.run<ApplyResult>(
        pop,
        jobBase('apply', rule.id, name),
        { op: 'apply', adapter: name, rule, by },
        confirmMs,
      );
      await armTtl(d.queue(pop), {
        op: 'ttl',
        adapter: name,
        rule,
        expiresAt: new Date(Date.now() + rule.ttlSeconds * 1000).toISOString(),
      });
      return {
        ruleId: rule.id,
        state: r.state,
        ...(r.nativeId ? { nativeId: r.nativeId } : {}),
        detail: `POP ${pop} confirmed (worker ${r.worker})${r.detail ? `: ${r.detail}` : ''}`,
      };
    },
    async withdraw(target: Rule | InstalledRef): Promise<void> {
      const isRule = 'kind' in target && 'tenant' in target;
      const key = isRule ? target.id : `ref:${target.nativeId}`;
      const data: FleetJobData = isRule
        ? { op: 'withdraw', adapter: name, rule: target, by }
        : { op: 'withdraw', adapter: name, ref: target, by };
      await d.run(pop, jobBase('withdraw', key, name), data, confirmMs);
    },
    async list(): Promise<InstalledRef[]> {
      return d.run<InstalledRef[]>(
        pop,
        jobBase('list', name, String(Date.now()), String(Math.random())),
        { op: 'list', adapter: name },
        confirmMs,
      );
    },
    async health() {
      return { status: 'ok', detail: `through POP ${pop}'s queue` };
    },
  };
  return { name, kind: inst.kind, reach: inst.reach, action, timeoutMs: confirmMs + 5000, retries: 0, backoffMs: 0 };
}
