/** A bounded wait that ran out; `what` names what was waited for. */
export class TimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * The one timeout helper. `withTimeout` rejects with a TimeoutError when `work` takes longer than `ms` (the work
 * itself is not cancelled: pass an AbortSignal to it for that); `settleWithin` waits at most `ms` and resolves
 * `undefined` instead (shutdown paths that must end in bounded time whatever the work does). Timers never keep the
 * process alive.
 */
export function withTimeout<T>(work: Promise<T> | (() => Promise<T>), ms: number, what: string): Promise<T> {
  const p = typeof work === 'function' ? Promise.resolve().then(work) : work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    timer.unref?.();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export async function settleWithin<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  try {
    return await withTimeout(work, ms, 'settle');
  } catch {
    return undefined;
  }
}
