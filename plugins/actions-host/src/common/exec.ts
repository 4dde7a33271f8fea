import { runArgv } from '@ft/sdk';
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

/** ft's one runner (@ft/sdk runArgv) in the shape host actions use. */
export async function spawnArgv(
  argv: string[],
  input?: string,
  env?: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ExecResult> {
  const r = await runArgv(argv, { ...(input !== undefined ? { input } : {}), ...(env ? { env } : {}), timeoutMs });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}
