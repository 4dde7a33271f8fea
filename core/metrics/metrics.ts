import { parseHostPort } from '@ft/sdk';
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReconcileReport } from '../exec/reconcile.js';
import type { RunMetrics } from '../run/runner.js';
import type { AdapterResult, RuleRecord } from '../state/store.js';
import type { AlertMetrics } from '../alerts/channel.js';
import type { DetectorMetric, FtEvent } from '@ft/sdk';
import { SINK_STATES, type ExportMetrics, type SinkState, type SinkStats } from '../export/runner.js';

/** One RTR cache as /metrics shows it (the RTR client's status). */
export interface RpkiCacheView {
  cache: string;
  state: string;
  fresh: boolean;
  dataAgeSeconds?: number;
  vrps: { total: number };
}

const CHANNEL_STATES = ['starting', 'ok', 'failing', 'broken', 'closed'] as const;

/** prom-client metrics for `ft run`, each on its own registry (tests and the fleet run several in one process). */
export class FtMetrics implements RunMetrics, AlertMetrics, ExportMetrics {
  readonly registry = new Registry();
  private readonly samples: Counter<'source'>;
  private readonly incidents: Gauge;
  private readonly rules: Gauge<'kind' | 'level'>;
  private readonly opSeconds: Histogram<'op' | 'adapter' | 'outcome'>;
  private readonly errors: Counter<'adapter' | 'op'>;
  private readonly orphans: Counter<'adapter'>;
  private readonly reapplied: Counter<'adapter'>;
  private readonly active: Gauge<'severity' | 'attack_family'>;
  private readonly activeById = new Map<string, { severity: string; attack_family: string }>();
  private readonly alertSeconds: Histogram<'channel'>;
  private readonly alertAttempts: Counter<'channel' | 'outcome'>;
  private readonly alertAttemptSeconds: Histogram<'channel'>;
  private readonly channelState: Gauge<'channel' | 'state'>;
  private readonly refused: Counter<'rail'>;
  private readonly speakerUp: Gauge<'speaker'>;
  private readonly lastApply: Gauge<'speaker' | 'op'>;
  private readonly exportAttempts: Counter<'sink' | 'outcome'>;
  private readonly exportRecords: Counter<'sink'>;
  private readonly exportDroppedTotal: Counter<'sink' | 'reason'>;
  private readonly exportSeconds: Histogram<'sink'>;
  private readonly exportState: Gauge<'sink' | 'state'>;
  private exportStats: () => SinkStats[] = () => [];
  private rpkiCaches: () => RpkiCacheView[] = () => [];
  private detectorMetrics: () => DetectorMetric[] = () => [];
  private readonly bridged = new Map<string, Gauge<string>>();

  constructor(options: { defaults?: boolean } = {}) {
    const registers = [this.registry];
    this.samples = new Counter({
      name: 'ft_samples_total',
      help: 'Traffic samples received from detectors.',
      labelNames: ['source'],
      registers,
    });
    this.incidents = new Gauge({ name: 'ft_incidents_open', help: 'Incidents currently open.', registers });
    this.rules = new Gauge({
      name: 'ft_rules_live',
      help: 'Rules ft holds live, by kind and escalation level.',
      labelNames: ['kind', 'level'],
      registers,
    });
    this.opSeconds = new Histogram({
      name: 'ft_op_duration_seconds',
      help: 'Time an action took to carry out one op (all attempts).',
      labelNames: ['op', 'adapter', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.errors = new Counter({
      name: 'ft_adapter_errors_total',
      help: 'Failed or timed-out action calls, after retries.',
      labelNames: ['adapter', 'op'],
      registers,
    });
    this.orphans = new Counter({
      name: 'ft_reconcile_orphans_withdrawn_total',
      help: 'Installed objects tagged as ours that reconcile withdrew.',
      labelNames: ['adapter'],
      registers,
    });
    this.reapplied = new Counter({
      name: 'ft_reconcile_reapplied_total',
      help: 'Live rules reconcile found missing and applied again.',
      labelNames: ['adapter'],
      registers,
    });
    this.active = new Gauge({
      name: 'ft_incidents_active',
      help: 'Open incidents by severity and attack family (what the shipped Prometheus rules alert on).',
      labelNames: ['severity', 'attack_family'],
      registers,
    });
    this.alertSeconds = new Histogram({
      name: 'ft_alert_dispatch_seconds',
      help: 'From the state change (event time) to the alert channel accepting the message.',
      labelNames: ['channel'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.alertAttemptSeconds = new Histogram({
      name: 'ft_alert_attempt_seconds',
      help: 'One delivery attempt to an alert channel, request to answer.',
      labelNames: ['channel'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.alertAttempts = new Counter({
      name: 'ft_alert_attempts_total',
      help: 'Delivery attempts by outcome: delivered, retry, rejected, dead.',
      labelNames: ['channel', 'outcome'],
      registers,
    });
    this.channelState = new Gauge({
      name: 'ft_alert_channel_state',
      help: "Each alert channel's state: 1 for the state it is in (ok, failing, broken, closed, starting), 0 for the others.",
      labelNames: ['channel', 'state'],
      registers,
    });
    this.refused = new Counter({
      name: 'ft_rules_refused_total',
      help: 'Rules the planner or a safety rail refused, by what refused them (a rail name, rpki, no-action, collateral-suppressed).',
      labelNames: ['rail'],
      registers,
    });
    this.speakerUp = new Gauge({
      name: 'ft_speaker_up',
      help: "Each action instance's health (BGP speaker, scrubber, on-node mechanism): 1 answering, 0 down or degraded.",
      labelNames: ['speaker'],
      registers,
    });
    this.lastApply = new Gauge({
      name: 'ft_speaker_last_apply_seconds',
      help: 'How long the last apply or withdraw on each action instance took (retries included).',
      labelNames: ['speaker', 'op'],
      registers,
    });
    const caches = () => this.rpkiCaches();
    const sinks = () => this.exportStats();
    new Gauge({
      name: 'ft_rpki_cache_up',
      help: 'Each RTR cache: 1 while its session is established, 0 otherwise.',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const c of caches()) this.set({ cache: c.cache }, c.state === 'established' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ft_rpki_cache_fresh',
      help: "Each RTR cache: 1 while its data is younger than the cache's expire interval.",
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const c of caches()) this.set({ cache: c.cache }, c.fresh ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ft_rpki_cache_data_age_seconds',
      help: 'Age of the VRPs each RTR cache gave (since its last End of Data).',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const c of caches()) if (c.dataAgeSeconds !== undefined) this.set({ cache: c.cache }, c.dataAgeSeconds);
      },
    });
    new Gauge({
      name: 'ft_rpki_cache_vrps',
      help: 'VRPs held from each RTR cache.',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const c of caches()) this.set({ cache: c.cache }, c.vrps.total);
      },
    });
    this.exportAttempts = new Counter({
      name: 'ft_export_attempts_total',
      help: 'Export delivery attempts by outcome: delivered, retry, rejected, dead.',
      labelNames: ['sink', 'outcome'],
      registers,
    });
    this.exportRecords = new Counter({
      name: 'ft_export_delivered_total',
      help: 'Records each export sink accepted.',
      labelNames: ['sink'],
      registers,
    });
    this.exportDroppedTotal = new Counter({
      name: 'ft_export_dropped_total',
      help: 'Records an export sink lost: spool_full (the oldest went to keep the spool within its bound) or rejected (the sink refused them).',
      labelNames: ['sink', 'reason'],
      registers,
    });
    this.exportSeconds = new Histogram({
      name: 'ft_export_delivery_seconds',
      help: 'From the event (its time) to the export sink accepting its record.',
      labelNames: ['sink'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers,
    });
    this.exportState = new Gauge({
      name: 'ft_export_sink_state',
      help: "Each export sink's state: 1 for the state it is in (ok, failing, broken, closed, starting), 0 for the others.",
      labelNames: ['sink', 'state'],
      registers,
    });
    new Gauge({
      name: 'ft_export_pending_records',
      help: 'Records spooled for each export sink and not yet delivered.',
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const st of sinks()) this.set({ sink: st.sink }, st.pending);
      },
    });
    new Gauge({
      name: 'ft_export_spool_bytes',
      help: "Bytes of each export sink's spool on disk.",
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const st of sinks()) this.set({ sink: st.sink }, st.spoolBytes);
      },
    });
    new Gauge({
      name: 'ft_export_lag_seconds',
      help: 'Age of the oldest record each export sink has not yet accepted (0 when caught up).',
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const st of sinks()) this.set({ sink: st.sink }, st.lagSeconds);
      },
    });
    if (options.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'ft_' });
  }

  sampleIn(source: string): void {
    this.samples.inc({ source });
  }

  incidentsOpen(n: number): void {
    this.incidents.set(n);
  }

  opDone(op: string, adapter: string, outcome: AdapterResult['outcome'], seconds: number): void {
    this.opSeconds.observe({ op, adapter, outcome }, seconds);
  }

  adapterError(adapter: string, op: string): void {
    this.errors.inc({ adapter, op });
  }

  rulesChanged(rules: RuleRecord[]): void {
    this.rules.reset();
    for (const r of rules) if (r.phase === 'live') this.rules.inc({ kind: r.rule.kind, level: String(r.rule.level) });
  }

  /** The detection engine's incident events: keeps ft_incidents_active by severity and family. */
  incidentEvent(
    type: 'open' | 'update' | 'resolve',
    incident: { id: string; severity: string; attack_family: string },
  ): void {
    const prev = this.activeById.get(incident.id);
    if (prev) this.active.dec(prev);
    if (type === 'resolve') this.activeById.delete(incident.id);
    else {
      const now = { severity: incident.severity, attack_family: incident.attack_family };
      this.activeById.set(incident.id, now);
      this.active.inc(now);
    }
  }

  alertAttempt(channel: string, outcome: string, seconds: number): void {
    this.alertAttempts.inc({ channel, outcome });
    this.alertAttemptSeconds.observe({ channel }, seconds);
  }

  alertDispatched(channel: string, seconds: number): void {
    this.alertSeconds.observe({ channel }, seconds);
  }

  alertChannelState(channel: string, state: (typeof CHANNEL_STATES)[number]): void {
    for (const s of CHANNEL_STATES) this.channelState.set({ channel, state: s }, s === state ? 1 : 0);
  }

  /** The RTR client's caches, read at every scrape. */
  watchRpki(caches: () => RpkiCacheView[]): void {
    this.rpkiCaches = caches;
  }

  /** The export sinks' backlogs, read at every scrape. */
  watchExport(stats: () => SinkStats[]): void {
    this.exportStats = stats;
  }

  /**
   * The detectors' own metrics (DetectorMetric: flow exporters' loss ratio, template misses, last seen, kernel
   * drops), read at every scrape and shown under their own names.
   */
  watchDetectors(metrics: () => DetectorMetric[]): void {
    this.detectorMetrics = metrics;
    this.bridgeDetectors();
  }

  /** New detector metric names (an exporter heard for the first time) become series before a scrape. */
  beforeScrape(): void {
    this.bridgeDetectors();
  }

  private bridgeDetectors(): void {
    const all = () => this.detectorMetrics();
    for (const m of this.detectorMetrics()) {
      if (this.bridged.has(m.name) || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(m.name)) continue;
      const labelNames = Object.keys(m.labels ?? {});
      const g = new Gauge({
        name: m.name,
        help: m.help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const x of all())
            if (x.name === m.name)
              try {
                this.set(x.labels ?? {}, x.value);
              } catch {
                /* a label set this series was not created with: skipped */
              }
        },
      });
      this.bridged.set(m.name, g);
    }
  }

  /** Action instances the health watch asks: up until they say otherwise. */
  speakers(names: readonly string[]): void {
    for (const n of names) this.speakerUp.set({ speaker: n }, 1);
  }

  /** Every event once durable (the stream's publish): refusals by rail, speaker health, apply latency. */
  streamEvent(e: FtEvent): void {
    switch (e.type) {
      case 'rule.refused':
        this.refused.inc({ rail: e.data.rail });
        break;
      case 'speaker.down':
        this.speakerUp.set({ speaker: e.data.speaker }, 0);
        break;
      case 'speaker.up':
        this.speakerUp.set({ speaker: e.data.speaker }, 1);
        break;
      case 'rule.added':
      case 'rule.refreshed':
      case 'rule.withdrawn':
      case 'rule.failed': {
        const op =
          e.type === 'rule.withdrawn'
            ? 'withdraw'
            : e.type === 'rule.failed'
              ? e.data.op
              : e.type === 'rule.refreshed'
                ? 'refresh'
                : 'add';
        for (const r of e.data.results ?? []) this.lastApply.set({ speaker: r.adapter, op }, r.ms / 1000);
        break;
      }
      default:
    }
  }

  exportAttempt(sink: string, outcome: string, _seconds: number): void {
    this.exportAttempts.inc({ sink, outcome });
  }

  exportDelivered(sink: string, ages: number[]): void {
    if (ages.length === 0) return;
    this.exportRecords.inc({ sink }, ages.length);
    for (const a of ages) this.exportSeconds.observe({ sink }, a);
  }

  exportDropped(sink: string, reason: 'spool_full' | 'rejected', records: number): void {
    this.exportDroppedTotal.inc({ sink, reason }, records);
  }

  exportSinkState(sink: string, state: SinkState): void {
    for (const s of SINK_STATES) this.exportState.set({ sink, state: s }, s === state ? 1 : 0);
  }

  reconciled(report: ReconcileReport): void {
    for (const o of report.orphansWithdrawn) this.orphans.inc({ adapter: o.adapter });
    for (const r of report.reapplied) this.reapplied.inc({ adapter: r.adapter });
  }
}

export class MetricsAddressError extends Error {}

/** "127.0.0.1:9310", "[::1]:9310". Only loopback unless the operator says otherwise with allowRemote. */
export function parseMetricsAddress(text: string, allowRemote = false): { host: string; port: number } {
  let host: string;
  let port: number;
  try {
    const hp = parseHostPort(text, { portZero: true });
    // An address, or localhost: a name that resolves elsewhere would put metrics where nobody meant them.
    if (hp.family === 0 && hp.host !== 'localhost') throw new Error('a host name other than localhost');
    ({ host, port } = hp);
  } catch (err) {
    throw new MetricsAddressError(
      `--metrics ${JSON.stringify(text)}: expected HOST:PORT such as 127.0.0.1:9310 or [::1]:9310 (${(err as Error).message})`,
    );
  }
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loopback && !allowRemote) {
    throw new MetricsAddressError(
      `--metrics ${text}: ${host} is not a loopback address; metrics stay on the box unless you pass --metrics-public`,
    );
  }
  return { host, port };
}

/** Serves GET /metrics; resolves with the bound port (0 picks a free one). */
export function serveMetrics(
  metrics: FtMetrics,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end('not found\n');
      return;
    }
    try {
      metrics.beforeScrape();
    } catch {
      /* a detector's metrics() threw: the rest is still served */
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr ? addr.port : port });
    });
  });
}
