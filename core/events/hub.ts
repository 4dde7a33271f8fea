import type { CursorStore, EventAppender, EventSource, LogCursor, Lost, EventLogger } from './log.js';
import type { EventType, FtEvent } from '@ft/sdk';

export type EventHandler = (events: FtEvent[]) => Promise<void> | void;

export interface SubscribeOptions {
  /** Where a subscriber with no stored cursor starts: 'now' (default: only what comes next), 'start' (the oldest held), a seq. */
  from?: 'now' | 'start' | number;
  /** Events held for it in memory while it is live (default 1024). Past that it reads back from the log. */
  queue?: number;
  /** At most this many per handler call (default 256). */
  batch?: number;
  /** Only these types reach the handler; the cursor still moves over the others. */
  types?: readonly EventType[];
  /**
   * The handler acknowledges by calling `ack(seq)` itself (an export sink that confirms after the remote side
   * did). Default: an event is acknowledged when the handler call that carried it resolves.
   */
  manualAck?: boolean;
  /** Retention removed events before this subscriber read them. */
  onLost?: (lost: Lost) => void;
  /** First wait after a failed handler call, doubled up to retryMaxMs (defaults 500 ms, 30 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export interface SubscriptionStats {
  name: string;
  /** Last seq acknowledged (persisted, or about to be). */
  acked: number;
  /** Next seq to be handed to the handler. */
  next: number;
  /** Reading back from the log (it fell behind, or is catching up after a start). */
  behind: boolean;
  queued: number;
  delivered: number;
  failures: number;
  lost: number;
  /** Reads from the log (catching up after a start, or after its queue overflowed). */
  readBacks: number;
  lastError?: string;
}

/**
 * One named reader of the event log, with at-least-once delivery from a persisted cursor. Live events arrive in
 * a bounded queue filled synchronously by the appender (never awaited: a stuck handler cannot hold up whoever
 * appends); when the queue is full the subscription drops it and reads back from the log, from its own position,
 * until it has caught up.
 */
export class Subscription {
  private queue: FtEvent[] = [];
  private live = false;
  /** While live: the seq the next offered event must have (the queue and the batch in the handler come before it). */
  private expected = 0;
  private pos: number;
  private acked: number;
  private closed = false;
  private wake?: () => void;
  private reader?: LogCursor;
  private readonly done: Promise<void>;
  private persisting?: Promise<void>;
  private persistWanted = false;
  private idleWaiters: (() => void)[] = [];
  private readonly stat = {
    delivered: 0,
    failures: 0,
    lost: 0,
    readBacks: 0,
    lastError: undefined as string | undefined,
  };
  private readonly types?: Set<string>;

  constructor(
    readonly name: string,
    private readonly handler: EventHandler,
    private readonly opts: SubscribeOptions,
    private readonly hub: EventHub,
    start: number,
  ) {
    this.pos = start;
    this.acked = start - 1;
    if (opts.types) this.types = new Set(opts.types);
    this.done = this.pump();
  }

  stats(): SubscriptionStats {
    return {
      name: this.name,
      acked: this.acked,
      next: this.pos,
      behind: !this.live,
      queued: this.queue.length,
      delivered: this.stat.delivered,
      failures: this.stat.failures,
      lost: this.stat.lost,
      readBacks: this.stat.readBacks,
      ...(this.stat.lastError ? { lastError: this.stat.lastError } : {}),
    };
  }

  /** Called by the hub, synchronously, with each durable batch. */
  offer(events: readonly FtEvent[]): void {
    if (this.closed || !this.live) return;
    for (const e of events) {
      if (e.seq < this.expected) continue; // already queued or handed over
      if (e.seq !== this.expected || this.queue.length >= (this.opts.queue ?? 1024)) {
        // Full, or a seq it has not seen in between (another controller wrote it): read back from the log.
        this.live = false;
        this.queue = [];
        break;
      }
      this.queue.push(e);
      this.expected = e.seq + 1;
    }
    this.wake?.();
  }

  /** Acknowledges everything up to `seq`: the cursor moves there (durably, soon after). */
  ack(seq: number): Promise<void> {
    if (seq <= this.acked) return this.persisting ?? Promise.resolve();
    this.acked = seq;
    return this.persist();
  }

  private persist(): Promise<void> {
    // One write in flight; acks meanwhile are folded into the next one (the cursor only matters as its latest value).
    this.persistWanted = true;
    if (!this.persisting) {
      this.persisting = (async () => {
        while (this.persistWanted) {
          this.persistWanted = false;
          await this.hub.cursors.set(this.name, this.acked).catch((err: Error) => {
            this.hub.logger?.warn(
              { subscriber: this.name, err: err.message },
              'could not store a subscriber cursor (it will replay from the last stored one after a restart)',
            );
          });
        }
      })().finally(() => (this.persisting = undefined));
    }
    return this.persisting;
  }

  /** Resolves once the subscriber has been handed everything appended so far and is live again (tests, shutdown). */
  async caughtUp(): Promise<void> {
    const target = await this.hub.source.lastSeq();
    while (!this.closed && (this.pos <= target || !this.live)) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private async pump(): Promise<void> {
    const batchMax = this.opts.batch ?? 256;
    while (!this.closed) {
      let batch: FtEvent[];
      if (this.live) {
        if (this.queue.length === 0) {
          this.notifyIdle();
          await new Promise<void>((r) => (this.wake = r));
          this.wake = undefined;
          continue;
        }
        batch = this.queue.splice(0, batchMax);
      } else {
        let read: { events: FtEvent[]; lost?: Lost };
        try {
          if (!this.reader || this.reader.position !== this.pos) {
            await this.reader?.close();
            this.reader = this.hub.source.cursor(this.pos);
          }
          read = await this.reader.next(batchMax);
          this.stat.readBacks++;
        } catch (err) {
          this.stat.failures++;
          this.stat.lastError = `reading the log: ${(err as Error).message}`;
          await this.pause(this.stat.failures);
          continue;
        }
        if (read.lost) await this.reportLost(read.lost);
        if (read.events.length === 0) {
          // At the end of the log. Everything durable has been read; going live is synchronous with that check, so
          // an append published after it lands in the queue.
          const last = await this.hub.source.lastSeq();
          if (this.closed) break;
          if (this.pos > last && this.hub.lastPublished() <= last) {
            this.live = true;
            this.expected = this.pos;
            continue;
          }
          if (this.pos > last) {
            // Published but not yet visible to the reader (another process's log): look again shortly.
            await this.pause(1);
          }
          continue;
        }
        batch = read.events;
      }
      await this.deliver(batch);
    }
    this.notifyIdle();
  }

  private async reportLost(lost: Lost): Promise<void> {
    this.stat.lost += lost.count;
    this.hub.logger?.error(
      { subscriber: this.name, lost: lost.count, fromSeq: lost.fromSeq, toSeq: lost.toSeq },
      'a subscriber fell behind the event log retention: events it never got were removed',
    );
    try {
      this.opts.onLost?.(lost);
    } catch {
      /* the subscriber's own problem; delivery goes on */
    }
    // An operational alarm in the stream itself (alerts subscribe to it); never awaited by the appender's callers.
    void this.hub.appender
      ?.append([
        {
          type: 'subscriber.lost_events',
          data: { subscriber: this.name, lost: lost.count, fromSeq: lost.fromSeq, toSeq: lost.toSeq },
        },
      ])
      .catch(() => undefined);
    if (!this.opts.manualAck) await this.ack(lost.toSeq);
  }

  private async deliver(batch: FtEvent[]): Promise<void> {
    const wanted = this.types ? batch.filter((e) => this.types?.has(e.type)) : batch;
    const last = (batch[batch.length - 1] as FtEvent).seq;
    let failures = 0;
    while (!this.closed && wanted.length > 0) {
      try {
        await this.handler(wanted);
        this.stat.delivered += wanted.length;
        break;
      } catch (err) {
        failures++;
        this.stat.failures++;
        this.stat.lastError = (err as Error).message;
        this.hub.logger?.warn(
          { subscriber: this.name, err: (err as Error).message, firstSeq: wanted[0]?.seq, attempt: failures },
          'subscriber failed to handle events; retrying (the appender is not held up)',
        );
        await this.pause(failures);
      }
    }
    if (this.closed) return;
    this.pos = last + 1;
    // With manualAck the handler acknowledges what it got; a batch it never saw (all filtered out) moves the cursor
    // only when everything before it is acknowledged already (a later ack covers it anyway).
    if (!this.opts.manualAck) void this.ack(last);
    else if (wanted.length === 0 && this.acked === (batch[0] as FtEvent).seq - 1) void this.ack(last);
    this.notifyIdle();
  }

  private pause(failures: number): Promise<void> {
    const base = this.opts.retryBaseMs ?? 500;
    const ms = Math.min(this.opts.retryMaxMs ?? 30_000, base * 2 ** Math.min(failures - 1, 16));
    return new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        r();
      }, ms);
      // close() cuts a wait short.
      this.wake = () => {
        if (!this.closed) return;
        clearTimeout(t);
        r();
      };
    });
  }

  /**
   * Stops delivery. Bounded: a handler stuck in a call is left behind (what it was handed stays unacknowledged and
   * comes again after a restart).
   */
  async close(waitMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    this.notifyIdle();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.done, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    await this.reader?.close();
    if (this.persisting) await this.persisting;
    this.hub.forget(this);
  }
}

/**
 * The subscribers of one log: keeps their cursors and hands each durable batch to every live one. Used the same
 * way over the embedded journal and over the fleet's Redis stream.
 */
export class EventHub {
  private readonly subs = new Map<string, Subscription>();
  private published = 0;

  constructor(
    readonly source: EventSource,
    readonly cursors: CursorStore,
    readonly logger?: EventLogger,
    /** Where the hub's own alarms go (subscriber.lost_events). */
    readonly appender?: EventAppender,
  ) {}

  /** The appender calls this with every durable batch (synchronously; it returns at once). */
  publish(events: readonly FtEvent[]): void {
    const last = events[events.length - 1];
    if (last && last.seq > this.published) this.published = last.seq;
    for (const s of this.subs.values()) s.offer(events);
  }

  lastPublished(): number {
    return this.published;
  }

  async subscribe(name: string, handler: EventHandler, opts: SubscribeOptions = {}): Promise<Subscription> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(name))
      throw new Error(
        `subscriber name ${JSON.stringify(name)}: letters, digits, . _ : - (at most 128), starting with a letter or digit`,
      );
    if (this.subs.has(name)) throw new Error(`a subscriber named ${name} is already running`);
    const stored = await this.cursors.get(name);
    let start: number;
    if (stored !== undefined) start = stored + 1;
    else if (opts.from === 'start') start = 1;
    else if (typeof opts.from === 'number') start = Math.max(1, Math.floor(opts.from));
    else start = Math.max(await this.source.lastSeq(), this.published) + 1;
    // 'start' begins at the oldest event held: nothing before it was ever this subscriber's to lose.
    if (stored === undefined && opts.from === 'start') start = await this.oldest();
    // A new subscriber's starting point is stored at once: otherwise a crash before its first acknowledgement would
    // restart it from 'now' again and skip what was appended in between (at-least-once from the first start on).
    if (stored === undefined) await this.cursors.set(name, start - 1);
    const sub = new Subscription(name, handler, opts, this, start);
    this.subs.set(name, sub);
    return sub;
  }

  private async oldest(): Promise<number> {
    const s = this.source as EventSource & { firstSeq?: () => Promise<number> };
    return s.firstSeq ? s.firstSeq() : 1;
  }

  forget(sub: Subscription): void {
    if (this.subs.get(sub.name) === sub) this.subs.delete(sub.name);
  }

  list(): Subscription[] {
    return [...this.subs.values()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.subs.values()].map((s) => s.close()));
    await this.cursors.close();
  }
}
