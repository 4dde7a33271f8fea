import type { Sample } from '@ft/sdk';
import type { Prefix } from '@ft/sdk';
import { Collector, type CollectorOptions } from '../aggregate/collector.js';
import type { ExporterHealth } from '../aggregate/health.js';
import { TrailingWindows } from '../aggregate/trailing.js';
import { mergePartials, toSamples, type TargetPartial } from '../aggregate/window.js';
import type { ProtocolChoice } from '../decode/index.js';

export interface EngineTotals {
  datagrams: number;
  records: number;
  decodeErrors: number;
  templates: number;
  overflowRecords: number;
  outsideRecords: number;
}

/** Where the listener hands datagrams: decoded inline, or spread over worker threads. Same decoders either way. */
export interface FlowEngine {
  ingest(buf: Buffer, exporter: string, now: number, protocol: ProtocolChoice): void;
  /**
   * Closes the window ending at `at` that lasted `windowMs`. Rates are per second over the newest windows that
   * together span at least a second (the Sample's windowMs says how long), since exporters report in bursts.
   */
  flush(at: number, windowMs: number): Promise<Sample[]>;
  exporters(): Promise<ExporterHealth[]>;
  totals(): Promise<EngineTotals>;
  /** What is broken inside the engine (a dead worker thread), for health. */
  problems(): string[];
  close(): Promise<void>;
}

/** Serializable collector options (Prefix objects do not cross a worker boundary, their text does). */
export interface EngineOptions extends Omit<CollectorOptions, 'protect' | 'exporterSamplingRates'> {
  protect: string[];
  exporterSamplingRates: [string, number][];
}

export function collectorOptions(o: EngineOptions, parse: (text: string) => Prefix): CollectorOptions {
  return { ...o, protect: o.protect.map(parse), exporterSamplingRates: new Map(o.exporterSamplingRates) };
}

export function collectorTotals(c: Collector): EngineTotals {
  return {
    datagrams: c.datagrams,
    records: c.records,
    decodeErrors: c.decodeErrors,
    templates: c.cache.size,
    overflowRecords: c.aggregator.overflowRecords,
    outsideRecords: c.aggregator.outsideRecords,
  };
}

export class InlineEngine implements FlowEngine {
  private readonly trailing = new TrailingWindows();

  constructor(readonly collector: Collector) {}

  ingest(buf: Buffer, exporter: string, now: number, protocol: ProtocolChoice): void {
    this.collector.ingest(buf, exporter, now, protocol);
  }

  async flush(at: number, windowMs: number): Promise<Sample[]> {
    const { partials, spanMs } = this.trailing.push(this.collector.flushPartials(), windowMs);
    return toSamples(partials, {
      source: this.collector.options.source,
      at,
      windowMs: spanMs,
      topN: this.collector.options.topN,
    });
  }

  async exporters(): Promise<ExporterHealth[]> {
    return this.collector.health();
  }

  async totals(): Promise<EngineTotals> {
    return collectorTotals(this.collector);
  }

  problems(): string[] {
    return [];
  }

  async close(): Promise<void> {}
}

/** Merges the workers' partials of the window that just closed, then rates them over the trailing span. */
export function mergeToSamples(
  lists: TargetPartial[][],
  trailing: TrailingWindows,
  o: { source: string; at: number; windowMs: number; topN: number },
): Sample[] {
  const window = lists.length === 1 ? (lists[0] as TargetPartial[]) : mergePartials(lists);
  const { partials, spanMs } = trailing.push(window, o.windowMs);
  return toSamples(partials, { ...o, windowMs: spanMs });
}
