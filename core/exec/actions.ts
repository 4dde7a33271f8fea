import type { Action } from '@ft/sdk';

/** A running action instance, as the executor sees it: the policy's name for it and how patient to be with it. */
export interface ActionHandle {
  /** Instance name from the policy ("pop1-gobgp"). */
  name: string;
  kind: string;
  reach: 'host' | 'network';
  action: Action;
  /** Per call (apply, withdraw, list). */
  timeoutMs: number;
  /** Extra attempts within one op, with exponential backoff from backoffMs. */
  retries: number;
  backoffMs: number;
}

export const DEFAULT_CALL = { timeoutMs: 10_000, retries: 2, backoffMs: 200 } as const;

export class CallTimeoutError extends Error {
  constructor(
    readonly adapter: string,
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${adapter}: ${what} did not answer within ${ms} ms`);
    this.name = 'CallTimeoutError';
  }
}

export type CallResult<T> =
  | { ok: true; value: T; attempts: number; ms: number }
  | { ok: false; error: Error; timeout: boolean; attempts: number; ms: number };

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One call bounded in time. The call itself may still finish later: callers treat a timeout as "state unknown". */
export async function withTimeout<T>(adapter: string, what: string, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallTimeoutError(adapter, what, ms)), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([Promise.resolve().then(fn), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// The plugin contract does not promise that an action is reentrant (a file rewritten whole, a CLI holding a lock),
// so calls to one instance run one at a time, in the order they were made.
const queues = new WeakMap<ActionHandle, Promise<unknown>>();

function serialised<T>(h: ActionHandle, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(h) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  queues.set(
    h,
    run.catch(() => undefined),
  );
  return run;
}

/** Calls with a timeout per attempt and exponential backoff between attempts; never throws. */
export async function callWithRetry<T>(
  h: ActionHandle,
  what: string,
  fn: () => Promise<T>,
  sleep: Sleep = realSleep,
): Promise<CallResult<T>> {
  return serialised(h, () => attempt(h, what, fn, sleep));
}

async function attempt<T>(h: ActionHandle, what: string, fn: () => Promise<T>, sleep: Sleep): Promise<CallResult<T>> {
  const t0 = performance.now();
  let last: Error = new Error('not attempted');
  let attempts = 0;
  for (let i = 0; i <= h.retries; i++) {
    attempts++;
    try {
      const value = await withTimeout(h.name, what, h.timeoutMs, fn);
      return { ok: true, value, attempts, ms: performance.now() - t0 };
    } catch (err) {
      last = err instanceof Error ? err : new Error(String(err));
      if (i < h.retries) await sleep(h.backoffMs * 2 ** i);
    }
  }
  return { ok: false, error: last, timeout: last instanceof CallTimeoutError, attempts, ms: performance.now() - t0 };
}
