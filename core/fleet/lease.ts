import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';

// Extends the lease only while this holder still has it: a controller that was paused past its lease (GC, a
// frozen VM) must not take it back from the one that took over meanwhile.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface LeaseOptions {
  /** How long the lease lasts without a renewal; a crashed leader is replaced after at most this long. */
  ttlMs: number;
  /** Renewal period, and how often a standby asks (default ttlMs / 3). */
  renewMs?: number;
  /** Called while another controller holds the lease (once per holder, and when the holder changes). */
  onWaiting?: (holder: string) => void;
  signal?: AbortSignal;
}

export class LeaseAbortedError extends Error {}

/**
 * One controller acts per fleet: the holder of a Redis key with a TTL, renewed while it runs. The others wait as
 * standbys and take over when the key expires (the leader crashed) or is released (it stopped). The holder stops
 * acting as soon as it cannot prove it still holds the lease: when a renewal finds another holder, or when no
 * renewal has succeeded for a whole TTL (Redis unreachable: by then a standby may have taken it).
 */
export class ControllerLease {
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private timer: NodeJS.Timeout | undefined;
  private lastConfirmed = 0;
  private lostReason: ((why: string) => void) | undefined;
  /** Settles with why, when the lease is lost while held; never settles otherwise. */
  readonly lost: Promise<string>;

  constructor(
    private readonly conn: Redis,
    readonly key: string,
    private readonly o: LeaseOptions,
  ) {
    this.lost = new Promise((resolve) => (this.lostReason = resolve));
  }

  private get renewMs(): number {
    return this.o.renewMs ?? Math.max(100, Math.floor(this.o.ttlMs / 3));
  }

  /** Resolves once this process holds the lease; waits (as a standby) while another does. */
  async acquire(): Promise<void> {
    let lastHolder: string | undefined;
    for (;;) {
      if (this.o.signal?.aborted) throw new LeaseAbortedError('stopped while waiting for the controller lease');
      const took = await this.conn.set(this.key, this.holder, 'PX', this.o.ttlMs, 'NX').catch(() => null);
      if (took === 'OK') break;
      const holder = await this.conn.get(this.key).catch(() => null);
      if (holder && holder !== lastHolder) {
        lastHolder = holder;
        this.o.onWaiting?.(holder);
      }
      // An abort ends the wait early; the loop's first line then reports it.
      await delay(this.renewMs, undefined, this.o.signal ? { signal: this.o.signal } : {}).catch(() => undefined);
    }
    this.lastConfirmed = Date.now();
    this.timer = setInterval(() => void this.renew(), this.renewMs);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    let kept: unknown;
    try {
      kept = await this.conn.eval(RENEW, 1, this.key, this.holder, String(this.o.ttlMs));
    } catch {
      if (Date.now() - this.lastConfirmed >= this.o.ttlMs)
        this.lose(
          `the controller lease could not be renewed for ${this.o.ttlMs} ms (Redis unreachable): another controller may have taken over`,
        );
      return;
    }
    if (kept === 1) this.lastConfirmed = Date.now();
    else {
      const holder = await this.conn.get(this.key).catch(() => null);
      this.lose(`the controller lease is held by ${holder ?? 'nobody'} now: another controller took over`);
    }
  }

  private lose(why: string): void {
    this.stop();
    this.lostReason?.(why);
    this.lostReason = undefined;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gives the lease up at once (clean shutdown), so that a standby need not wait for it to expire. */
  async release(): Promise<void> {
    this.stop();
    await this.conn.eval(RELEASE, 1, this.key, this.holder).catch(() => undefined);
  }
}
