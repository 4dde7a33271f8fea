import type {
  AlertChannel,
  AlertMessage,
  DeliveryOutcome,
  EventConsumer,
  PluginLogger,
  RateLimit,
  WireEvent,
} from '@ft/sdk';
import { DeliveryQueue, type Settled } from '../deliver/index.js';
import type { EventAppender } from '../events/log.js';
import { draft } from '../events/log.js';
import type { AlertsPolicy } from '../policy/alerts.js';
import { mergeMessages, MessageBuilder, type MessageContext } from './message.js';
import { channelHears } from './routes.js';
import type { ChannelStatus, StatusFile } from './status.js';

/** Numbers a channel reports (prom-client in `ft run`). */
export interface AlertMetrics {
  alertAttempt(channel: string, outcome: DeliveryOutcome['result'], seconds: number): void;
  alertDispatched(channel: string, seconds: number): void;
  alertChannelState(channel: string, state: ChannelStatus['state']): void;
}

const ACK_EVERY_MS = 1000;
const STATUS_EVERY_MS = 1000;

/** A message in a channel's queue, with the stream positions it stands for. */
export interface Queued {
  message: AlertMessage;
  amend: boolean;
  seqs: number[];
}

export interface ChannelRunnerOptions {
  name: string;
  kind: string;
  channel: AlertChannel;
  alerts: AlertsPolicy;
  context: MessageContext;
  rate: RateLimit;
  timeoutMs: number;
  deadlineMs: number;
  /** Moves this channel's cursor (the subscription's manual ack). */
  ack(seq: number): Promise<void>;
  /** Where its operational alarms go (the event stream: the other channels hear them). */
  alarms?: EventAppender;
  status?: StatusFile;
  metrics?: AlertMetrics;
  logger: PluginLogger;
  retry?: { baseMs?: number; maxMs?: number };
  maxPending?: number;
  /** What the previous run left (its status file): a channel it left broken or failing reports its recovery. */
  previous?: ChannelStatus;
}

/**
 * One channel's consumer of the event stream: builds its messages from the events it is handed, keeps the ones
 * its routes let through in its own delivery queue, and acknowledges a position only once every message before
 * it was delivered (or dropped, and said so). A restart replays from there: what was not delivered is sent; what
 * was, after an undelivered one, may be sent again (at-least-once; each kind's repeat behaviour is documented).
 */
export class ChannelRunner implements EventConsumer {
  readonly queue: DeliveryQueue<Queued>;
  private readonly builder: MessageBuilder;
  /** seq → messages still waiting that stand for it. */
  private readonly outstanding = new Map<number, number>();
  private lastSeen = 0;
  private acked = 0;
  private stored = 0;
  private ackTimer?: NodeJS.Timeout;
  private statusState?: ChannelStatus['state'];
  private statusAt = 0;
  private statusTimer?: NodeJS.Timeout;
  private readonly since = new Date().toISOString();
  private lastDelivery?: ChannelStatus['lastDelivery'];
  private closed = false;

  constructor(private readonly o: ChannelRunnerOptions) {
    this.builder = new MessageBuilder(o.context, o.name);
    this.queue = new DeliveryQueue<Queued>({
      name: o.name,
      rate: o.rate,
      timeoutMs: o.timeoutMs,
      retry: { ...o.retry, deadlineMs: o.deadlineMs },
      ...(o.maxPending ? { maxPending: o.maxPending } : {}),
      send: (q, attempt) => o.channel.send(q.message, attempt),
      keyOf: (q) => q.message.key,
      merge: (waiting, next) => ({
        message: mergeMessages(waiting.message, next.message, next.amend),
        amend: false,
        seqs: [...waiting.seqs, ...next.seqs],
      }),
      onAttempt: (q, outcome, attempt, ms) => {
        o.metrics?.alertAttempt(o.name, outcome.result, ms / 1000);
        if (outcome.result !== 'delivered')
          o.logger.warn(
            {
              channel: o.name,
              alert: q.message.kind,
              key: q.message.key,
              attempt,
              ms,
              outcome: outcome.result,
              status: 'status' in outcome ? outcome.status : undefined,
              reason: outcome.reason,
            },
            'alert delivery attempt failed',
          );
      },
      onSettled: (q, s) => this.settled(q, s),
      onBroken: (reason, status) => this.broken(reason, status),
      onRecovered: (downForMs) => {
        o.logger.info({ channel: o.name, downForMs }, 'alert channel delivers again');
        void this.alarm(draft('alert.channel_ok', { channel: o.name, kind: o.kind, downForMs }));
        this.writeStatus();
      },
    });
    const prev = o.previous;
    if (prev?.state === 'broken' || (prev?.state === 'closed' && prev.brokenReason))
      this.queue.markDown(Date.parse(prev.updatedAt) || Date.now());
    this.writeStatus();
  }

  async handle(events: readonly WireEvent[]): Promise<void> {
    for (const e of events) {
      if (this.closed) return;
      for (const b of this.builder.build(e)) {
        if (!channelHears(this.o.alerts, this.o.name, b.message)) continue;
        this.outstanding.set(e.seq, (this.outstanding.get(e.seq) ?? 0) + 1);
        const q: Queued = { message: b.message, amend: b.amend === true, seqs: [e.seq] };
        // Synchronous while there is room, so the messages of one batch coalesce the same way every time (a
        // backlog read after a restart becomes one message per incident); when full it waits, and this subscriber
        // falls behind and reads back from the log.
        let r = this.queue.offer(q, { mergeOnly: q.amend });
        if (r === 'full') r = (await this.queue.push(q, { mergeOnly: q.amend })) ? 'queued' : 'dropped';
        if (r === 'dropped') this.release([e.seq]);
      }
      if (e.seq > this.lastSeen) this.lastSeen = e.seq;
    }
    this.maybeAck();
    this.writeStatus();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.close();
    await this.flushAck();
    clearTimeout(this.statusTimer);
    this.writeStatus('closed');
    await this.o.status?.flush();
    await this.o.channel.close?.();
  }

  private release(seqs: number[]): void {
    for (const s of seqs) {
      const n = (this.outstanding.get(s) ?? 0) - 1;
      if (n > 0) this.outstanding.set(s, n);
      else this.outstanding.delete(s);
    }
  }

  /**
   * The cursor may move to just before the oldest message still waiting, or to the last event seen. Stored at most
   * once a second (and at close): each store is a journal write with fsync, and twelve channels acknowledging
   * every event would compete for the disk with the intent records mitigation waits on. A crash loses at most the
   * last second's acknowledgements: those alerts are sent again (at-least-once).
   */
  private maybeAck(): void {
    let min = Infinity;
    for (const s of this.outstanding.keys()) if (s < min) min = s;
    const to = min === Infinity ? this.lastSeen : min - 1;
    if (to > this.acked) {
      this.acked = to;
      this.ackTimer ??= setTimeout(() => void this.flushAck(), ACK_EVERY_MS);
    }
  }

  /** Stores the acknowledged position now. */
  async flushAck(): Promise<void> {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.acked > this.stored) {
      this.stored = this.acked;
      await this.o.ack(this.acked).catch(() => undefined);
    }
  }

  private settled(q: Queued, s: Settled): void {
    const m = q.message;
    if (s.result === 'delivered') {
      this.lastDelivery = {
        at: new Date().toISOString(),
        alert: m.title,
        kind: m.kind,
        attempts: s.attempts,
        ms: s.tookMs,
      };
      const at = Date.parse(m.at);
      if (Number.isFinite(at)) this.o.metrics?.alertDispatched(this.o.name, Math.max(0, Date.now() - at) / 1000);
      this.o.logger.info(
        { channel: this.o.name, alert: m.kind, key: m.key, attempts: s.attempts, ms: s.tookMs },
        `alert sent: ${m.title}`,
      );
    } else {
      this.o.logger.error(
        { channel: this.o.name, alert: m.kind, key: m.key, attempts: s.attempts, status: s.status, reason: s.reason },
        `alert dropped (${s.result}): ${m.title}`,
      );
      // An alarm about alerting itself is not alarmed again (two refusing channels would ping-pong forever).
      if (!m.kind.startsWith('alert.'))
        void this.alarm(
          draft('alert.dropped', {
            channel: this.o.name,
            kind: this.o.kind,
            alert: m.title,
            alertKind: m.kind,
            reason: s.reason ?? s.result,
            attempts: s.attempts,
          }),
        );
    }
    this.release(q.seqs);
    this.maybeAck();
    this.writeStatus();
  }

  private broken(reason: string, status: number | undefined): void {
    this.o.logger.error(
      { channel: this.o.name, kind: this.o.kind, status, reason, pending: this.queue.pending },
      `alert channel ${this.o.name} is broken (the service says the hook or key is gone): it stops sending; its alerts stay unacknowledged in the event log until ft restarts`,
    );
    void this.alarm(
      draft('alert.channel_broken', {
        channel: this.o.name,
        kind: this.o.kind,
        ...(status !== undefined ? { status } : {}),
        reason,
        pending: this.queue.pending,
      }),
    );
    this.writeStatus();
  }

  private async alarm(d: ReturnType<typeof draft>): Promise<void> {
    try {
      await this.o.alarms?.append([d]);
    } catch (err) {
      this.o.logger.error({ channel: this.o.name, err: (err as Error).message }, 'could not record an alert alarm');
    }
  }

  /**
   * The status file `ft alert list` reads: written at once when the state changes (ok, failing, broken, closed),
   * otherwise at most once a second. Each write is a file write and a rename, and the process's I/O threads are
   * shared with the journal writes mitigation waits on.
   */
  private writeStatus(state?: ChannelStatus['state']): void {
    const st = this.queue.stats();
    const now = state ?? st.state;
    this.o.metrics?.alertChannelState(this.o.name, now);
    const changed = now !== this.statusState;
    if (!changed && Date.now() - this.statusAt < STATUS_EVERY_MS) {
      this.statusTimer ??= setTimeout(() => {
        this.statusTimer = undefined;
        this.writeStatus();
      }, STATUS_EVERY_MS);
      return;
    }
    clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    this.statusState = now;
    this.statusAt = Date.now();
    const s: ChannelStatus = {
      channel: this.o.name,
      kind: this.o.kind,
      destination: this.o.channel.describe(),
      state: now,
      since: this.since,
      pending: st.pending,
      delivered: st.delivered,
      rejected: st.rejected,
      expired: st.expired,
      retries: st.retries,
      ...(this.lastDelivery ? { lastDelivery: this.lastDelivery } : {}),
      ...(st.lastError ? { lastError: st.lastError } : {}),
      ...(st.brokenReason ? { brokenReason: st.brokenReason } : {}),
      updatedAt: new Date(this.statusAt).toISOString(),
    };
    void this.o.status?.write(s);
  }
}
