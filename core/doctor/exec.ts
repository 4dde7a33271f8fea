import { runArgv } from '@ft/sdk';

export interface Ran {
  /** null: the command could not be started (not installed). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** argv only, bounded in time (ft's one runner, @ft/sdk runArgv); a missing binary is code null, a timeout -1. */
export async function run(
  argv: string[],
  options: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<Ran> {
  const r = await runArgv(argv, { ...options, timeoutMs: options.timeoutMs ?? 10_000 });
  return { code: r.timedOut ? -1 : r.code, stdout: r.stdout, stderr: r.stderr };
}

/** The last meaningful line a tool printed, for one-line reports. */
export const lastLine = (r: Ran) => (r.stderr || r.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit ${r.code}`;
