import { watch } from 'node:fs';
import type { FtEvent } from '@ft/sdk';
import type { AuditQuery, AuditRecord } from '../state/store.js';
import { queryAuditView, type AuditViewRecord } from './audit.js';
import { JournalEventLog } from './journal-log.js';
import type { EventSource, Lost } from './log.js';
import { RedisCursor, RedisEventLog } from './redis-log.js';
import { eventsDir } from './stream.js';

/** A reader of someone else's stream (`ft events`, `ft audit`): never writes, needs no lock. */
export interface EventReader {
  readonly description: string;
  readonly source: EventSource & { firstSeq(): Promise<number> };
  /** The audit view (events, after whatever an older ft wrote as audit records). */
  audit(q: AuditQuery): Promise<AuditViewRecord[]>;
  /**
   * Calls `onEvents` with every event from `from` on, in order, then keeps waiting for new ones (another process
   * writes them) until `signal` aborts. Resolves when it does.
   */
  follow(
    from: number,
    onEvents: (events: FtEvent[], lost?: Lost) => void | Promise<void>,
    signal: AbortSignal,
  ): Promise<void>;
  close(): Promise<void>;
}

/** The journal under a state directory, read beside the `ft run` writing it. */
export async function openJournalReader(stateDir: string): Promise<EventReader> {
  const { JournalStore } = await import('../state/journal-store.js');
  // Opening the store read-only checks the directory (a clear error when it is missing or unreadable) and reads
  // the audit segments an older ft wrote.
  const legacy = await JournalStore.open({ dir: stateDir, readOnly: true });
  const dir = eventsDir(stateDir);
  const log = await JournalEventLog.open({ dir, readOnly: true });
  return {
    description: log.description,
    source: log,
    audit: (q) => queryAuditView(log, q, (lq) => legacy.queryAudit(lq).catch(() => [] as AuditRecord[])),
    async follow(from, onEvents, signal) {
      const cursor = log.cursor(from);
      // Woken by the directory changing (appends, a new segment) and, in case a change notice is missed (some file
      // systems send none), every 500 ms anyway.
      let wake: (() => void) | undefined;
      let watcher: ReturnType<typeof watch> | undefined;
      try {
        watcher = watch(dir, { persistent: false }, () => wake?.());
      } catch {
        watcher = undefined;
      }
      try {
        while (!signal.aborted) {
          const r = await cursor.next(1000);
          if (r.events.length > 0 || r.lost) await onEvents(r.events, r.lost);
          if (r.events.length > 0) continue;
          await new Promise<void>((resolve) => {
            const t = setTimeout(done, 500);
            function done() {
              clearTimeout(t);
              signal.removeEventListener('abort', done);
              wake = undefined;
              resolve();
            }
            wake = done;
            signal.addEventListener('abort', done, { once: true });
          });
        }
      } finally {
        watcher?.close();
        await cursor.close();
      }
    },
    async close() {
      await legacy.close();
    },
  };
}

/** The fleet's stream on Redis. Throws RedisUrlError / FleetNameError for a bad URL or namespace. */
export async function openRedisReader(url: string, namespace?: string): Promise<EventReader> {
  const { parseRedisUrl, connectRedis, closeRedis } = await import('../state/redis/connect.js');
  const { RedisRuleStore } = await import('../state/redis/redis-store.js');
  const { checkPop } = await import('../fleet/names.js');
  const { FleetReadError } = await import('../fleet/daemon.js');
  const target = parseRedisUrl(url);
  if (namespace) checkPop(namespace);
  const conn = await connectRedis(target, 'events-reader', false);
  const log = new RedisEventLog({ conn, ...(namespace ? { namespace } : {}) });
  const legacy = new RedisRuleStore({ conn, ownsConnection: false, ...(namespace ? { namespace } : {}) });
  const fail = (err: unknown): never => {
    throw new FleetReadError(
      `cannot read the fleet event stream on ${target.display}${namespace ? ` (namespace ${namespace})` : ''}: ${(err as Error).message}`,
    );
  };
  const guarded: EventSource & { firstSeq(): Promise<number> } = {
    description: log.description,
    lastSeq: () => log.lastSeq().catch(fail),
    firstSeq: () => log.firstSeq().catch(fail),
    seqAt: (ms) => log.seqAt(ms).catch(fail),
    cursor: (from) => {
      const c = log.cursor(from);
      return {
        get position() {
          return c.position;
        },
        next: (n) => c.next(n).catch(fail),
        close: () => c.close(),
      };
    },
  };
  return {
    description: log.description,
    source: guarded,
    audit: (q) => queryAuditView(guarded, q, (lq) => legacy.queryAudit(lq).catch(() => [] as AuditRecord[])),
    async follow(from, onEvents, signal) {
      // XREAD BLOCK on a connection of its own; the wait is short so an abort ends it promptly.
      const blocking = await connectRedis(target, 'events-follow', true);
      const cursor = new RedisCursor(blocking, log.keys.stream, from);
      try {
        while (!signal.aborted) {
          const r = await cursor.next(1000).catch(fail);
          if (r.events.length > 0 || r.lost) await onEvents(r.events, r.lost);
          if (r.events.length > 0) continue;
          const w = await cursor
            .wait(blocking, 1000, 1000)
            .catch((err: unknown) =>
              signal.aborted ? { events: [] as FtEvent[], lost: undefined as Lost | undefined } : fail(err),
            );
          if (w.events.length > 0 || w.lost) await onEvents(w.events, w.lost);
        }
      } finally {
        await closeRedis(blocking, 500);
      }
    },
    async close() {
      await closeRedis(conn);
    },
  };
}
