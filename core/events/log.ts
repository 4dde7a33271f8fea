import type { EventData, EventType, FtEvent } from '@ft/sdk';

/** What a producer hands the log: the type and its data; seq, id, node (and by default time and tenant) are the log's. */
export type EventDraft = {
  [T in EventType]: { type: T; data: EventData<T>; tenant?: string; at?: number };
}[EventType];

/** Builds a draft with its type checked against its data. */
export function draft<T extends EventType>(
  type: T,
  data: EventData<T>,
  extra: { tenant?: string; at?: number } = {},
): EventDraft {
  return { type, data, ...extra } as EventDraft;
}

/** The producers' side: what the executor, the runner and the RuleBook call. */
export interface EventAppender {
  /**
   * Resolves with the stored events (seq assigned, in order) once they are durable — fdatasync'd in the journal,
   * and in fleet mode acknowledged by Redis too — and only then are they published to subscribers. Rejects if
   * they could not be written; then no seq was used (no gap).
   */
  append(drafts: readonly EventDraft[]): Promise<FtEvent[]>;
}

/** Events retention removed before a reader got to them. */
export interface Lost {
  fromSeq: number;
  toSeq: number;
  count: number;
}

/** A position in the log that reads forward. */
export interface LogCursor {
  /** The seq the next event returned will have at least. */
  readonly position: number;
  /** Up to `limit` events from the position on, in seq order; empty when the reader is at the end. */
  next(limit: number): Promise<{ events: FtEvent[]; lost?: Lost }>;
  close(): Promise<void>;
}

/** The readers' side (in-process subscribers, `ft events`, the audit view). */
export interface EventSource {
  readonly description: string;
  /** The last seq written (0: none yet). */
  lastSeq(): Promise<number>;
  /** A cursor at `from` (the first seq wanted). */
  cursor(from: number): LogCursor;
  /**
   * A seq at or before the first event at or after `ms` (a minute of slack for clocks that disagree): where a
   * query by time starts reading instead of at the beginning.
   */
  seqAt(ms: number): Promise<number>;
}

/** Receives every event right after it is durable, in seq order, synchronously: must never block or throw. */
export type Publish = (events: readonly FtEvent[]) => void;

/** Persisted positions of named subscribers: the last seq each acknowledged. */
export interface CursorStore {
  get(name: string): Promise<number | undefined>;
  /** Moves forward only: an older seq than the stored one is ignored. */
  set(name: string, seq: number): Promise<void>;
  close(): Promise<void>;
}

/** Just the logger methods the event log uses (a pino logger or a plugin logger fits). */
export interface EventLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Hands a durable batch to every listener; one that throws is logged and the others still get it. */
export function publishTo(
  listeners: Iterable<Publish>,
  events: readonly FtEvent[],
  logger: EventLogger | undefined,
): void {
  for (const l of listeners) {
    try {
      l(events);
    } catch (err) {
      logger?.warn({ err: (err as Error).message }, 'an event listener threw (ignored)');
    }
  }
}

/** Everything from `from` to the end of the log as it is now, batch by batch. */
export async function* readForward(
  source: Pick<EventSource, 'cursor'>,
  from = 1,
  batch = 2048,
): AsyncGenerator<{ events: FtEvent[]; lost?: Lost }> {
  const cursor = source.cursor(from);
  try {
    for (;;) {
      const r = await cursor.next(batch);
      if (r.events.length === 0 && !r.lost) return;
      yield r;
      if (r.events.length === 0) return;
    }
  } finally {
    await cursor.close();
  }
}
