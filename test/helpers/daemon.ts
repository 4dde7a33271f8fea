import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A real daemon started by a test (argv, no shell), with its output kept for failure messages.
 * `stop()` sends SIGTERM, then SIGKILL after a grace period; always call it in `after`.
 */
export class Daemon {
  readonly child: ChildProcess;
  output = '';
  exited: Promise<number | null>;

  constructor(
    readonly argv: string[],
    options: { env?: Record<string, string>; cwd?: string } = {},
  ) {
    const [cmd, ...args] = argv as [string, ...string[]];
    this.child = spawn(cmd, args, {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
