import type { Sample } from '@ft/sdk';
import type { Prefix } from '@ft/sdk';
import { Collector, type CollectorOptions } from '../aggregate/collector.js';
import type { ExporterHealth } from '../aggregate/health.js';
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
  /** Closes the window ending at `at` that lasted `windowMs` (rates are per second over it). */
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
    datagrams: c.datagrams, records: c.records, decodeErrors: c.decodeErrors, templates: c.cache.size,
    overflowRecords: c.aggregator.overflowRecords, outsideRecords: c.aggregator.outsideRecords,
  };
}

export class InlineEngine implements FlowEngine {
  constructor(readonly collector: Collector) {}

  ingest(buf: Buffer, exporter: string, now: number, protocol: ProtocolChoice): void {
    this.collector.ingest(buf, exporter, now, protocol);
  }

  async flush(at: number, windowMs: number): Promise<Sample[]> {
    return this.collector.flush(at, windowMs);
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

export function mergeToSamples(lists: TargetPartial[][], o: { source: string; at: number; windowMs: number; topN: number }): Sample[] {
  return toSamples(lists.length === 1 ? (lists[0] as TargetPartial[]) : mergePartials(lists), o);
}
