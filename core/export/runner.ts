import {
  toExportRecords,
  type DeliveryOutcome,
  type EventConsumer,
  type ExportRecord,
  type ExportSink,
  type PluginLogger,
  type RateLimit,
  type WireEvent,
} from '@ft/sdk';
import { DeliveryQueue, type DiskSpool, type Settled, type SpoolDrop, type SpoolItem } from '../deliver/index.js';
import { draft, type EventAppender, type EventDraft } from '../events/log.js';
import type { ExportSinkInstance } from '../policy/export.js';
import { sinkReceives } from './filter.js';

export type SinkState = 'starting' | 'ok' | 'failing' | 'broken' | 'closed';
export const SINK_STATES: readonly SinkState[] = ['starting', 'ok', 'failing', 'broken', 'closed'];

/** Numbers a sink reports (prom-client in `ft run`). */
export interface ExportMetrics {
  exportAttempt(sink: string, outcome: DeliveryOutcome['result'] | 'partial', seconds: number): void;
  /** Records the sink accepted, each with its age (event time → accepted). */
  exportDelivered(sink: string, ages: number[]): void;
  exportDropped(sink: string, reason: 'spool_full' | 'rejected', records: number): void;
  exportSinkState(sink: string, state: SinkState): void;
}

export interface SinkStats {
  sink: string;
  kind: string;
  destination: string;
  state: SinkState;
  /** Records spooled and not yet delivered. */
  pending: number;
  spoolBytes: number;
  /** Age of the oldest record not yet delivered (0 when caught up). */
  lagSeconds: number;
  delivered: number;
  dropped: { spool_full: number; rejected: number };
  retries: number;
  lastError?: string;
}

interface Batch {
  items: SpoolItem<ExportRecord>[];
  /** What goes on the next attempt (per-record retries shrink it). */
  records: ExportRecord[];
  rejected: { record: ExportRecord; reason: string }[];
  done?: (s: Settled) => void;
}

export interface SinkRunnerOptions {
  inst: ExportSinkInstance;
  sink: ExportSink;
  spool: DiskSpool<ExportRecord>;
  batch: { maxRecords: number; maxBytes: number };
  rate: RateLimit;
  /** Moves this sink's cursor (the subscription's manual ack): called once records are in the spool. */
  ack(seq: number): Promise<void>;
  /** Where its operational alarms go (the stream: alert channels deliver them). */
  alarms?: EventAppender;
  metrics?: ExportMetrics;
  logger: PluginLogger;
  /** Tests: faster retries. */
  retry?: { baseMs?: number; maxMs?: number };
  /** Consecutive failed attempts before the sink is reported down (export.sink_down, state failing). Default 3. */
  failingAfter?: number;
  /** At most one spool_full alarm per this long (drops in between are added up). Default 60 s. */
  alarmEveryMs?: number;
  now?: () => number;
}

/**
 * One sink's consumer of the event stream. Events become export records (the sink's filters applied), which go
 * to the sink's disk spool (fdatasync'd) before its cursor moves: from then on the spool owns them. A sender
 * loop takes batches from the spool's head and delivers them through the shared delivery queue (rate limit,
 * Retry-After, backoff, timeouts); the head moves only when the sink accepted the batch (or refused records for
 * their content, which are counted as dropped). A sink that is down never holds up anything but itself: the
 * stream's appender does not wait for it, and its backlog stays on disk up to the spool's bound, where the
 * oldest records go first (counted, and alarmed on the stream).
 */
export class SinkRunner implements EventConsumer {
  readonly queue: DeliveryQueue<Batch>;
  private readonly stop = new AbortController();
  private readonly loopDone: Promise<void>;
  private closed = false;
  private state: SinkState = 'starting';
  private failures = 0;
  private downSince?: number;
  private delivered = 0;
  private dropped = { spool_full: 0, rejected: 0 };
  private inFlightAt?: number;
  private pendingDrop?: SpoolDrop;
  private lastDropAlarm = 0;
  private dropTimer?: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly o: SinkRunnerOptions) {
    this.now = o.now ?? Date.now;
    this.queue = new DeliveryQueue<Batch>({
      name: o.inst.name,
      rate: o.rate,
      timeoutMs: o.inst.timeoutMs,
      // Nothing expires: a sink that is down keeps its records until the spool's bound drops the oldest.
      retry: { baseMs: o.retry?.baseMs ?? 1000, maxMs: o.retry?.maxMs ?? o.inst.maxBackoffMs, deadlineMs: Infinity },
      maxPending: 2,
      send: (b, attempt) => this.attempt(b, attempt),
      onAttempt: (b, outcome, attempt, ms) => this.attempted(b, outcome, attempt, ms),
      onSettled: (b, s) => b.done?.(s),
      onBroken: (reason, status) => this.broken(reason, status),
    });
    this.setState('starting');
    this.loopDone = this.loop();
  }

  stats(): SinkStats {
    const q = this.queue.stats();
    const oldest = this.inFlightAt ?? this.o.spool.oldestPendingAt();
    return {
      sink: this.o.inst.name,
      kind: this.o.inst.kind,
      destination: this.o.sink.describe(),
      state: this.state,
      pending: this.o.spool.pending,
      spoolBytes: this.o.spool.bytes,
      lagSeconds: this.o.spool.pending > 0 && oldest !== undefined ? Math.max(0, this.now() - oldest) / 1000 : 0,
      delivered: this.delivered,
      dropped: { ...this.dropped },
      retries: q.retries,
      ...(q.lastError ? { lastError: q.lastError } : {}),
    };
  }

  /** The stream's batch: into the spool, durably; then the cursor moves past it. */
  async handle(events: readonly WireEvent[]): Promise<void> {
    if (this.closed || events.length === 0) return;
    const records = events.flatMap((e) => toExportRecords(e)).filter((r) => sinkReceives(this.o.inst, r));
    if (records.length > 0) {
      const drop = await this.o.spool.append(records);
      if (drop) this.spoolDropped(drop);
    }
    await this.o.ack((events[events.length - 1] as WireEvent).seq);
  }

  /** Resolves when everything spooled so far was delivered (or dropped). Tests and `ft export test`. */
  async drained(): Promise<void> {
    while (!this.closed && this.o.spool.pending > 0) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    await this.queue.close();
    await this.loopDone;
    if (this.dropTimer) clearTimeout(this.dropTimer);
    if (this.pendingDrop) await this.alarmDrop();
    await this.o.spool.close();
    this.setState('closed');
    await this.o.sink.close?.();
  }

  private async loop(): Promise<void> {
    const closedP = new Promise<void>((r) => this.stop.signal.addEventListener('abort', () => r(), { once: true }));
    while (!this.closed) {
      const items = await this.o.spool.peek(this.o.batch.maxRecords, this.o.batch.maxBytes, this.stop.signal);
      if (this.closed || items.length === 0) continue;
      const batch: Batch = { items, records: items.map((i) => i.value), rejected: [] };
      this.inFlightAt = (items[0] as SpoolItem<ExportRecord>).atMs;
      const settled = new Promise<Settled>((r) => (batch.done = r));
      if (this.queue.offer(batch) !== 'queued') break;
      const s = await Promise.race([settled, closedP.then(() => undefined)]);
      if (!s) break;
      const last = items[items.length - 1] as SpoolItem<ExportRecord>;
      if (s.result === 'delivered') {
        const t = this.now();
        const accepted = batch.records.length;
        this.delivered += accepted;
        this.o.metrics?.exportDelivered(
          this.o.inst.name,
          batch.records.map((r) => Math.max(0, t - r.atMs) / 1000),
        );
        void accepted;
      } else {
        // rejected (the whole batch refused for its content) or expired (never: no deadline)
        for (const r of batch.records) batch.rejected.push({ record: r, reason: s.reason ?? s.result });
      }
      if (batch.rejected.length > 0) this.rejected(batch.rejected);
      await this.o.spool.commit(last.n);
      this.inFlightAt = undefined;
    }
  }

  private async attempt(b: Batch, attempt: { attempt: number; signal: AbortSignal }): Promise<DeliveryOutcome> {
    const out = await this.o.sink.send(b.records, attempt);
    if (out.result !== 'partial') return out;
    // Per-record answers: the refused ones are dropped (counted), the ones that may succeed go again alone.
    const retry = new Set(out.retry);
    for (const x of out.rejected) {
      const r = b.records[x.index];
      if (r) b.rejected.push({ record: r, reason: x.reason });
    }
    const accepted = b.records.filter((_, i) => !retry.has(i) && !out.rejected.some((x) => x.index === i));
    if (accepted.length > 0) {
      const t = this.now();
      this.delivered += accepted.length;
      this.o.metrics?.exportDelivered(
        this.o.inst.name,
        accepted.map((r) => Math.max(0, t - r.atMs) / 1000),
      );
    }
    b.records = b.records.filter((_, i) => retry.has(i));
    if (b.records.length === 0) return { result: 'delivered', detail: out.reason };
    return { result: 'retry', reason: out.reason, ...(out.waitMs !== undefined ? { waitMs: out.waitMs } : {}) };
  }

  private attempted(b: Batch, outcome: DeliveryOutcome, attempt: number, ms: number): void {
    this.o.metrics?.exportAttempt(this.o.inst.name, outcome.result, ms / 1000);
    if (outcome.result === 'delivered') {
      this.failures = 0;
      if (this.downSince !== undefined) {
        const downForMs = this.now() - this.downSince;
        this.downSince = undefined;
        this.o.logger.info({ sink: this.o.inst.name, downForMs }, 'export sink delivers again');
        void this.alarm(
          draft('export.sink_ok', {
            sink: this.o.inst.name,
            kind: this.o.inst.kind,
            downForMs,
            pending: this.o.spool.pending,
          }),
        );
      }
      this.setState('ok');
      return;
    }
    if (outcome.result === 'rejected') return;
    this.failures++;
    this.o.logger.warn(
      {
        sink: this.o.inst.name,
        attempt,
        ms,
        records: b.records.length,
        outcome: outcome.result,
        status: 'status' in outcome ? outcome.status : undefined,
        reason: outcome.reason,
      },
      'export delivery attempt failed',
    );
    if (outcome.result === 'retry' && this.failures === (this.o.failingAfter ?? 3) && this.state !== 'broken') {
      this.downSince ??= this.now();
      this.setState('failing');
      void this.alarm(
        draft('export.sink_down', {
          sink: this.o.inst.name,
          kind: this.o.inst.kind,
          state: 'failing',
          ...(outcome.status !== undefined ? { status: outcome.status } : {}),
          reason: outcome.reason,
          pending: this.o.spool.pending,
        }),
      );
    }
  }

  /**
   * The sink answered that the credentials or the endpoint are gone (401/403/404). Unlike an alert channel, a
   * sink keeps trying, at its longest backoff: its backlog is on disk, and the fix (a re-enabled token, a created
   * index) is usually made on the other side.
   */
  private broken(reason: string, status: number | undefined): void {
    this.o.logger.error(
      { sink: this.o.inst.name, kind: this.o.inst.kind, status, reason, pending: this.o.spool.pending },
      `export sink ${this.o.inst.name} refuses ft (credentials or endpoint): records keep spooling; ft tries again every ${Math.round(this.o.inst.maxBackoffMs / 1000)} s`,
    );
    const wasBroken = this.state === 'broken';
    this.downSince ??= this.now();
    this.setState('broken');
    if (!wasBroken)
      void this.alarm(
        draft('export.sink_down', {
          sink: this.o.inst.name,
          kind: this.o.inst.kind,
          state: 'broken',
          ...(status !== undefined ? { status } : {}),
          reason,
          pending: this.o.spool.pending,
        }),
      );
    const t = setTimeout(() => this.queue.resume(), this.o.retry?.maxMs ?? this.o.inst.maxBackoffMs);
    t.unref();
    this.stop.signal.addEventListener('abort', () => clearTimeout(t), { once: true });
  }

  private rejected(list: { record: ExportRecord; reason: string }[]): void {
    this.dropped.rejected += list.length;
    this.o.metrics?.exportDropped(this.o.inst.name, 'rejected', list.length);
    const first = list[0] as { record: ExportRecord; reason: string };
    this.o.logger.error(
      { sink: this.o.inst.name, records: list.length, firstId: first.record.id, reason: first.reason },
      'export sink refused records for their content: dropped',
    );
    void this.alarm(
      draft('export.dropped', {
        sink: this.o.inst.name,
        kind: this.o.inst.kind,
        reason: 'rejected',
        dropped: list.length,
        total: this.dropped.rejected + this.dropped.spool_full,
        detail: first.reason.slice(0, 500),
        fromSeq: Math.min(...list.map((x) => x.record.seq)),
        toSeq: Math.max(...list.map((x) => x.record.seq)),
      }),
    );
  }

  private spoolDropped(d: SpoolDrop): void {
    this.dropped.spool_full += d.count;
    this.o.metrics?.exportDropped(this.o.inst.name, 'spool_full', d.count);
    this.o.logger.error(
      { sink: this.o.inst.name, dropped: d.count, fromSeq: d.fromSeq, toSeq: d.toSeq },
      `export sink ${this.o.inst.name}: its spool reached ${Math.round(this.o.inst.spoolBytes / 1024 / 1024)} MiB; the oldest records were dropped`,
    );
    this.pendingDrop = this.pendingDrop
      ? { count: this.pendingDrop.count + d.count, fromSeq: this.pendingDrop.fromSeq, toSeq: d.toSeq }
      : d;
    const every = this.o.alarmEveryMs ?? 60_000;
    const wait = this.lastDropAlarm + every - this.now();
    if (wait <= 0) void this.alarmDrop();
    else if (!this.dropTimer) {
      this.dropTimer = setTimeout(() => void this.alarmDrop(), wait);
      this.dropTimer.unref();
    }
  }

  private async alarmDrop(): Promise<void> {
    this.dropTimer = undefined;
    const d = this.pendingDrop;
    if (!d) return;
    this.pendingDrop = undefined;
    this.lastDropAlarm = this.now();
    await this.alarm(
      draft('export.dropped', {
        sink: this.o.inst.name,
        kind: this.o.inst.kind,
        reason: 'spool_full',
        dropped: d.count,
        total: this.dropped.rejected + this.dropped.spool_full,
        fromSeq: d.fromSeq,
        toSeq: d.toSeq,
      }),
    );
  }

  private async alarm(d: EventDraft): Promise<void> {
    try {
      await this.o.alarms?.append([d]);
    } catch (err) {
      this.o.logger.error({ sink: this.o.inst.name, err: (err as Error).message }, 'could not record an export alarm');
    }
  }

  private setState(s: SinkState): void {
    this.state = this.closed && s !== 'closed' ? this.state : s;
    this.o.metrics?.exportSinkState(this.o.inst.name, this.state);
  }
}
