import { Prefix } from '@ft/sdk';
import { Collector, type CollectorOptions } from '../aggregate/collector.js';
import type { ExporterHealth } from '../aggregate/health.js';
import type { TargetPartial } from '../aggregate/window.js';
import { ExporterFilter } from './exporter-filter.js';
import { FlowListener, type BoundSocket, type ListenerCounts, type ListenSpec, type MirrorSpec } from './listener.js';

export interface EngineTotals {
  datagrams: number;
  records: number;
  decodeErrors: number;
  templates: number;
  overflowRecords: number;
  outsideRecords: number;
}

/** Serializable collector options (Prefix objects do not cross a worker boundary, their text does). */
export interface EngineOptions extends Omit<CollectorOptions, 'protect' | 'groups' | 'exporterSamplingRates'> {
  protect: string[];
  groups: { name: string; prefixes: string[] }[];
  exporterSamplingRates: [string, number][];
}

export function collectorOptions(o: EngineOptions): CollectorOptions {
  return {
    ...o,
    protect: o.protect.map((t) => Prefix.parse(t)),
    groups: o.groups.map((g) => ({ name: g.name, prefixes: g.prefixes.map((t) => Prefix.parse(t)) })),
    exporterSamplingRates: new Map(o.exporterSamplingRates),
  };
}

/** Everything one receive shard needs, as plain data (it is the workerData of a receive worker). */
export interface ShardOptions {
  listeners: ListenSpec[];
  allowedExporters: string[];
  mirrors: MirrorSpec[];
  receiveBufferBytes: number;
  coalesceMs: number;
  /** Join each port's SO_REUSEPORT group (receive workers); the ports were claimed free beforehand. */
  reusePort: boolean;
  /** Read IPv4 sockets in batches (recvmmsg) when the native addon was built. */
  batchReceive: boolean;
  collector: EngineOptions;
}

export interface ShardStatus {
  counts: ListenerCounts;
  bound: BoundSocket[];
  totals: EngineTotals;
  exporters: ExporterHealth[];
}

/**
 * One receive shard: its own sockets and its own Collector (decoders, template cache, exporter health, window).
 * The inline detector runs one on the calling thread; each receive worker runs one. An exporter's datagrams
 * all reach one shard (one socket, or the kernel's SO_REUSEPORT hash of its address and port), so its templates,
 * sampling state and sequence numbers stay whole.
 */
export class CollectorShard {
  readonly collector: Collector;
  private readonly listener: FlowListener;

  constructor(readonly options: ShardOptions) {
    this.collector = new Collector(collectorOptions(options.collector));
    const collector = this.collector;
    this.listener = new FlowListener({
      listeners: options.listeners,
      filter: new ExporterFilter(options.allowedExporters.map((p) => Prefix.parse(p))),
      mirrors: options.mirrors,
      receiveBufferBytes: options.receiveBufferBytes,
      coalesceMs: options.coalesceMs,
      reusePort: options.reusePort,
      batchReceive: options.batchReceive,
      deliver: (buf, exporter, now, protocol) => void collector.ingest(buf, exporter, now, protocol),
    });
  }

  start(): Promise<BoundSocket[]> {
    return this.listener.start();
  }

  /** Closes the shard's current window: its per-target partials. */
  flush(): TargetPartial[] {
    return this.collector.flushPartials();
  }

  status(): ShardStatus {
    const c = this.collector;
    return {
      counts: this.listener.counts(),
      bound: this.listener.bound(),
      totals: {
        datagrams: c.datagrams,
        records: c.records,
        decodeErrors: c.decodeErrors,
        templates: c.cache.size,
        overflowRecords: c.aggregator.overflowRecords,
        outsideRecords: c.aggregator.outsideRecords,
      },
      exporters: c.health(),
    };
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }
}

/** A shard as the detector drives it: on this thread, or in a receive worker. */
export interface Shard {
  start(): Promise<BoundSocket[]>;
  flush(): Promise<TargetPartial[]>;
  status(): Promise<ShardStatus | undefined>;
  /** What is broken (a dead worker thread), for health. */
  problems(): string[];
  stop(): Promise<void>;
}

export class InlineShard implements Shard {
  readonly shard: CollectorShard;

  constructor(options: ShardOptions) {
    this.shard = new CollectorShard(options);
  }

  start(): Promise<BoundSocket[]> {
    return this.shard.start();
  }

  async flush(): Promise<TargetPartial[]> {
    return this.shard.flush();
  }

  async status(): Promise<ShardStatus> {
    return this.shard.status();
  }

  problems(): string[] {
    return [];
  }

  stop(): Promise<void> {
    return this.shard.stop();
  }
}
