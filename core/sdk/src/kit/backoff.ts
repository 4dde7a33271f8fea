/**
 * The one exponential backoff: `baseMs · 2^attempt` capped at `maxMs`, times a random factor in
 * [1 + jitter[0], 1 + jitter[1]) so many instances do not retry in lockstep, capped again. Attempt 0 is the first
 * retry. Every retry loop in ft (vendor HTTP calls, RTR reconnects, gRPC watch streams, alert delivery) uses it.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Random spread as fractions of the delay, e.g. [0, 0.25] adds up to 25%, [-0.2, 0.2] is ±20%. Default none. */
  jitter?: readonly [number, number];
  random?: () => number;
}

export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const exp = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, Math.min(attempt, 40)));
  const [lo, hi] = o.jitter ?? [0, 0];
  const factor = lo === 0 && hi === 0 ? 1 : 1 + lo + (hi - lo) * (o.random ?? Math.random)();
  return Math.max(0, Math.min(o.maxMs, Math.round(exp * factor)));
}
