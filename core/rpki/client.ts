import { EventEmitter } from 'node:events';
import { parseHostPort } from '@ft/sdk';
import {
  CacheSession,
  type CacheDataEvent,
  type RtrCacheConfig,
  type RtrError,
  type SessionOptions,
  type SessionState,
} from './cache-session.js';
import type { RtrVersion } from './pdu.js';
import type { VrpDelta, VrpTable } from './vrp-table.js';

export type { RtrCacheConfig, RtrError, SessionOptions } from './cache-session.js';

export interface RtrClientOptions extends SessionOptions {
  caches: RtrCacheConfig[];
}

/** What verdicts are computed from: the table of the preferred cache with fresh data, and where it came from. */
export interface RpkiSnapshot {
  table: VrpTable;
  cache: string;
  sessionId: number;
  serial: number;
  dataAgeSeconds: number;
  expireSeconds: number;
}

/** The last completed End of Data of any cache, kept after the data itself expired. */
export interface LastKnown {
  cache: string;
  sessionId: number;
  serial: number;
  dataAgeSeconds: number;
}

/** Emitted as 'update' whenever the VRP set verdicts use changes: an End of Data, a failover, or an expiry. */
export interface RpkiUpdate {
  /** The cache now in use, or undefined when no cache has fresh data (every verdict is then "unknown"). */
  cache: string | undefined;
  sessionId?: number;
  serial?: number;
  /** True when the whole set was replaced (first load, failover, expiry): re-check everything. */
  full: boolean;
  delta: VrpDelta;
}

export interface CacheStatus {
  cache: string;
  host: string;
  port: number;
  preference: number;
  state: SessionState;
  active: boolean;
  version: RtrVersion;
  sessionId?: number;
  serial?: number;
  vrps: { ipv4: number; ipv6: number; total: number };
  dataAgeSeconds?: number;
  fresh: boolean;
  timers: { refresh: number; retry: number; expire: number };
  lastError?: RtrError;
  counters: CacheSession['counters'];
}

/** Parses "HOST:PORT", "[v6]:PORT", or either after "tls://", as an operator writes it (no other URL forms). */
export function parseCacheAddress(input: string): RtrCacheConfig {
  const tls = input.startsWith('tls://');
  const text = tls ? input.slice('tls://'.length) : input;
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseHostPort(text));
  } catch (err) {
    throw new Error(
      `RTR cache "${input}" must be HOST:PORT or tls://HOST:PORT (e.g. 127.0.0.1:8282, [2001:db8::1]:8282, tls://rtr.example.net:8283): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return tls ? { host, port, transport: 'tls' } : { host, port };
}

/**
 * An RTR client over several caches (RFC 8210 §10): it keeps a session to each, and verdicts use the most
 * preferred cache whose data is fresh, so losing a cache fails over without waiting for a reconnect.
 */
export class RtrClient extends EventEmitter {
  readonly sessions: CacheSession[];
  private current: CacheSession | undefined;
  private started = false;

  constructor(private readonly options: RtrClientOptions) {
    super();
    if (options.caches.length === 0) throw new Error('an RTR client needs at least one cache');
    this.sessions = options.caches
      .map((c, i) => new CacheSession(c, i, options))
      .sort((a, b) => a.preference - b.preference);
    for (const s of this.sessions) {
      s.on('data', (e: CacheDataEvent) => this.onSessionData(s, e));
      s.on('expired', () => this.reselect());
      s.on('fresh', () => this.reselect());
      s.on('state', () => this.reselect());
    }
  }

  start(): this {
    if (this.started) return this;
    this.started = true;
    for (const s of this.sessions) s.start();
    return this;
  }

  stop(): void {
    this.started = false;
    for (const s of this.sessions) s.stop();
  }

  /** Resolves once some cache has delivered a complete VRP set; rejects after `timeoutMs` with each cache's last error. */
  ready(timeoutMs = 10_000): Promise<RpkiSnapshot> {
    const now = this.snapshot();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('update', check);
        const errors = this.sessions.map((s) => `${s.name}: ${s.lastError?.message ?? s.state}`).join('; ');
        reject(new Error(`no RTR cache delivered data within ${timeoutMs} ms (${errors})`));
      }, timeoutMs);
      const check = () => {
        const snap = this.snapshot();
        if (!snap) return;
        clearTimeout(timer);
        this.off('update', check);
        resolve(snap);
      };
      this.on('update', check);
    });
  }

  /**
   * The cache verdicts use: among caches with fresh data, a connected one before one that lost its connection
   * (its data is still within expire, but nothing refreshes it), then by preference.
   */
  private preferred() {
    return this.sessions.find((x) => x.fresh && x.state === 'connected') ?? this.sessions.find((x) => x.fresh);
  }

  /** The data verdicts should use now, or undefined when no cache has fresh data. */
  snapshot(): RpkiSnapshot | undefined {
    const s = this.preferred();
    // The session may be forgotten (a resync is under way) while its last complete table is still within expire.
    if (!s || !s.table || !s.lastCompleted) return undefined;
    const { sessionId, serial } = s.lastCompleted;
    return {
      table: s.table,
      cache: s.name,
      sessionId,
      serial,
      dataAgeSeconds: s.dataAgeSeconds() ?? 0,
      expireSeconds: s.timers.expire,
    };
  }

  lastKnown(): LastKnown | undefined {
    let best: LastKnown | undefined;
    for (const s of this.sessions) {
      const c = s.lastCompleted;
      if (!c) continue;
      const age = s.ageOf(c.at);
      if (!best || age < best.dataAgeSeconds)
        best = { cache: s.name, sessionId: c.sessionId, serial: c.serial, dataAgeSeconds: age };
    }
    return best;
  }

  status(): CacheStatus[] {
    const active = this.preferred();
    return this.sessions.map((s) => ({
      cache: s.name,
      host: s.config.host,
      port: s.config.port,
      preference: s.preference,
      state: s.state,
      active: s === active,
      version: s.version,
      ...(s.sessionId !== undefined ? { sessionId: s.sessionId } : {}),
      ...(s.serial !== undefined ? { serial: s.serial } : {}),
      vrps: { ipv4: s.table?.sizeV4 ?? 0, ipv6: s.table?.sizeV6 ?? 0, total: s.table?.size ?? 0 },
      ...(s.dataAgeSeconds() !== undefined ? { dataAgeSeconds: Math.round((s.dataAgeSeconds() ?? 0) * 10) / 10 } : {}),
      fresh: s.fresh,
      timers: { ...s.timers },
      ...(s.lastError ? { lastError: s.lastError } : {}),
      counters: { ...s.counters },
    }));
  }

  private onSessionData(session: CacheSession, event: CacheDataEvent): void {
    const preferred = this.preferred();
    if (preferred === session && this.current === session && !event.initial) {
      this.emitUpdate(session, false, event.delta);
      return;
    }
    this.reselect();
  }

  /** Picks the preferred fresh cache again; a change of cache (or losing all data) is a full update. */
  private reselect(): void {
    const next = this.preferred();
    if (next === this.current) return;
    const previous = this.current;
    this.current = next;
    const delta: VrpDelta =
      previous?.table && next?.table ? previous.table.diff(next.table) : { announced: [], withdrawn: [] };
    this.emitUpdate(next, true, delta);
  }

  private emitUpdate(session: CacheSession | undefined, full: boolean, delta: VrpDelta): void {
    const update: RpkiUpdate = {
      cache: session?.name,
      ...(session?.sessionId !== undefined ? { sessionId: session.sessionId } : {}),
      ...(session?.serial !== undefined ? { serial: session.serial } : {}),
      full,
      delta,
    };
    this.options.logger?.info(
      {
        cache: update.cache,
        sessionId: update.sessionId,
        serial: update.serial,
        full,
        announced: delta.announced.length,
        withdrawn: delta.withdrawn.length,
      },
      'RPKI data changed',
    );
    this.emit('update', update);
  }
}
