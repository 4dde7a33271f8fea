import { hash32, type Sample } from '@ft/sdk';
import { Worker } from 'node:worker_threads';
import type { ExporterHealth } from '../aggregate/health.js';
import type { TargetPartial } from '../aggregate/window.js';
import { TrailingWindows } from '../aggregate/trailing.js';
import type { ProtocolChoice } from '../decode/index.js';
import { mergeToSamples, type EngineOptions, type EngineTotals, type FlowEngine } from './engine.js';

/** Datagrams are copied into one chunk per worker and handed over (transferred, not cloned) in batches. */
const CHUNK_BYTES = 1 << 20;
const PROTOCOLS: ProtocolChoice[] = ['auto', 'sflow', 'netflow', 'netflow5', 'netflow9', 'ipfix'];

interface Batch {
  data: Buffer;
  used: number;
  /** Per datagram: offset, length, exporter index, protocol index, arrival ms. */
  meta: number[];
  exporters: string[];
  exporterIndex: Map<string, number>;
}

export interface WorkerBatch {
  data: ArrayBuffer;
  meta: number[];
  exporters: string[];
}

type Reply = { id: number; partials?: TargetPartial[]; exporters?: ExporterHealth[]; totals?: EngineTotals };

function newBatch(): Batch {
  return { data: Buffer.allocUnsafeSlow(CHUNK_BYTES), used: 0, meta: [], exporters: [], exporterIndex: new Map() };
}

/**
 * Decodes on N worker threads. Datagrams are sharded by exporter address, so each exporter's templates and
 * sequence numbers live in exactly one worker; window partials are merged on the main thread.
 */
export class WorkerEngine implements FlowEngine {
  private readonly workers: Worker[] = [];
  private readonly batches: Batch[] = [];
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private nextId = 1;
  private scheduled = false;
  private readonly trailing = new TrailingWindows();

  constructor(
    readonly count: number,
    private readonly options: EngineOptions,
  ) {
    const here = import.meta.url;
    // Built, the worker is worker.js beside this file; under tsx (tests) it is worker.ts, and the worker thread
    // must load tsx itself before importing it.
    const ts = here.endsWith('.ts');
    const url = new URL(ts ? './worker.ts' : './worker.js', here);
    for (let i = 0; i < count; i++) {
      const w = ts
        ? new Worker(
            `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`,
            { eval: true, workerData: options },
          )
        : new Worker(url, { workerData: options });
      w.on('message', (r: Reply) => {
        const done = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        done?.(r);
      });
      // A worker that dies must not stall window closing: its shard is reported and answered as empty.
      w.on('error', (err) => this.died(i, err.message));
      w.on('exit', (code) => this.died(i, `exited with code ${code}`));
      w.unref();
      this.workers.push(w);
      this.batches.push(newBatch());
    }
  }

  ingest(buf: Buffer, exporter: string, now: number, protocol: ProtocolChoice): void {
    const i = this.count === 1 ? 0 : hash32(exporter) % this.count;
    let b = this.batches[i] as Batch;
    if (b.used + buf.length > CHUNK_BYTES) {
      this.send(i);
      b = this.batches[i] as Batch;
    }
    let e = b.exporterIndex.get(exporter);
    if (e === undefined) {
      e = b.exporters.length;
      b.exporters.push(exporter);
      b.exporterIndex.set(exporter, e);
    }
    buf.copy(b.data, b.used);
    b.meta.push(b.used, buf.length, e, PROTOCOLS.indexOf(protocol), now);
    b.used += buf.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        for (let k = 0; k < this.count; k++) this.send(k);
      });
    }
  }

  private send(i: number): void {
    const b = this.batches[i] as Batch;
    if (b.meta.length === 0) return;
    if (this.failures.has(i)) {
      b.used = 0;
      b.meta = [];
      return;
    }
    const data = b.data.buffer.slice(0, b.used) as ArrayBuffer;
    const batch: WorkerBatch = { data, meta: b.meta, exporters: b.exporters };
    (this.workers[i] as Worker).postMessage({ type: 'batch', batch }, [data]);
    // slice() copied the used bytes, so the chunk itself is reused.
    b.used = 0;
    b.meta = [];
    b.exporters = [];
    b.exporterIndex = new Map();
  }

  /** Why each dead worker died (its exporters are no longer decoded). */
  readonly failures = new Map<number, string>();
  private closing = false;

  private died(i: number, reason: string): void {
    if (this.closing || this.failures.has(i)) return;
    this.failures.set(i, reason);
    for (const [id, done] of this.waiting)
      if (this.owner.get(id) === i) {
        this.waiting.delete(id);
        done({ id });
      }
  }

  private readonly owner = new Map<number, number>();

  problems(): string[] {
    return [...this.failures].map(
      ([i, reason]) => `decoding worker ${i + 1} of ${this.count} ${reason}: its exporters are not decoded`,
    );
  }

  private ask(type: string): Promise<Reply[]> {
    for (let k = 0; k < this.count; k++) this.send(k);
    return Promise.all(
      this.workers.map(
        (w, i) =>
          new Promise<Reply>((resolve) => {
            const id = this.nextId++;
            if (this.failures.has(i)) return resolve({ id });
            this.owner.set(id, i);
            this.waiting.set(id, (r) => {
              this.owner.delete(id);
              resolve(r);
            });
            w.postMessage({ type, id });
          }),
      ),
    );
  }

  async flush(at: number, windowMs: number): Promise<Sample[]> {
    const replies = await this.ask('flush');
    return mergeToSamples(
      replies.map((r) => r.partials ?? []),
      this.trailing,
      { source: this.options.source, at, windowMs, topN: this.options.topN },
    );
  }

  async exporters(): Promise<ExporterHealth[]> {
    const replies = await this.ask('exporters');
    return replies.flatMap((r) => r.exporters ?? []).sort((a, b) => a.exporter.localeCompare(b.exporter));
  }

  async totals(): Promise<EngineTotals> {
    const replies = await this.ask('totals');
    const sum: EngineTotals = {
      datagrams: 0,
      records: 0,
      decodeErrors: 0,
      templates: 0,
      overflowRecords: 0,
      outsideRecords: 0,
    };
    for (const r of replies) for (const k of Object.keys(sum) as (keyof EngineTotals)[]) sum[k] += r.totals?.[k] ?? 0;
    return sum;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export { PROTOCOLS as WORKER_PROTOCOLS };
