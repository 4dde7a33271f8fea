import { Prefix, type Detector, type DetectorMetric, type Health, type PluginContext, type Sample } from '@ft/sdk';
import { availableParallelism } from 'node:os';
import { COLLECTOR_DEFAULTS } from './aggregate/collector.js';
import { mergeHealth, type ExporterHealth } from './aggregate/health.js';
import { TrailingWindows } from './aggregate/trailing.js';
import { mergePartials, toSamples, type TargetPartial } from './aggregate/window.js';
import { defaultCoalesceMs, type FlowConfig } from './config.js';
import { claimPorts, type BoundSocket, type ListenerStats } from './listen/listener.js';
import { InlineShard, type EngineOptions, type EngineTotals, type Shard, type ShardOptions } from './listen/shard.js';
import { readSocketDrops } from './listen/socket-drops.js';

export interface FlowStatus {
  listener: ListenerStats;
  totals: EngineTotals;
  exporters: ExporterHealth[];
  /** Per receive worker (one entry when receiving inline): datagrams it received. */
  workers: { received: number; exporters: number }[];
}

/** An exporter silent this long makes the detector "degraded". */
const SILENT_MS = 60_000;

/** What the host knows of the policy (PluginContext.scope), as the collector needs it. */
type Scope = PluginContext['scope'];

export function engineOptions(config: FlowConfig, source: string, scope?: Scope): EngineOptions {
  return {
    source,
    windowMs: config.windowMs,
    protect: config.protect ?? scope?.protect.map((p) => p.toString()) ?? [],
    groups: config.groups
      ? Object.entries(config.groups).map(([name, prefixes]) => ({ name, prefixes }))
      : (scope?.groups ?? []).map((g) => ({ name: g.name, prefixes: g.prefixes.map((p) => p.toString()) })),
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

/**
 * Receive workers for `workers: 'auto'`: one per core, one core left for the rest of ft (detection, planning,
 * BGP) — at least one.
 */
export function workerCount(config: Pick<FlowConfig, 'workers'>): number {
  return config.workers === 'auto' ? Math.max(1, availableParallelism() - 1) : config.workers;
}

function shardOptions(config: FlowConfig, source: string, scope: Scope): ShardOptions {
  return {
    listeners: config.listeners,
    allowedExporters: config.allowedExporters,
    mirrors: config.mirror,
    receiveBufferBytes: config.receiveBufferBytes,
    coalesceMs: config.coalesceMs ?? defaultCoalesceMs(config.windowMs),
    reusePort: false,
    batchReceive: config.batchReceive,
    collector: engineOptions(config, source, scope),
  };
}

/** Merges the shards' partials of the window that just closed, then rates them over the trailing span. */
export function mergeToSamples(
  lists: TargetPartial[][],
  trailing: TrailingWindows,
  o: { source: string; at: number; windowMs: number; topN: number },
): Sample[] {
  const window = lists.length === 1 ? (lists[0] as TargetPartial[]) : mergePartials(lists);
  const { partials, spanMs } = trailing.push(window, o.windowMs);
  return toSamples(partials, { ...o, windowMs: spanMs });
}

export class FlowDetector implements Detector {
  private shards: Shard[] = [];
  private bound: BoundSocket[] = [];
  private started = false;
  private timer: NodeJS.Timeout | undefined;
  private lastStatus: FlowStatus | undefined;
  private lastDrops = 0;
  private dropsRising = false;
  private windowStart = 0;
  private trailing = new TrailingWindows();

  constructor(
    readonly config: FlowConfig,
    private readonly ctx: Pick<PluginContext, 'name' | 'logger' | 'scope'>,
  ) {}

  /**
   * Binds the listeners: on this thread (`workers: 0`), or one SO_REUSEPORT socket per listener in each receive
   * worker. A port that cannot be bound stops the start with the address and the reason, and whatever this start
   * had bound is closed again.
   */
  async start(sink: (sample: Sample) => void): Promise<void> {
    if (this.started) throw new Error(`flow detector ${this.ctx.name} is already started`);
    const base = shardOptions(this.config, this.ctx.name, this.ctx.scope);
    const workers = workerCount(this.config);
    const shards: Shard[] = [];
    try {
      if (workers === 0) {
        const s = new InlineShard(base);
        shards.push(s);
        this.bound = await s.start();
      } else {
        const listeners = await claimPorts(base.listeners);
        const { WorkerShard } = await import('./listen/worker-shard.js');
        for (let i = 0; i < workers; i++) {
          const s = new WorkerShard(i, workers, { ...base, listeners, reusePort: true });
          shards.push(s);
          const bound = await s.start();
          if (i === 0) this.bound = bound;
        }
      }
    } catch (err) {
      await Promise.all(shards.map((s) => s.stop()));
      throw err;
    }
    for (const b of this.bound) {
      if (b.receiveBufferBytes < this.config.receiveBufferBytes) {
        this.ctx.logger.warn(
          { address: b.address, port: b.port, asked: this.config.receiveBufferBytes, got: b.receiveBufferBytes },
          'UDP receive buffer is smaller than configured: raise net.core.rmem_max or expect drops in bursts',
        );
      }
    }
    this.ctx.logger.info({ listeners: this.bound, workers }, 'flow collector listening');
    this.shards = shards;
    this.started = true;
    this.stopping = false;
    this.trailing = new TrailingWindows();
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
    if (!this.started || this.stopping) return;
    try {
      const at = Date.now();
      const windowMs = Math.max(1, at - this.windowStart);
      this.windowStart = at;
      const lists = await Promise.all(this.shards.map((s) => s.flush()));
      const samples = mergeToSamples(lists, this.trailing, {
        source: this.ctx.name,
        at,
        windowMs,
        topN: this.config.topN,
      });
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
    if (!this.started) throw new Error(`flow detector ${this.ctx.name} is not started`);
    const ports = new Set(this.bound.map((b) => b.port));
    const [statuses, socketDrops] = await Promise.all([
      Promise.all(this.shards.map((s) => s.status())),
      ports.size > 0 ? readSocketDrops(ports) : 0,
    ]);
    const listener: ListenerStats = {
      received: 0,
      notAllowed: 0,
      mirrored: 0,
      mirrorErrors: 0,
      socketDrops,
      bound: this.bound,
    };
    const totals: EngineTotals = {
      datagrams: 0,
      records: 0,
      decodeErrors: 0,
      templates: 0,
      overflowRecords: 0,
      outsideRecords: 0,
    };
    const workers: FlowStatus['workers'] = [];
    for (const st of statuses) {
      if (st === undefined) {
        workers.push({ received: 0, exporters: 0 });
        continue;
      }
      for (const k of ['received', 'notAllowed', 'mirrored', 'mirrorErrors'] as const) listener[k] += st.counts[k];
      for (const k of Object.keys(totals) as (keyof EngineTotals)[]) totals[k] += st.totals[k];
      workers.push({ received: st.counts.received, exporters: st.exporters.length });
    }
    const exporters = mergeHealth(statuses.flatMap((st) => st?.exporters ?? []));
    return { listener, totals, exporters, workers };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A window being closed finishes first (it reads the shards' stats); none starts after this.
    this.stopping = true;
    await this.ticking;
    await Promise.all(this.shards.map((s) => s.stop()));
    this.shards = [];
    this.started = false;
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
    if (!this.started) return { status: 'down', detail: 'not listening' };
    const s = this.lastStatus;
    if (!s)
      return {
        status: 'ok',
        detail: `listening on ${this.bound.map((b) => `${b.address}:${b.port}`).join(', ')}`,
      };
    const problems: string[] = this.shards.flatMap((sh) => sh.problems());
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
