import { Prefix, type Detector, type DetectorMetric, type Health, type PluginContext, type Sample } from '@ft/sdk';
import { Collector, COLLECTOR_DEFAULTS } from './aggregate/collector.js';
import type { ExporterHealth } from './aggregate/health.js';
import { defaultCoalesceMs, type FlowConfig } from './config.js';
import {
  collectorOptions,
  InlineEngine,
  type EngineOptions,
  type EngineTotals,
  type FlowEngine,
} from './listen/engine.js';
import { ExporterFilter } from './listen/exporter-filter.js';
import { FlowListener, type ListenerStats } from './listen/listener.js';

export interface FlowStatus {
  listener: ListenerStats;
  totals: EngineTotals;
  exporters: ExporterHealth[];
}

/** An exporter silent this long makes the detector "degraded". */
const SILENT_MS = 60_000;

export function engineOptions(config: FlowConfig, source: string): EngineOptions {
  return {
    source,
    windowMs: config.windowMs,
    protect: config.protect,
    defaultSamplingRate: config.sampling.default,
    exporterSamplingRates: Object.entries(config.sampling.exporters).map(([a, r]) => [Prefix.parse(a).address, r]),
    maxTargets: config.maxTargets ?? COLLECTOR_DEFAULTS.maxTargets,
    maxExporters: config.maxExporters,
    topN: config.topN,
    templates: {
      maxTemplates: config.maxTemplates,
      maxTemplatesPerExporter: config.maxTemplatesPerExporter,
      expiryMs: config.templateExpiry,
    },
  };
}

export async function createEngine(config: FlowConfig, source: string): Promise<FlowEngine> {
  const options = engineOptions(config, source);
  if (config.workers > 0) {
    const { WorkerEngine } = await import('./listen/worker-engine.js');
    return new WorkerEngine(config.workers, options);
  }
  return new InlineEngine(new Collector(collectorOptions(options, (t) => Prefix.parse(t))));
}

/**
 * The flow detector: sockets open in start(), one Sample per target per window through the sink, closed in stop().
 * Windows close on a timer by arrival time.
 */
export class FlowDetector implements Detector {
  private listener: FlowListener | undefined;
  private engine: FlowEngine | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastStatus: FlowStatus | undefined;
  private lastDrops = 0;
  private dropsRising = false;
  private windowStart = 0;

  constructor(
    readonly config: FlowConfig,
    private readonly ctx: Pick<PluginContext, 'name' | 'logger'>,
  ) {}

  async start(sink: (sample: Sample) => void): Promise<void> {
    if (this.listener) throw new Error(`flow detector ${this.ctx.name} is already started`);
    const engine = await createEngine(this.config, this.ctx.name);
    const listener = new FlowListener({
      listeners: this.config.listeners,
      filter: new ExporterFilter(this.config.allowedExporters.map((p) => Prefix.parse(p))),
      mirrors: this.config.mirror,
      receiveBufferBytes: this.config.receiveBufferBytes,
      coalesceMs: this.config.coalesceMs ?? defaultCoalesceMs(this.config.windowMs),
      engine,
    });
    try {
      const bound = await listener.start();
      for (const b of bound) {
        if (b.receiveBufferBytes < this.config.receiveBufferBytes) {
          this.ctx.logger.warn(
            { address: b.address, port: b.port, asked: this.config.receiveBufferBytes, got: b.receiveBufferBytes },
            'UDP receive buffer is smaller than configured: raise net.core.rmem_max or expect drops in bursts',
          );
        }
      }
      this.ctx.logger.info({ listeners: bound }, 'flow collector listening');
    } catch (err) {
      await engine.close();
      throw err;
    }
    this.engine = engine;
    this.listener = listener;
    this.stopping = false;
    this.sink = sink;
    this.windowStart = Date.now();
    this.timer = setInterval(() => void this.tick(), this.config.windowMs);
  }

  private sink: (sample: Sample) => void = () => {};
  /** Called after each window's Samples went to the sink (the live view of `ft flow listen`). */
  onWindow: ((at: number, samples: Sample[]) => void | Promise<void>) | undefined;

  /**
   * Closes the current window now. The timer calls it every windowMs; `ft flow listen` calls it once more at the
   * end so the last, shorter window is not lost (rates use the window's real length).
   */
  async tick(): Promise<void> {
    // Serialised: the timer's tick and a final one must not interleave, nor be skipped.
    const run = this.ticking.then(() => this.closeWindow());
    this.ticking = run.catch(() => {});
    return run;
  }

  private ticking: Promise<void> = Promise.resolve();

  private stopping = false;

  private async closeWindow(): Promise<void> {
    if (!this.engine || this.stopping) return;
    try {
      const at = Date.now();
      const windowMs = Math.max(1, at - this.windowStart);
      this.windowStart = at;
      const samples = await this.engine.flush(at, windowMs);
      const sink = this.sink;
      for (const s of samples) sink(s);
      await this.onWindow?.(at, samples);
      this.lastStatus = await this.status();
      const drops = this.lastStatus.listener.socketDrops;
      this.dropsRising = drops > this.lastDrops;
      this.lastDrops = drops;
    } catch (err) {
      this.ctx.logger.error({ err }, 'flow window could not be closed');
    }
  }

  async status(): Promise<FlowStatus> {
    if (!this.listener || !this.engine) throw new Error(`flow detector ${this.ctx.name} is not started`);
    const [listener, totals, exporters] = await Promise.all([
      this.listener.stats(),
      this.engine.totals(),
      this.engine.exporters(),
    ]);
    return { listener, totals, exporters };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A window being closed finishes first (it reads the listener's stats); none starts after this.
    this.stopping = true;
    await this.ticking;
    await this.listener?.stop();
    await this.engine?.close();
    this.listener = undefined;
    this.engine = undefined;
  }

  /** Operational numbers as of the last closed window (kernel drops first: the largest loss source). */
  metrics(): DetectorMetric[] {
    const s = this.lastStatus;
    if (!s) return [];
    const c = (name: string, help: string, value: number, labels?: Record<string, string>): DetectorMetric => ({
      name,
      help,
      type: 'counter',
      value,
      ...(labels ? { labels } : {}),
    });
    const g = (name: string, help: string, value: number, labels?: Record<string, string>): DetectorMetric => ({
      name,
      help,
      type: 'gauge',
      value,
      ...(labels ? { labels } : {}),
    });
    return [
      c(
        'ft_flow_socket_drops_total',
        'Datagrams the kernel dropped on the flow sockets (receive buffer full), from /proc/net/udp.',
        s.listener.socketDrops,
      ),
      c('ft_flow_datagrams_total', 'Flow datagrams received.', s.listener.received),
      c(
        'ft_flow_not_allowed_total',
        'Datagrams dropped because their exporter is not in allowedExporters.',
        s.listener.notAllowed,
      ),
      c('ft_flow_mirrored_total', 'Datagrams copied to mirror destinations.', s.listener.mirrored),
      c('ft_flow_records_total', 'Flow records decoded.', s.totals.records),
      c('ft_flow_decode_errors_total', 'Datagrams that could not be decoded.', s.totals.decodeErrors),
      g('ft_flow_templates', 'NetFlow v9/IPFIX templates held.', s.totals.templates),
      ...s.exporters.flatMap((e) => [
        g(
          'ft_flow_exporter_loss_ratio',
          "Estimated share of an exporter's data lost on the way (sequence gaps).",
          e.estimatedLoss,
          { exporter: e.exporter },
        ),
        c('ft_flow_exporter_template_misses_total', 'Data sets whose template was unknown.', e.templateMisses, {
          exporter: e.exporter,
        }),
        g(
          'ft_flow_exporter_last_seen_seconds',
          'When the exporter was last heard from (Unix time).',
          e.lastSeen / 1000,
          { exporter: e.exporter },
        ),
      ]),
    ];
  }

  health(): Health {
    if (!this.listener) return { status: 'down', detail: 'not listening' };
    const s = this.lastStatus;
    if (!s)
      return {
        status: 'ok',
        detail: `listening on ${this.listener
          .bound()
          .map((b) => `${b.address}:${b.port}`)
          .join(', ')}`,
      };
    const problems: string[] = [...(this.engine?.problems() ?? [])];
    if (this.dropsRising)
      problems.push(
        `kernel dropped datagrams (${s.listener.socketDrops} so far): raise receiveBufferBytes/rmem_max or add workers`,
      );
    const now = Date.now();
    for (const e of s.exporters) {
      if (now - e.lastSeen > SILENT_MS)
        problems.push(`exporter ${e.exporter} silent for ${Math.round((now - e.lastSeen) / 1000)} s`);
      if (e.estimatedLoss > 0.01)
        problems.push(`exporter ${e.exporter} loses ${(e.estimatedLoss * 100).toFixed(1)} % (sequence gaps)`);
    }
    if (problems.length > 0) return { status: 'degraded', detail: problems.join('; ') };
    return { status: 'ok', detail: `${s.exporters.length} exporter(s), ${s.totals.datagrams} datagrams` };
  }
}
