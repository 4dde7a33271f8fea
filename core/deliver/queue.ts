import { backoffDelay, type DeliveryAttempt, type DeliveryOutcome, type RateLimit } from '@ft/sdk';
import { RateLimiter } from './rate.js';

/** How an item left the queue. */
export interface Settled {
  result: 'delivered' | 'rejected' | 'expired';
  attempts: number;
  /** The last outcome's reason (rejected, expired). */
  reason?: string;
  status?: number;
  /** ms from the item entering the queue to its first attempt starting, and to the end. */
  waitedMs: number;
  tookMs: number;
}

export interface QueueStats {
  name: string;
  state: 'ok' | 'failing' | 'broken' | 'closed';
  pending: number;
  inFlight: boolean;
  delivered: number;
  rejected: number;
  expired: number;
  retries: number;
  lastDeliveredAt?: number;
  lastError?: string;
  brokenReason?: string;
  heldForMs: number;
}

export interface RetryPolicy {
  /** First wait after a failed attempt (doubled, with jitter, up to maxMs). Default 1 s. */
  baseMs?: number;
  /** Default 5 min. */
  maxMs?: number;
  /** An item still not delivered this long after it came is given up (`expired`). Default 1 h. */
  deadlineMs?: number;
}

export interface DeliveryQueueOptions<T> {
  /** The destination, for logs and stats. */
  name: string;
  /** One attempt. Throwing counts as a network failure (retried); the queue aborts `signal` at `timeoutMs`. */
  send(item: T, attempt: DeliveryAttempt): Promise<DeliveryOutcome>;
  rate: RateLimit;
  /** Hard bound on one attempt (connect + answer), default 10 s. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Waiting items beyond this make push() wait (backpressure to the reader, which then reads from the log). */
  maxPending?: number;
  /**
   * Coalescing: items with one key that are both still waiting become one delivery, `merge(waiting, next)`. The item
   * in flight is never merged (what was sent is what was sent).
   */
  keyOf?(item: T): string | undefined;
  merge?(waiting: T, next: T): T;
  /** Each item's end (delivered, rejected, expired). */
  onSettled?(item: T, s: Settled): void;
  /** The destination answered that it is gone for good: the queue stops; `item` and everything after it wait. */
  onBroken?(reason: string, status: number | undefined, item: T): void;
  /** A destination that had been dead (broken and resumed, or left broken by a previous run) delivered again. */
  onRecovered?(downForMs: number): void;
  /** Every attempt's outcome (metrics, logs). */
  onAttempt?(item: T, outcome: DeliveryOutcome, attempt: number, ms: number): void;
  now?: () => number;
  random?: () => number;
}

interface Entry<T> {
  item: T;
  key: string | undefined;
  queuedAt: number;
  firstAttemptAt?: number;
  attempts: number;
}

/**
 * One destination's delivery line: items go out one at a time, in order, never waiting for another destination.
 * It paces sends to the destination's rate limit and to the waits the service asks for (Retry-After), retries
 * what may succeed later (408, 429, 5xx, network, timeout) with exponential backoff and jitter until a deadline,
 * drops what the service refused for its content, and stops at a dead destination (410, a revoked key) keeping
 * what it had. Alert channels and export sinks each run one per destination.
 */
export class DeliveryQueue<T> {
  private readonly waiting: Entry<T>[] = [];
  private head?: Entry<T>;
  private readonly limiter: RateLimiter;
  private readonly now: () => number;
  private closed = false;
  private broken?: { reason: string; since: number };
  private failingSince?: number;
  /** Set while (or since) the destination was dead: its next delivery is a recovery worth telling. */
  private downSince?: number;
  private wake?: () => void;
  private spaceWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private readonly stop = new AbortController();
  private readonly done: Promise<void>;
  private readonly stat = {
    delivered: 0,
    rejected: 0,
    expired: 0,
    retries: 0,
    lastDeliveredAt: undefined as number | undefined,
    lastError: undefined as string | undefined,
  };

  constructor(private readonly o: DeliveryQueueOptions<T>) {
    this.now = o.now ?? Date.now;
    this.limiter = new RateLimiter(o.rate, this.now);
    this.done = this.loop();
  }

  get pending(): number {
    return this.waiting.length + (this.head ? 1 : 0);
  }

  /**
   * Queues an item now, synchronously: 'merged' into a waiting item with its key, 'queued', 'dropped' (closed, or a
   * `mergeOnly` amendment with nothing waiting to amend) or 'full' (nothing done: `maxPending` items wait). Items
   * offered before the caller yields are merged deterministically: the queue takes its next item only after.
   */
  offer(item: T, o: { mergeOnly?: boolean } = {}): 'queued' | 'merged' | 'dropped' | 'full' {
    if (this.closed) return 'dropped';
    const key = this.o.keyOf?.(item);
    if (key !== undefined && this.o.merge) {
      for (let i = this.waiting.length - 1; i >= 0; i--) {
        const w = this.waiting[i] as Entry<T>;
        if (w.key === key) {
          w.item = this.o.merge(w.item, item);
          return 'merged';
        }
      }
    }
    if (o.mergeOnly) return 'dropped';
    if (this.waiting.length >= (this.o.maxPending ?? 1000)) return 'full';
    this.waiting.push({ item, key, queuedAt: this.now(), attempts: 0 });
    this.wake?.();
    return 'queued';
  }

  /** `offer`, waiting for room when the queue is full (backpressure). Resolves false when the item was dropped. */
  async push(item: T, o: { mergeOnly?: boolean } = {}): Promise<boolean> {
    for (;;) {
      const r = this.offer(item, o);
      if (r !== 'full') return r !== 'dropped';
      await new Promise<void>((res) => this.spaceWaiters.push(res));
    }
  }

  /** A previous run left the destination dead: its first delivery now counts as a recovery (onRecovered). */
  markDown(sinceMs: number): void {
    this.downSince ??= sinceMs;
  }

  /** Resolves when nothing is queued or in flight (or the queue is broken or closed). */
  async idle(): Promise<void> {
    while (!this.closed && !this.broken && this.pending > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** A broken destination sends again (an operator fixed it: `ft alert test` succeeded, a policy reload). */
  resume(): void {
    if (!this.broken) return;
    this.broken = undefined;
    this.wake?.();
  }

  stats(): QueueStats {
    return {
      name: this.o.name,
      state: this.closed ? 'closed' : this.broken ? 'broken' : this.failingSince !== undefined ? 'failing' : 'ok',
      pending: this.pending,
      inFlight: this.head !== undefined && this.head.firstAttemptAt !== undefined,
      delivered: this.stat.delivered,
      rejected: this.stat.rejected,
      expired: this.stat.expired,
      retries: this.stat.retries,
      ...(this.stat.lastDeliveredAt !== undefined ? { lastDeliveredAt: this.stat.lastDeliveredAt } : {}),
      ...(this.stat.lastError ? { lastError: this.stat.lastError } : {}),
      ...(this.broken ? { brokenReason: this.broken.reason } : {}),
      heldForMs: this.limiter.heldFor,
    };
  }

  /** Stops: an attempt in flight is aborted; what is still queued is left (the caller's cursor still has it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    this.wake?.();
    for (const r of this.spaceWaiters.splice(0)) r();
    for (const r of this.idleWaiters.splice(0)) r();
    await this.done;
  }

  private notifyIdle(): void {
    if (this.pending === 0 || this.broken) for (const r of this.idleWaiters.splice(0)) r();
  }

  /** Waits ms, or until woken (a push, close, resume) when `wakeable`. */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        if (!wakeable && !this.closed) return;
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private waitForWork(): Promise<void> {
    return new Promise<void>((r) => {
      this.wake = () => {
        this.wake = undefined;
        r();
      };
    });
  }

  private async loop(): Promise<void> {
    const retry = { baseMs: 1000, maxMs: 300_000, deadlineMs: 3_600_000, ...this.o.retry };
    while (!this.closed) {
      if (this.broken || (!this.head && this.waiting.length === 0)) {
        this.notifyIdle();
        await this.waitForWork();
        continue;
      }
      if (!this.head) {
        this.head = this.waiting.shift() as Entry<T>;
        for (const r of this.spaceWaiters.splice(0)) r();
      }
      const e = this.head;
      const delay = this.limiter.delayMs();
      if (delay > 0) {
        await this.sleep(delay, false);
        continue;
      }
      this.limiter.take();
      e.attempts++;
      const started = this.now();
      e.firstAttemptAt ??= started;
      const timeout = AbortSignal.timeout(this.o.timeoutMs ?? 10_000);
      const signal = AbortSignal.any([timeout, this.stop.signal]);
      let outcome: DeliveryOutcome;
      let onAbort: (() => void) | undefined;
      // A channel that ignores the signal is left behind at the timeout all the same: the line never stalls.
      const abandoned = new Promise<never>((_, reject) => {
        onAbort = () => reject(new Error('aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      abandoned.catch(() => undefined);
      try {
        outcome = await Promise.race([this.o.send(e.item, { attempt: e.attempts, signal }), abandoned]);
        if (timeout.aborted && outcome.result !== 'delivered')
          outcome = { result: 'retry', reason: `no answer within ${this.o.timeoutMs ?? 10_000} ms` };
      } catch (err) {
        outcome = {
          result: 'retry',
          reason: timeout.aborted
            ? `no answer within ${this.o.timeoutMs ?? 10_000} ms`
            : (err as Error).message || String(err),
        };
      } finally {
        if (onAbort) signal.removeEventListener('abort', onAbort);
      }
      const ms = this.now() - started;
      this.o.onAttempt?.(e.item, outcome, e.attempts, ms);
      if (this.closed && outcome.result !== 'delivered') break;
      switch (outcome.result) {
        case 'delivered':
          this.stat.delivered++;
          this.stat.lastDeliveredAt = this.now();
          this.failingSince = undefined;
          if (this.downSince !== undefined) {
            this.o.onRecovered?.(this.now() - this.downSince);
            this.downSince = undefined;
          }
          this.settle(e, { result: 'delivered', attempts: e.attempts });
          break;
        case 'rejected':
          this.stat.rejected++;
          this.stat.lastError = outcome.reason;
          this.settle(e, {
            result: 'rejected',
            attempts: e.attempts,
            reason: outcome.reason,
            ...(outcome.status ? { status: outcome.status } : {}),
          });
          break;
        case 'dead':
          this.stat.lastError = outcome.reason;
          this.broken = { reason: outcome.reason, since: this.now() };
          this.failingSince ??= this.now();
          this.downSince ??= this.now();
          // The attempt did not go through: the next one (after resume) is a first try again for pacing purposes.
          this.o.onBroken?.(outcome.reason, outcome.status, e.item);
          break;
        case 'retry': {
          this.stat.retries++;
          this.stat.lastError = outcome.reason;
          this.failingSince ??= this.now();
          if (this.now() - e.queuedAt >= retry.deadlineMs) {
            this.stat.expired++;
            this.settle(e, {
              result: 'expired',
              attempts: e.attempts,
              reason: `not delivered within ${Math.round(retry.deadlineMs / 1000)} s: ${outcome.reason}`,
              ...(outcome.status ? { status: outcome.status } : {}),
            });
            break;
          }
          const wait =
            outcome.waitMs !== undefined
              ? outcome.waitMs
              : backoffDelay(e.attempts - 1, {
                  baseMs: retry.baseMs,
                  maxMs: retry.maxMs,
                  jitter: [0, 0.25],
                  random: this.o.random ?? Math.random,
                });
          // A server's wait holds the whole destination (every later item too); a backoff is this item's.
          this.limiter.hold(Math.min(wait, retry.deadlineMs));
          break;
        }
      }
    }
    this.notifyIdle();
  }

  private settle(e: Entry<T>, s: Omit<Settled, 'waitedMs' | 'tookMs'>): void {
    const end = this.now();
    const full: Settled = { ...s, waitedMs: (e.firstAttemptAt ?? end) - e.queuedAt, tookMs: end - e.queuedAt };
    this.head = undefined;
    this.o.onSettled?.(e.item, full);
    this.notifyIdle();
  }
}
