export interface RunResult {
  /** Exit code; null when the command could not be started (not installed) or was killed at the timeout. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Written to the command's stdin (batch files: iptables-restore, nft -f -, ip -batch -). */
  input?: string;
  /** Added to the environment. */
  env?: Record<string, string>;
  /** Killed (SIGKILL) after this long; default 60 s. */
  timeoutMs?: number;
}

/**
 * The one command runner: argv, never a shell (no quoting, nothing an attacker-controlled name can turn into a
 * second command); bounded in time; never throws. A missing binary is `code: null` with the reason in stderr.
 * Host actions, the doctor, birdc and vtysh, the FlowSpec enforcer's nft all run through it.
 */
export async function runArgv(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  // Loaded on first use: the sdk is imported everywhere, a child process is started by few.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    let stdout = '';
    let stderr = '';
    let settled = false;
    const timeoutMs = options.timeoutMs ?? 60_000;
    const done = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(cmd, args, {
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({
        code: null,
        stdout,
        stderr: `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}timed out after ${timeoutMs} ms`,
        timedOut: true,
      });
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => done({ code: null, stdout, stderr: err.message, timedOut: false }));
    child.on('close', (code) => done({ code, stdout, stderr, timedOut: false }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
