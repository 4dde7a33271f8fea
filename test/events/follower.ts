// `ft events --follow --json` as a child process, for tests that watch a separate ft run through it.
import { spawn, type ChildProcess } from 'node:child_process';
import type { WireEvent } from '../../core/events/index.js';
import { BIN, ROOT } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

/** `ft events --follow --json` as a child process: its NDJSON lines, parsed as they come. */
export class Follower {
  readonly child: ChildProcess;
  readonly events: WireEvent[] = [];
  stderr = '';
  private buf = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, 'events', '--follow', '--json', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.trim()) this.events.push(JSON.parse(line) as WireEvent);
      }
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  seen(test: (e: WireEvent) => boolean, what: string): Promise<WireEvent> {
    return waitFor(() => this.events.find(test), { timeoutMs: 60_000, what: `ft events --follow to show ${what}` });
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}
