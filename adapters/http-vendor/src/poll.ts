export interface PollOptions {
  intervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Calls `read` until `done` says so or the time runs out. Returns the last value and whether it finished:
 * a slow vendor operation that has not finished is not an error, the caller reports it as pending.
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  opts: PollOptions,
): Promise<{ done: boolean; value: T }> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return { done: true, value };
    if (Date.now() + opts.intervalMs > deadline || opts.signal?.aborted) return { done: false, value };
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}
