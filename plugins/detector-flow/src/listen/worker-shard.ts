import { Worker } from 'node:worker_threads';
import type { TargetPartial } from '../aggregate/window.js';
import type { BoundSocket } from './listener.js';
import type { Shard, ShardOptions, ShardStatus } from './shard.js';

/** Test hook: young generation of receive workers (MB), FT_FLOW_WORKER_YOUNG_MB. */
function limits(): { maxYoungGenerationSizeMb?: number } {
  const mb = Number(process.env.FT_FLOW_WORKER_YOUNG_MB);
  return Number.isFinite(mb) && mb > 0 ? { maxYoungGenerationSizeMb: mb } : {};
}

type Reply = { id: number; error?: string; bound?: BoundSocket[]; partials?: TargetPartial[]; status?: ShardStatus };

/**
 * A receive worker (worker_threads) seen from the detector: its sockets, decoding and window live in the worker;
 * this side asks it to start, close a window, report, stop. A worker that dies answers as an empty shard (its
 * exporters are then not decoded, and problems() says so) so window closing never stalls.
 */
export class WorkerShard implements Shard {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private nextId = 1;
  private failure: string | undefined;
  private stopping = false;

  constructor(
    readonly index: number,
    readonly count: number,
    options: ShardOptions,
  ) {
    const here = import.meta.url;
    // Built, the worker is worker.js beside this file; under tsx (tests) it is worker.ts, and the worker thread
    // must load tsx itself before importing it.
    const ts = here.endsWith('.ts');
    const url = new URL(ts ? './worker.ts' : './worker.js', here);
    this.worker = ts
      ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, {
          eval: true,
          workerData: options,
          resourceLimits: limits(),
        })
      : new Worker(url, { workerData: options, resourceLimits: limits() });
    this.worker.on('message', (r: Reply) => {
      const done = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      done?.(r);
    });
    this.worker.on('error', (err: Error) => this.died(err.message));
    this.worker.on('exit', (code) => this.died(`exited with code ${code}`));
    // Referenced, as a socket on this thread would be: a started collector keeps the process alive until stop().
  }

  private died(reason: string): void {
    if (this.stopping || this.failure !== undefined) return;
    this.failure = reason;
    for (const [id, done] of this.waiting) {
      this.waiting.delete(id);
      done({ id, error: reason });
    }
  }

  private ask(type: string): Promise<Reply> {
    const id = this.nextId++;
    if (this.failure !== undefined) return Promise.resolve({ id, error: this.failure });
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, type });
    });
  }

  async start(): Promise<BoundSocket[]> {
    const r = await this.ask('start');
    if (r.error !== undefined) throw new Error(r.error);
    return r.bound ?? [];
  }

  async flush(): Promise<TargetPartial[]> {
    return (await this.ask('flush')).partials ?? [];
  }

  async status(): Promise<ShardStatus | undefined> {
    return (await this.ask('status')).status;
  }

  problems(): string[] {
    return this.failure === undefined
      ? []
      : [`receive worker ${this.index + 1} of ${this.count} ${this.failure}: its exporters are not decoded`];
  }

  async stop(): Promise<void> {
    if (this.failure === undefined) await this.ask('stop');
    this.stopping = true;
    await this.worker.terminate();
  }
}
