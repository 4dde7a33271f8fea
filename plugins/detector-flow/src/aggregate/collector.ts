import { Prefix, type Sample } from '@ft/sdk';
import {
  ABSURD_SAMPLING_RATE,
  decodeBatch,
  implausibleCounters,
  MAX_PACKET_BYTES,
  MAX_RECORD_BYTES,
  MAX_RECORD_PACKETS,
  FlowBatch,
  TemplateCache,
  type DecodeResult,
  type ProtocolChoice,
  type TemplateCacheOptions,
} from '../decode/index.js';
import { ExporterTable, type DatagramTally, type ExporterHealth } from './health.js';
import type { HostGroup } from './protected-space.js';
import { toSamples, WindowAggregator, type TargetPartial } from './window.js';

export interface CollectorOptions {
  /** Instance name, the Sample's `source`. */
  source: string;
  windowMs: number;
  protect: Prefix[];
  /** Host groups, each counted as one aggregate Sample (`group:NAME`). */
  groups?: HostGroup[];
  /** Rate for records whose exporter never says (NetFlow v5 with 0, v9/IPFIX before options data arrive). */
  defaultSamplingRate: number;
  /** Per-exporter overrides of the default, by exporter address text. */
  exporterSamplingRates: Map<string, number>;
  maxTargets: number;
  maxExporters: number;
  topN: number;
  templates?: Partial<TemplateCacheOptions>;
}

export const COLLECTOR_DEFAULTS = {
  windowMs: 1000,
  defaultSamplingRate: 1,
  maxTargets: 2048,
  maxExporters: 1024,
  topN: 10,
};

/**
 * Decode → scale → aggregate, with no sockets and no timers: the listener (or a worker, or `ft flow decode`)
 * feeds it datagrams with their arrival time and asks it to close windows.
 */
export class Collector {
  readonly cache: TemplateCache;
  readonly exporters: ExporterTable;
  readonly aggregator: WindowAggregator;
  /** The current datagram's flows, straight from the decoders to the aggregator. */
  private readonly batch = new FlowBatch();
  datagrams = 0;
  records = 0;
  decodeErrors = 0;

  constructor(readonly options: CollectorOptions) {
    this.cache = new TemplateCache(options.templates);
    this.exporters = new ExporterTable(options.maxExporters);
    this.aggregator = new WindowAggregator({
      protect: options.protect,
      groups: options.groups ?? [],
      maxTargets: options.maxTargets,
      topN: options.topN,
    });
  }

  /**
   * Handles one datagram from `exporter` (its UDP source address) that arrived at `now`. The result's `records`
   * is empty: the flows went from the decoders' columns into the aggregator (`decodeDatagram` gives objects).
   */
  ingest(buf: Buffer, exporter: string, now: number, protocol: ProtocolChoice = 'auto'): DecodeResult {
    this.datagrams++;
    const batch = this.batch;
    const result = decodeBatch(buf, { exporter, now, cache: this.cache, protocol }, batch);
    if (!result.ok) {
      this.decodeErrors++;
      this.exporters.failed(
        exporter,
        now,
        `${result.protocol ?? 'unknown'} at byte ${result.offset}: ${result.reason}`,
      );
      return result;
    }
    const fallback = this.options.exporterSamplingRates.get(exporter) ?? this.options.defaultSamplingRate;
    const t = this.tally;
    t.unknownSampling = 0;
    t.absurdSampling = 0;
    t.rejected = 0;
    t.lastRejected = undefined;
    t.lastRate = undefined;
    const n = batch.length;
    const rates = batch.samplingRate;
    const packets = batch.packets;
    const bytes = batch.bytes;
    const aggregator = this.aggregator;
    for (let i = 0; i < n; i++) {
      const p = packets[i]!;
      const o = bytes[i]!;
      // Two comparisons per record; the reason is only worked out for a record that fails them.
      if (p > MAX_RECORD_PACKETS || o > MAX_RECORD_BYTES || o > p * MAX_PACKET_BYTES) {
        const why = implausibleCounters(p, o);
        if (why !== undefined) {
          t.rejected++;
          t.lastRejected = `record to ${batch.dstAddr(i)}: ${why}`;
          continue;
        }
      }
      let rate = rates[i]!;
      if (rate === 0) {
        t.unknownSampling++;
        rate = fallback;
      } else {
        t.lastRate = rate;
        if (rate > ABSURD_SAMPLING_RATE) t.absurdSampling++;
      }
      aggregator.addAt(batch, i, rate);
    }
    this.records += n + result.recordsWithoutDestination;
    this.exporters.decoded(exporter, now, result, n + result.recordsWithoutDestination, t);
    return result;
  }

  /** Per-datagram counts handed to the exporter table (one object, reused). */
  private readonly tally: DatagramTally = {
    unknownSampling: 0,
    absurdSampling: 0,
    rejected: 0,
    lastRejected: undefined,
    lastRate: undefined,
  };

  /** Closes the current window: its per-target partials (for merging across workers). */
  flushPartials(): TargetPartial[] {
    return this.aggregator.flush();
  }

  /** Closes the current window ending at `at` (lasting `windowMs`, default the configured one) and returns its Samples. */
  flush(at: number, windowMs = this.options.windowMs): Sample[] {
    return toSamples(this.flushPartials(), { source: this.options.source, at, windowMs, topN: this.options.topN });
  }

  health(): ExporterHealth[] {
    return this.exporters.list();
  }
}
