import { spawn } from 'node:child_process';

export interface Ran {
  /** null: the command could not be started (not installed). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** argv only, bounded in time; a missing binary is a result (code null), not an exception. */
export function run(
  argv: string[],
  options: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    let stdout = '';
    let stderr = '';
    let done = false;
    const finish = (r: Ran) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ? { ...process.env, ...options.env } : process.env,
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ code: -1, stdout, stderr: `${stderr}timed out` });
    }, options.timeoutMs ?? 10_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => finish({ code: null, stdout, stderr: err.message }));
    child.on('close', (code) => finish({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** The last meaningful line a tool printed, for one-line reports. */
export const lastLine = (r: Ran) => (r.stderr || r.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit ${r.code}`;
