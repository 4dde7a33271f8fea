import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { JournalCursorStore, RedisCursorStore } from './cursors.js';
import { EventHub, type EventHandler, type SubscribeOptions, type Subscription } from './hub.js';
import { JournalEventLog, type JournalEventLogOptions } from './journal-log.js';
import type { CursorStore, EventAppender, EventDraft, EventSource, EventLogger } from './log.js';
import { RedisEventLog } from './redis-log.js';
import type { FtEvent } from '@ft/sdk';

/** Where the event log lives in a state directory. */
export const eventsDir = (stateDir: string) => join(stateDir, 'events');

export type RetentionOptions = Pick<JournalEventLogOptions, 'segmentBytes' | 'retainBytes' | 'retainDays'>;

/**
 * The event stream as core uses it: append (durable, then published) and subscribe (named, from a persisted
 * cursor). Embedded: the journal in the state directory. Fleet: the Redis stream, with this controller's journal
 * as archive.
 */
export class EventStream implements EventAppender {
  private constructor(
    readonly log: EventAppender & EventSource & { onPublish(l: (e: readonly FtEvent[]) => void): () => void },
    readonly hub: EventHub,
    private readonly closers: (() => Promise<void>)[],
  ) {
    log.onPublish((events) => hub.publish(events));
  }

  /** The log itself, for readers (the audit view). */
  get source(): EventSource {
    return this.log;
  }

  get description(): string {
    return this.log.description;
  }

  /** The owner of the state directory (ft run, a direct ft mitigate): writes, keeps cursors. */
  static async openEmbedded(
    o: {
      stateDir: string;
      tenant?: string;
      node?: string;
      logger?: EventLogger;
      now?: () => number;
    } & RetentionOptions,
  ): Promise<EventStream> {
    const dir = eventsDir(o.stateDir);
    const log = await JournalEventLog.open({ ...o, dir });
    let cursors: CursorStore;
    try {
      cursors = await JournalCursorStore.open(dir);
    } catch (err) {
      await log.close();
      throw err;
    }
    const hub = new EventHub(log, cursors, o.logger, log);
    return new EventStream(log, hub, [() => hub.close(), () => log.close()]);
  }

  /** A fleet controller: the seq comes from Redis; every event is archived in the local journal too. */
  static async openFleet(
    o: {
      conn: Redis;
      namespace?: string;
      stateDir: string;
      tenant?: string;
      node?: string;
      maxLen?: number;
      logger?: EventLogger;
      now?: () => number;
    } & RetentionOptions,
  ): Promise<EventStream> {
    const probe = new RedisEventLog(o);
    const identity = `fleet ${o.namespace ?? 'ft'} ${await probe.fleetId()}`;
    const archive = await JournalEventLog.open({ ...o, dir: eventsDir(o.stateDir), archive: true, identity });
    const log = new RedisEventLog({ ...o, archive });
    const hub = new EventHub(log, new RedisCursorStore(o.conn, log.keys.cursors), o.logger, log);
    return new EventStream(log, hub, [() => hub.close(), () => log.close(), () => archive.close()]);
  }

  append(drafts: readonly EventDraft[]): Promise<FtEvent[]> {
    return this.log.append(drafts);
  }

  subscribe(name: string, handler: EventHandler, opts?: SubscribeOptions): Promise<Subscription> {
    return this.hub.subscribe(name, handler, opts);
  }

  async close(): Promise<void> {
    for (const c of this.closers) await c();
  }
}
