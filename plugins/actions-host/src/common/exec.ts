import { spawn } from 'node:child_process';
import { HostCommandError } from './errors.js';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the tool's stdin (batch files for iptables-restore, ipset restore, nft -f -, ip -batch -). */
  input?: string;
  env?: Record<string, string>;
  /** Return a non-zero exit instead of throwing. */
  allowFail?: boolean;
  timeoutMs?: number;
}

/**
 * Runs argv (never a shell), optionally inside a network namespace through `ip netns exec`, so every action
 * instance with a `netns` option is confined to that namespace (how the tests run, and useful for operators
 * who put services in namespaces).
 */
export class HostExec {
  constructor(
    readonly netns?: string,
    readonly defaultTimeoutMs = 60_000,
  ) {}

  /** The argv that really runs: what render() shows and apply() spawns. */
  wrap(argv: string[]): string[] {
    return this.netns ? ['ip', 'netns', 'exec', this.netns, ...argv] : argv;
  }

  async run(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    const full = this.wrap(argv);
    const result = await spawnArgv(full, options.input, options.env, options.timeoutMs ?? this.defaultTimeoutMs);
    if (result.code !== 0 && !options.allowFail)
      throw new HostCommandError(full, result.code, result.stderr || result.stdout);
    return result;
  }
}

export function spawnArgv(
  argv: string[],
  input?: string,
  env?: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ExecResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv as [string, ...string[]];
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (r: ExecResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(cmd, args, {
      env: env ? { ...process.env, ...env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ code: null, stdout, stderr: `${stderr}\ntimed out after ${timeoutMs} ms` });
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => done({ code: null, stdout, stderr: err.message }));
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}
