// A real redis-server for one test: loopback, a free port, its own directory; persistence only when asked for.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

export class RedisServer {
  private proc?: ChildProcess;
  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly aof: boolean,
    readonly fsync: 'always' | 'everysec',
  ) {}

  /** `fsync`: with AOF, fsync every write (tests: a SIGKILL loses nothing) or every second (benchmarks, production default). */
  static async start(options: { aof?: boolean; fsync?: 'always' | 'everysec' } = {}): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'ft-redis-'));
    const server = new RedisServer(await freePort(), dir, options.aof ?? false, options.fsync ?? 'always');
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and directory (an AOF restart reads back what it wrote). */
  async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--dir',
      this.dir,
      '--protected-mode',
      'no',
    ];
    args.push('--appendonly', this.aof ? 'yes' : 'no');
    if (this.aof) args.push('--appendfsync', this.fsync);
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    await waitFor(
      async () => {
        const c = new Redis({
          port: this.port,
          host: '127.0.0.1',
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        c.on('error', () => undefined);
        try {
          await c.connect();
          return (await c.ping()) === 'PONG';
        } catch {
          return false;
        } finally {
          c.disconnect();
        }
      },
      { timeoutMs: 10_000, intervalMs: 50, what: `redis-server on port ${this.port}` },
    );
  }

  /** SIGKILL (a crash), or SIGTERM (a clean stop that flushes the AOF). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill(signal);
    });
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  client(): Redis {
    return new Redis({ port: this.port, host: '127.0.0.1', maxRetriesPerRequest: 3 });
  }
}
