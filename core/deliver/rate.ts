import type { RateLimit } from '@ft/sdk';

/**
 * A token bucket for one destination (a webhook, a routing key, a chat): on average `perSecond`, up to `burst` at
 * once, plus the wait the service itself asked for (Retry-After), which holds every send to that destination.
 */
export class RateLimiter {
  private tokens: number;
  private updated: number;
  private heldUntil = 0;

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limit.burst;
    this.updated = now();
  }

  private refill(t: number): void {
    const add = ((t - this.updated) / 1000) * this.limit.perSecond;
    this.tokens = Math.min(this.limit.burst, this.tokens + add);
    this.updated = t;
  }

  /** Milliseconds until a send may go (0: now). Does not take a token. */
  delayMs(): number {
    const t = this.now();
    this.refill(t);
    const held = Math.max(0, this.heldUntil - t);
    const forToken = this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.limit.perSecond) * 1000);
    return Math.max(held, forToken);
  }

  /** Takes a token for a send that goes now. */
  take(): void {
    this.refill(this.now());
    this.tokens = Math.max(0, this.tokens - 1);
  }

  /** The service said "not before ms from now": nothing goes to it until then (and the bucket starts empty). */
  hold(ms: number): void {
    const until = this.now() + Math.max(0, ms);
    if (until > this.heldUntil) this.heldUntil = until;
    this.tokens = 0;
  }

  get heldFor(): number {
    return Math.max(0, this.heldUntil - this.now());
  }
}
