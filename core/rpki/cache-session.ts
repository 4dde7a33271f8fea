import { EventEmitter } from 'node:events';
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Prefix, backoffDelay } from '@ft/sdk';
import type { Logger } from '../log/logger.js';
import { FrameReader } from './framing.js';
import {
  DEFAULT_TIMERS,
  ERROR_CODE,
  TIMER_MAX,
  decodePdu,
  encodeErrorReport,
  encodePdu,
  errorCodeName,
  type ErrorCode,
  type Pdu,
  type RtrTimers,
  type RtrVersion,
} from './pdu.js';
import { serialIsNewer } from './serial.js';
import { VrpConflictError, VrpTable, type VrpChange, type VrpDelta } from './vrp-table.js';

export interface RtrCacheConfig {
  host: string;
  port: number;
  /** Lower is preferred (RFC 8210 §10); default: the order the caches were given in. */
  preference?: number;
  /** 'tls' runs RTR over TLS (RFC 8210 §9.3, stayrtr -tls.bind); the cache's certificate is always verified. */
  transport?: 'tcp' | 'tls';
  /** PEM CA certificate(s) to verify a TLS cache with, instead of the system's; servername for SNI/verification. */
  tls?: { ca?: string | Buffer; servername?: string };
}

export interface SessionOptions {
  logger?: Logger;
  /** Overrides the timers the cache sends (e.g. a shorter expire than the cache's). */
  timers?: Partial<RtrTimers>;
  /** Reconnect backoff: doubles from initialMs up to maxMs (default 1 s .. min(retry, 60 s)), with ±20% jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  connectTimeoutMs?: number;
  /** Version to try first (default 1); falls back to 0 when the cache refuses it. */
  version?: RtrVersion;
  now?: () => number;
}

export interface RtrError {
  at: string;
  direction: 'sent' | 'received' | 'transport';
  code?: number;
  message: string;
}

export type SessionState = 'idle' | 'connecting' | 'connected' | 'stopped';

/** Emitted as 'data' after every End of Data that changed (or first loaded) this cache's table. */
export interface CacheDataEvent {
  initial: boolean;
  delta: VrpDelta;
}

type TimerName = 'refresh' | 'retry' | 'expire' | 'reconnect' | 'response';

type Staging =
  { kind: 'reset'; sessionId: number; table: VrpTable } | { kind: 'serial'; sessionId: number; changes: VrpChange[] };

/**
 * One RTR cache: the TCP connection, the protocol state machine (RFC 8210 with fallback to RFC 6810), its timers
 * and the VRP table it last completed. Events: 'data' (CacheDataEvent), 'expired', 'state'.
 */
export class CacheSession extends EventEmitter {
  readonly name: string;
  readonly preference: number;
  state: SessionState = 'idle';
  /** The version used on the wire; drops to 0 for a cache that refuses 1, and stays there for this session. */
  version: RtrVersion;
  sessionId: number | undefined;
  serial: number | undefined;
  table: VrpTable | undefined;
  lastEndOfDataAt: number | undefined;
  timers: RtrTimers;
  lastError: RtrError | undefined;
  /** The last End of Data ever completed; survives expiry so a refusal can say how old the data was. */
  lastCompleted: { sessionId: number; serial: number; at: number } | undefined;
  readonly counters = {
    connects: 0,
    resets: 0,
    cacheResets: 0,
    serialUpdates: 0,
    errorsSent: 0,
    errorsReceived: 0,
    notifies: 0,
  };

  private socket: Socket | undefined;
  private reader = new FrameReader();
  private versionAgreed = false;
  private bytesOnConnection = 0;
  /** Set when we dropped to version 0 only because a cache hung up in silence (it may just have been dying). */
  private silentFallback = false;
  private inFlight: 'reset' | 'serial' | undefined;
  private staging: Staging | undefined;
  private notifyPending = false;
  private attempts = 0;
  /** An outage was logged (unreachable or lost): said once, and once more when the cache is back. */
  private outageLogged = false;
  private readonly timerHandles = new Map<TimerName, NodeJS.Timeout>();
  private readonly now: () => number;

  constructor(
    readonly config: RtrCacheConfig,
    index: number,
    private readonly options: SessionOptions = {},
  ) {
    super();
    this.name = `${config.transport === 'tls' ? 'tls://' : ''}${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    this.preference = config.preference ?? index;
    this.version = options.version ?? 1;
    this.timers = this.effectiveTimers(DEFAULT_TIMERS);
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.state !== 'idle' && this.state !== 'stopped') return;
    this.state = 'idle';
    this.connectNow();
  }

  stop(): void {
    this.state = 'stopped';
    for (const t of this.timerHandles.values()) clearTimeout(t);
    this.timerHandles.clear();
    this.socket?.destroy();
    this.socket = undefined;
  }

  /** Seconds since the last End of Data, or undefined without data. */
  dataAgeSeconds(): number | undefined {
    return this.lastEndOfDataAt === undefined || !this.table ? undefined : (this.now() - this.lastEndOfDataAt) / 1000;
  }

  ageOf(at: number): number {
    return (this.now() - at) / 1000;
  }

  get fresh(): boolean {
    const age = this.dataAgeSeconds();
    return age !== undefined && age < this.timers.expire;
  }

  private log(level: 'debug' | 'info' | 'warn', msg: string, extra: Record<string, unknown> = {}): void {
    this.options.logger?.[level]({ cache: this.name, sessionId: this.sessionId, serial: this.serial, ...extra }, msg);
  }

  private setTimer(name: TimerName, ms: number, fn: () => void): void {
    this.clearTimer(name);
    const t = setTimeout(() => {
      this.timerHandles.delete(name);
      fn();
    }, ms);
    t.unref();
    this.timerHandles.set(name, t);
  }

  private clearTimer(name: TimerName): void {
    const t = this.timerHandles.get(name);
    if (t) clearTimeout(t);
    this.timerHandles.delete(name);
  }

  private effectiveTimers(sent: RtrTimers): RtrTimers {
    const pick = (k: keyof RtrTimers) => Math.min(TIMER_MAX[k], Math.max(1, this.options.timers?.[k] ?? sent[k]));
    return { refresh: pick('refresh'), retry: pick('retry'), expire: pick('expire') };
  }

  // ── transport ───────────────────────────────────────────────────────────────────────────────────────────────

  private connectNow(): void {
    if (this.state === 'stopped') return;
    this.state = 'connecting';
    this.emit('state', this.state);
    this.reader = new FrameReader();
    this.versionAgreed = false;
    this.bytesOnConnection = 0;
    this.inFlight = undefined;
    this.staging = undefined;
    this.notifyPending = false;
    this.counters.connects++;
    const { host, port } = this.config;
    const tls = this.config.transport === 'tls';
    const socket = tls
      ? tlsConnect({
          host,
          port,
          ...(this.config.tls?.ca ? { ca: this.config.tls.ca } : {}),
          // SNI only for names; the certificate is checked against the name or the IP address either way.
          ...(this.config.tls?.servername
            ? { servername: this.config.tls.servername }
            : isIP(host)
              ? {}
              : { servername: host }),
        })
      : connect({ host, port, noDelay: true });
    this.socket = socket;
    socket.setTimeout(this.options.connectTimeoutMs ?? 5000);
    socket.on('timeout', () => {
      if (this.state === 'connecting') socket.destroy(new Error('connect timed out'));
    });
    // Over TLS the session starts once the handshake (and certificate check) has succeeded.
    socket.on(tls ? 'secureConnect' : 'connect', () => {
      if (this.socket !== socket) return;
      socket.setTimeout(0);
      this.state = 'connected';
      this.emit('state', this.state);
      if (this.outageLogged) {
        this.outageLogged = false;
        this.log('info', 'RTR cache reachable again', { version: this.version });
      } else this.log('debug', 'connected to RTR cache', { version: this.version });
      this.query();
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) {
        this.bytesOnConnection += chunk.length;
        this.onBytes(chunk);
      }
    });
    socket.on('error', (err: Error) => {
      if (this.socket === socket) this.recordError({ direction: 'transport', message: err.message });
    });
    socket.on('close', () => {
      if (this.socket === socket) this.onClosed();
    });
  }

  private onClosed(): void {
    this.socket = undefined;
    this.clearTimer('retry');
    this.clearTimer('refresh');
    this.clearTimer('response');
    if (this.state === 'stopped') return;
    const silent = this.bytesOnConnection === 0 && this.state === 'connected';
    this.state = 'idle';
    this.emit('state', this.state);
    this.staging = undefined;
    this.inFlight = undefined;
    if (silent && this.version === 1) {
      // A version-0 cache may simply hang up on a version-1 query (RFC 8210 §7): try again speaking version 0.
      this.version = 0;
      this.silentFallback = true;
      this.log('info', 'RTR cache closed the connection on a version 1 query; retrying with version 0');
      this.setTimer('reconnect', 0, () => this.connectNow());
      return;
    }
    if (silent && this.silentFallback && !this.versionAgreed) {
      // Silence in version 0 too: the cache was not refusing a version, it was going away. Try 1 again next time.
      this.version = this.options.version ?? 1;
      this.silentFallback = false;
    }
    const delay = backoffDelay(this.attempts, {
      baseMs: this.options.backoff?.initialMs ?? 1000,
      maxMs: this.options.backoff?.maxMs ?? Math.min(this.timers.retry * 1000, 60_000),
      jitter: [-0.2, 0.2],
    });
    this.attempts++;
    // An operator must hear that verdicts have lost (or never had) this cache: once per outage, not per retry.
    if (!this.outageLogged) {
      this.outageLogged = true;
      const lost = this.lastCompleted !== undefined;
      this.log(
        'warn',
        lost
          ? 'RTR cache connection lost; reconnecting (its VRPs are used until they expire)'
          : 'RTR cache unreachable; retrying',
        { err: this.lastError?.message, retryInMs: delay, ...(lost ? { dataAgeSeconds: this.dataAgeSeconds() } : {}) },
      );
    } else this.log('debug', 'RTR connection closed; reconnecting', { inMs: delay });
    this.setTimer('reconnect', delay, () => this.connectNow());
  }

  private send(buf: Buffer): void {
    this.socket?.write(buf);
  }

  /** Sends an Error Report and drops the connection (every error we send is fatal to the session). */
  private fail(code: ErrorCode, text: string, offending: Uint8Array = new Uint8Array()): void {
    this.counters.errorsSent++;
    this.recordError({ direction: 'sent', code, message: `${errorCodeName(code)}: ${text}` });
    this.log('warn', 'sent RTR error report; dropping the connection', { code, text });
    const socket = this.socket;
    if (!socket) return;
    socket.end(encodeErrorReport(this.version, code, offending, text));
    // end() lets the report drain; never wait on a peer that does not close its side.
    setTimeout(() => socket.destroy(), 1000).unref();
    this.socket = undefined;
    this.onClosed();
  }

  private drop(): void {
    const socket = this.socket;
    if (!socket) return;
    socket.destroy();
    this.socket = undefined;
    this.onClosed();
  }

  private recordError(e: Omit<RtrError, 'at'>): void {
    this.lastError = { at: new Date(this.now()).toISOString(), ...e };
  }

  // ── protocol ────────────────────────────────────────────────────────────────────────────────────────────────

  private query(): void {
    if (!this.socket || this.state !== 'connected') return;
    if (this.table && this.sessionId !== undefined && this.serial !== undefined) {
      this.inFlight = 'serial';
      this.send(
        encodePdu({ type: 'serial-query', version: this.version, sessionId: this.sessionId, serial: this.serial }),
      );
    } else {
      this.inFlight = 'reset';
      this.send(encodePdu({ type: 'reset-query', version: this.version }));
    }
    this.awaitResponse();
  }

  private resetQuery(): void {
    this.inFlight = 'reset';
    this.send(encodePdu({ type: 'reset-query', version: this.version }));
    this.awaitResponse();
  }

  /** A cache that accepts a query and never finishes answering it is as good as gone: reconnect after `retry`. */
  private awaitResponse(): void {
    this.setTimer('response', this.timers.retry * 1000, () => {
      if (!this.inFlight) return;
      this.recordError({
        direction: 'transport',
        message: `no End of Data within ${this.timers.retry} s of the query`,
      });
      this.drop();
    });
  }

  private onBytes(chunk: Buffer): void {
    const { frames, error } = this.reader.push(chunk);
    for (const frame of frames) {
      if (!this.socket) return;
      this.onFrame(frame);
    }
    if (error && this.socket) this.fail(error.code, error.message, error.offending);
  }

  private onFrame(frame: Buffer): void {
    const decoded = decodePdu(frame);
    if (!decoded.ok) {
      // Never answer an Error Report with one (RFC 8210 §5.11): a broken one just ends the session.
      if (frame[1] === 10) {
        this.recordError({ direction: 'received', message: `unreadable Error Report: ${decoded.error.message}` });
        this.drop();
        return;
      }
      const code =
        decoded.error.code === ERROR_CODE.unsupportedVersion && this.versionAgreed && this.version === 1
          ? ERROR_CODE.unexpectedProtocolVersion
          : decoded.error.code;
      this.fail(code, decoded.error.message, decoded.error.offending);
      return;
    }
    const pdu = decoded.pdu;
    if (pdu.type === 'error-report') {
      this.onErrorReport(pdu);
      return;
    }
    if (!this.versionAgreed) {
      if (pdu.version < this.version) {
        // The cache answers in an older version: it does not speak ours, so we speak its (RFC 8210 §7).
        this.log('info', `RTR cache answers in version ${pdu.version}; downgrading`);
        this.version = pdu.version as RtrVersion;
      } else if (pdu.version > this.version) {
        this.fail(
          ERROR_CODE.unsupportedVersion,
          `this session speaks version ${this.version}, got a version ${pdu.version} PDU`,
          frame,
        );
        return;
      }
      this.versionAgreed = true;
      this.silentFallback = false;
    } else if (pdu.version !== this.version) {
      const code = this.version === 1 ? ERROR_CODE.unexpectedProtocolVersion : ERROR_CODE.unsupportedVersion;
      this.fail(code, `version ${this.version} was agreed, got a version ${pdu.version} PDU`, frame);
      return;
    }
    this.onPdu(pdu, frame);
  }

  private onErrorReport(pdu: Extract<Pdu, { type: 'error-report' }>): void {
    this.counters.errorsReceived++;
    const message = `${errorCodeName(pdu.code)}${pdu.text ? `: ${pdu.text}` : ''}`;
    this.recordError({ direction: 'received', code: pdu.code, message });
    if (pdu.code === ERROR_CODE.noDataAvailable) {
      // The only non-fatal error: the cache has no data yet. Keep ours, ask again after `retry`.
      this.log('info', 'RTR cache has no data yet; asking again later', { retrySeconds: this.timers.retry });
      this.inFlight = undefined;
      this.staging = undefined;
      this.clearTimer('response');
      this.setTimer('retry', this.timers.retry * 1000, () => {
        if (!this.inFlight) this.query();
      });
      return;
    }
    this.log('warn', 'RTR cache sent an error report; dropping the connection', { code: pdu.code, text: pdu.text });
    if (pdu.code === ERROR_CODE.unsupportedVersion && this.version === 1 && !this.versionAgreed) {
      this.version = 0;
      this.drop();
      this.clearTimer('reconnect');
      this.setTimer('reconnect', 0, () => this.connectNow());
      return;
    }
    if (this.inFlight === 'serial') {
      // The cache rejected our session/serial (a restarted cache has a new session id): start over at once with
      // a Reset Query. Our table stays in use until the reset completes or expires.
      this.forgetSession();
      this.drop();
      this.setTimer('reconnect', 0, () => this.connectNow());
      return;
    }
    this.drop();
  }

  private forgetSession(): void {
    this.sessionId = undefined;
    this.serial = undefined;
  }

  /** The cache's data can no longer be trusted: drop it now and start over with a Reset Query. */
  private flush(reason: string): void {
    this.log('warn', `dropping this cache's VRPs: ${reason}`);
    this.forgetSession();
    if (this.table) {
      this.table = undefined;
      this.lastEndOfDataAt = undefined;
      this.clearTimer('expire');
      this.emit('expired', reason);
    }
  }

  private onPdu(pdu: Pdu, frame: Buffer): void {
    switch (pdu.type) {
      case 'serial-notify': {
        this.counters.notifies++;
        // Ignore notifies until the first exchange completed (RFC 8210 §5.2): the pending query covers them.
        if (this.sessionId === undefined || this.serial === undefined) return;
        if (pdu.sessionId !== this.sessionId) {
          this.flush(`session id changed from ${this.sessionId} to ${pdu.sessionId}`);
          this.fail(
            ERROR_CODE.corruptData,
            `Serial Notify for session ${pdu.sessionId}, ours is ${this.sessionId}`,
            frame,
          );
          return;
        }
        if (!serialIsNewer(pdu.serial, this.serial)) return;
        if (this.inFlight) this.notifyPending = true;
        else this.query();
        return;
      }
      case 'cache-response': {
        if (!this.inFlight || this.staging) {
          this.fail(
            ERROR_CODE.corruptData,
            this.staging ? 'Cache Response inside a Cache Response' : 'Cache Response without a query',
            frame,
          );
          return;
        }
        if (this.inFlight === 'serial') {
          if (pdu.sessionId !== this.sessionId) {
            this.flush(`session id changed from ${this.sessionId} to ${pdu.sessionId}`);
            this.fail(
              ERROR_CODE.corruptData,
              `Cache Response for session ${pdu.sessionId}, ours is ${this.sessionId}`,
              frame,
            );
            return;
          }
          this.staging = { kind: 'serial', sessionId: pdu.sessionId, changes: [] };
        } else {
          this.staging = { kind: 'reset', sessionId: pdu.sessionId, table: new VrpTable() };
        }
        return;
      }
      case 'prefix': {
        const s = this.staging;
        if (!s) {
          this.fail(ERROR_CODE.corruptData, 'Prefix PDU outside a Cache Response', frame);
          return;
        }
        if (s.kind === 'reset') {
          if (!pdu.announce) {
            this.fail(
              ERROR_CODE.withdrawalOfUnknownRecord,
              'withdrawal during a reset (nothing to withdraw from)',
              frame,
            );
            return;
          }
          if (!s.table.addRaw(pdu.family, pdu.address, pdu.prefixLength, pdu.maxLength, pdu.asn)) {
            this.fail(ERROR_CODE.duplicateAnnouncement, `duplicate announcement of ${describePrefixPdu(pdu)}`, frame);
          }
          return;
        }
        const prefix = Prefix.fromBytes(pdu.address, pdu.prefixLength, { truncate: true });
        s.changes.push({ announce: pdu.announce, vrp: { prefix, maxLength: pdu.maxLength, asn: pdu.asn } });
        return;
      }
      case 'router-key':
        // BGPsec keys are not used by ft; they are accepted so a v1 cache that sends them still works.
        if (!this.staging) this.fail(ERROR_CODE.corruptData, 'Router Key PDU outside a Cache Response', frame);
        return;
      case 'end-of-data':
        this.onEndOfData(pdu, frame);
        return;
      case 'cache-reset': {
        if (this.staging) {
          this.fail(ERROR_CODE.corruptData, 'Cache Reset inside a Cache Response', frame);
          return;
        }
        // The cache cannot give us an incremental update from our serial: fetch everything.
        this.log('info', 'RTR cache asks for a reset');
        this.counters.cacheResets++;
        this.forgetSession();
        this.resetQuery();
        return;
      }
      case 'serial-query':
      case 'reset-query':
        this.fail(
          ERROR_CODE.unsupportedPduType,
          `a router does not answer ${pdu.type === 'serial-query' ? 'Serial' : 'Reset'} Queries`,
          frame,
        );
        return;
    }
  }

  private onEndOfData(pdu: Extract<Pdu, { type: 'end-of-data' }>, frame: Buffer): void {
    const s = this.staging;
    if (!s) {
      this.fail(ERROR_CODE.corruptData, 'End of Data without a Cache Response', frame);
      return;
    }
    if (pdu.sessionId !== s.sessionId) {
      this.fail(
        ERROR_CODE.corruptData,
        `End of Data for session ${pdu.sessionId} inside a response for session ${s.sessionId}`,
        frame,
      );
      return;
    }
    let event: CacheDataEvent;
    if (s.kind === 'reset') {
      const previous = this.table;
      s.table.compact();
      this.table = s.table;
      this.counters.resets++;
      event = { initial: !previous, delta: previous ? previous.diff(s.table) : { announced: [], withdrawn: [] } };
    } else {
      try {
        // All or nothing: a bad delta leaves the table as it was before the Cache Response.
        this.table?.applyChanges(s.changes);
      } catch (err) {
        if (err instanceof VrpConflictError) {
          this.forgetSession();
          this.fail(
            err.kind === 'duplicate' ? ERROR_CODE.duplicateAnnouncement : ERROR_CODE.withdrawalOfUnknownRecord,
            err.message,
            frame,
          );
          return;
        }
        throw err;
      }
      this.counters.serialUpdates++;
      event = {
        initial: false,
        delta: {
          announced: s.changes.filter((c) => c.announce).map((c) => c.vrp),
          withdrawn: s.changes.filter((c) => !c.announce).map((c) => c.vrp),
        },
      };
    }
    this.staging = undefined;
    this.inFlight = undefined;
    this.sessionId = pdu.sessionId;
    this.serial = pdu.serial;
    this.timers = this.effectiveTimers(pdu.timers ?? DEFAULT_TIMERS);
    this.lastEndOfDataAt = this.now();
    this.lastCompleted = { sessionId: pdu.sessionId, serial: pdu.serial, at: this.lastEndOfDataAt };
    this.attempts = 0;
    this.clearTimer('retry');
    this.clearTimer('response');
    this.setTimer('expire', this.timers.expire * 1000, () =>
      this.flush(`no End of Data for ${this.timers.expire} s (expire)`),
    );
    this.setTimer('refresh', this.timers.refresh * 1000, () => {
      if (!this.inFlight) this.query();
    });
    this.log('debug', 'RTR End of Data', {
      vrps: this.table?.size,
      announced: event.delta.announced.length,
      withdrawn: event.delta.withdrawn.length,
    });
    if (event.initial || event.delta.announced.length > 0 || event.delta.withdrawn.length > 0) this.emit('data', event);
    else this.emit('fresh');
    if (this.notifyPending) {
      this.notifyPending = false;
      this.query();
    }
  }
}

function describePrefixPdu(p: Extract<Pdu, { type: 'prefix' }>): string {
  return `${Prefix.fromBytes(p.address, p.prefixLength, { truncate: true }).toString()}-${p.maxLength} AS${p.asn}`;
}
