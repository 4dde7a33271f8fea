import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Capture tools as supervised children, argv only (never a shell). Three layers make sure none outlives ft:
 *
 * 1. `setpriv --pdeathsig KILL` (util-linux): the kernel kills the child the moment ft dies, even by kill -9.
 * 2. Each child leads its own process group, and stop() signals the whole group (SIGTERM, then SIGKILL).
 * 3. A pid file per child (pid, argv, kernel start time) in ft's state directory: the next start kills whatever
 *    a previous ft left (the death signal is cleared for binaries with file capabilities), after checking the
 *    process is still the one recorded, never a new process that reused the pid.
 */

let setprivChecked: boolean | undefined;

/** Whether util-linux's setpriv with --pdeathsig is installed (Debian: util-linux, always present). */
export function hasPdeathsig(): boolean {
  if (setprivChecked === undefined) {
    const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 5000 });
    setprivChecked = r.status === 0 && r.stdout.includes('--pdeathsig');
  }
  return setprivChecked;
}

export interface ChildOptions {
  /** Directory for the pid file (created 0700). */
  pidDir: string;
  /** Run inside this named network namespace (/run/netns/NAME, as `ip netns add` makes them). */
  netns?: string;
  /** Lines the child prints on stdout (dumpcap's -b printname:stdout). */
  onStdout?: (line: string) => void;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The kernel's start time of a process (field 22 of /proc/PID/stat), to tell it from a later one with its pid. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class SupervisedChild {
  readonly exited: Promise<ChildExit>;
  private readonly child: ChildProcess;
  private stderr = '';
  private pidFile: string | undefined;
  private done = false;

  private constructor(
    readonly argv: readonly string[],
    child: ChildProcess,
    private readonly options: ChildOptions,
  ) {
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.done = true;
        if (this.pidFile) void unlink(this.pidFile).catch(() => undefined);
        resolve({ code, signal });
      });
      child.on('error', (err) => {
        this.stderr += `${err.message}\n`;
        if (child.pid === undefined) {
          this.done = true;
          resolve({ code: null, signal: null });
        }
      });
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    if (options.onStdout && child.stdout) {
      let buffered = '';
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          options.onStdout!(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
      });
    }
  }

  /** Starts argv; resolves once its pid file is written. */
  static async start(argv: readonly string[], options: ChildOptions): Promise<SupervisedChild> {
    const full = [
      ...(hasPdeathsig() ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []),
      ...(options.netns ? ['nsenter', `--net=/run/netns/${options.netns}`, '--'] : []),
      ...argv,
    ];
    const [cmd, ...args] = full as [string, ...string[]];
    const child = spawn(cmd, args, {
      stdio: ['ignore', options.onStdout ? 'pipe' : 'ignore', 'pipe'],
      // Its own process group: stop() signals everything it started, and a Ctrl-C on ft's terminal reaches ft
      // first, which then stops captures in order (flushing their files).
      detached: true,
    });
    const s = new SupervisedChild(argv, child, options);
    if (child.pid !== undefined) {
      await mkdir(options.pidDir, { recursive: true, mode: 0o700 });
      const file = join(options.pidDir, `${child.pid}.json`);
      const record = { pid: child.pid, argv: full, start: startTime(child.pid) };
      await writeFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      s.pidFile = file;
      // It may have exited while the file was written.
      if (s.done) await unlink(file).catch(() => undefined);
    }
    return s;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.done;
  }

  /** The end of what it wrote on stderr (for error messages). */
  get errors(): string {
    return this.stderr.trim();
  }

  /** SIGTERM to its process group (dumpcap then closes its file properly), SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<ChildExit> {
    if (this.done) return this.exited;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || this.done) return;
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // Already gone.
      }
    }
  }
}

/**
 * Kills capture children a previous ft left behind (their pid files are still there) and removes the files.
 * Returns the pids killed.
 */
export async function reapStale(pidDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(pidDir);
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const file = join(pidDir, name);
    try {
      const rec = JSON.parse(await readFile(file, 'utf8')) as { pid: number; start?: string };
      if (Number.isInteger(rec.pid) && rec.pid > 1 && rec.start !== undefined && startTime(rec.pid) === rec.start) {
        try {
          process.kill(-rec.pid, 'SIGKILL');
        } catch {
          process.kill(rec.pid, 'SIGKILL');
        }
        killed.push(rec.pid);
      }
    } catch {
      // Unreadable or already gone: nothing to kill.
    }
    await unlink(file).catch(() => undefined);
  }
  return killed;
}

/**
 * A child kept running: started again after it dies, 1 s, 2 s, 4 s ... at most 30 s later (a child that ran a
 * minute was healthy: the back-off starts over). For capture rings and samplers that must always be there.
 */
export class KeptRunning {
  private child: SupervisedChild | undefined;
  private stopped = true;
  private restarts = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Why it is not running, while it is not. */
  problem: string | undefined;

  constructor(
    readonly argv: readonly string[],
    private readonly options: ChildOptions & { name: string; onProblem?: (message: string) => void },
  ) {}

  get running(): boolean {
    return this.child?.running ?? false;
  }

  get pid(): number | undefined {
    return this.child?.running ? this.child.pid : undefined;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.spawn();
  }

  private async spawn(): Promise<void> {
    if (this.stopped) return;
    const child = await SupervisedChild.start(this.argv, this.options);
    this.child = child;
    this.problem = undefined;
    const startedAt = Date.now();
    void child.exited.then((exit) => {
      if (this.stopped || this.child !== child) return;
      if (Date.now() - startedAt > 60_000) this.restarts = 0;
      const delay = Math.min(30_000, 1000 * 2 ** this.restarts++);
      const said = child.errors.split('\n').slice(-2).join(' ') || 'no message';
      this.problem = `${this.options.name} exited (${exit.code ?? exit.signal}): ${said}; restarting in ${delay / 1000} s`;
      this.options.onProblem?.(this.problem);
      this.timer = setTimeout(() => void this.spawn().catch(() => undefined), delay);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.child?.stop();
  }
}
