import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { JournalEventLog } from './journal-log.js';
import {
  publishTo,
  type EventAppender,
  type EventDraft,
  type EventSource,
  type LogCursor,
  type Lost,
  type Publish,
  type EventLogger,
} from './log.js';
import { decodeTrusted, encodeEvent, type FtEvent, type WireEvent } from '@ft/sdk';

/**
 * KEYS[1] stream, KEYS[2] seq counter; ARGV[1] approximate max length, ARGV[2..] event JSON without its seq.
 * One script, so the fleet has one sequence however many controllers append: the counter is moved past the
 * stream's last id as well, so a counter lost with a Redis that did not persist it never reuses a seq. Each
 * entry's id is "<seq>-0": readers range over seqs directly. Returns the first seq given.
 */
const APPEND = `
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if top[1] then
  local s = tonumber(string.match(top[1][1], '^(%d+)'))
  if s > last then last = s end
end
local first = last + 1
for i = 2, #ARGV do
  last = last + 1
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], string.format('%d-0', last), 'e', ARGV[i])
end
redis.call('SET', KEYS[2], string.format('%d', last))
return first
`;

export function eventKeys(ns: string) {
  return { stream: `${ns}:events`, seq: `${ns}:events:seq`, cursors: `${ns}:events:cursors`, id: `${ns}:events:id` };
}

export interface RedisEventLogOptions {
  /** A store connection (commands fail after a few retries rather than hang). */
  conn: Redis;
  namespace?: string;
  /** The stream keeps about this many events (default 100 000); older ones live on in each controller's archive. */
  maxLen?: number;
  tenant?: string;
  node?: string;
  /** This controller's journal (archive mode): every event it appends is written there too before it is published. */
  archive?: JournalEventLog;
  logger?: EventLogger;
  now?: () => number;
}

/** The fleet's event log: a Redis stream with one sequence across controllers, archived in each controller's journal. */
export class RedisEventLog implements EventAppender, EventSource {
  readonly description: string;
  readonly keys: ReturnType<typeof eventKeys>;
  readonly node: string;
  private readonly listeners = new Set<Publish>();
  private readonly now: () => number;

  constructor(private readonly opts: RedisEventLogOptions) {
    this.keys = eventKeys(opts.namespace ?? 'ft');
    const o = opts.conn.options;
    this.description = `event stream ${this.keys.stream} on redis://${o.host}:${o.port}/${o.db ?? 0}`;
    this.node = opts.node ?? hostname();
    this.now = opts.now ?? Date.now;
    opts.conn.defineCommand('ftAppendEvents', { numberOfKeys: 2, lua: APPEND });
  }

  get conn(): Redis {
    return this.opts.conn;
  }

  onPublish(listener: Publish): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async append(drafts: readonly EventDraft[]): Promise<FtEvent[]> {
    if (drafts.length === 0) return [];
    const at = this.now();
    const events = drafts.map(
      (d) =>
        ({
          seq: 0,
          id: randomUUID(),
          at: d.at ?? at,
          tenant: d.tenant ?? this.opts.tenant ?? 'default',
          node: this.node,
          type: d.type,
          data: d.data,
        }) as FtEvent,
    );
    const bodies = events.map((e) => {
      const { seq: _seq, ...rest } = encodeEvent(e);
      return JSON.stringify(rest);
    });
    const first = await (
      this.opts.conn as unknown as {
        ftAppendEvents(s: string, q: string, max: number, ...e: string[]): Promise<number>;
      }
    ).ftAppendEvents(this.keys.stream, this.keys.seq, this.opts.maxLen ?? 100_000, ...bodies);
    events.forEach((e, i) => (e.seq = Number(first) + i));
    if (this.opts.archive) {
      await this.opts.archive.appendStored(events).catch((err: Error) =>
        // Redis holds them (the fleet's record); the local archive missing some is worth a warning, not a failure.
        this.opts.logger?.warn(
          { err: err.message, firstSeq: first, count: events.length },
          'could not archive events in the local journal (they are in Redis)',
        ),
      );
    }
    publishTo(this.listeners, events, this.opts.logger);
    return events;
  }

  /** This fleet's stream, told apart from any other (set once, by whichever controller gets there first). */
  async fleetId(): Promise<string> {
    await this.opts.conn.set(this.keys.id, randomUUID(), 'NX');
    return (await this.opts.conn.get(this.keys.id)) as string;
  }

  async lastSeq(): Promise<number> {
    const top = await this.opts.conn.xrevrange(this.keys.stream, '+', '-', 'COUNT', 1);
    const counter = Number((await this.opts.conn.get(this.keys.seq)) ?? 0);
    return Math.max(counter, top[0] ? seqOf(top[0][0]) : 0);
  }

  async firstSeq(): Promise<number> {
    const first = await this.opts.conn.xrange(this.keys.stream, '-', '+', 'COUNT', 1);
    return first[0] ? seqOf(first[0][0]) : (await this.lastSeq()) + 1;
  }

  async seqAt(ms: number): Promise<number> {
    // Binary search over seqs by the events' own times (close enough to monotonic; a minute of slack).
    let lo = await this.firstSeq();
    let hi = await this.lastSeq();
    const target = ms - 60_000;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const [entry] = await this.opts.conn.xrange(this.keys.stream, `${mid}-0`, '+', 'COUNT', 1);
      if (!entry) break;
      const json = entry[1][entry[1].indexOf('e') + 1];
      const at = json ? Date.parse((JSON.parse(json) as { at: string }).at) : NaN;
      if (!Number.isFinite(at) || at >= target) hi = mid;
      else lo = Math.max(mid, seqOf(entry[0])) + 1;
    }
    return lo;
  }

  cursor(from: number): LogCursor {
    return new RedisCursor(this.opts.conn, this.keys.stream, from, this.opts.logger);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}

const seqOf = (id: string) => Number(id.slice(0, id.indexOf('-')));

/** Reads the fleet stream forward from a seq; a jump over trimmed entries is reported as lost. */
export class RedisCursor implements LogCursor {
  constructor(
    private readonly conn: Redis,
    private readonly stream: string,
    private pos: number,
    private readonly logger?: EventLogger,
  ) {}

  get position(): number {
    return this.pos;
  }

  async next(limit: number): Promise<{ events: FtEvent[]; lost?: Lost }> {
    const entries = await this.conn.xrange(this.stream, `${this.pos}-0`, '+', 'COUNT', limit);
    return this.take(entries);
  }

  /**
   * Waits up to `ms` for entries past the position (XREAD BLOCK) on a connection of its own: a blocking read must
   * not hold up the commands of a shared one.
   */
  async wait(blocking: Redis, ms: number, limit: number): Promise<{ events: FtEvent[]; lost?: Lost }> {
    const res = await blocking.xread('COUNT', limit, 'BLOCK', ms, 'STREAMS', this.stream, `${this.pos - 1}-0`);
    return this.take(res?.[0]?.[1] ?? []);
  }

  private take(entries: [string, string[]][]): { events: FtEvent[]; lost?: Lost } {
    const out: FtEvent[] = [];
    let lost: Lost | undefined;
    for (const [id, fields] of entries) {
      const seq = seqOf(id);
      if (seq < this.pos) continue;
      if (seq > this.pos && this.pos > 0) {
        const fromSeq = lost?.fromSeq ?? this.pos;
        lost = { fromSeq, toSeq: seq - 1, count: seq - fromSeq };
      }
      this.pos = seq + 1;
      const json = fields[fields.indexOf('e') + 1];
      if (json === undefined) continue;
      try {
        out.push(decodeTrusted({ ...(JSON.parse(json) as WireEvent), seq }));
      } catch (err) {
        this.logger?.warn(
          { stream: this.stream, seq, err: (err as Error).message },
          'skipped an event this ft cannot read',
        );
      }
    }
    return lost ? { events: out, lost } : { events: out };
  }

  async close(): Promise<void> {}
}
