import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { DeliveryOutcome } from '@ft/sdk';
import ipaddr from 'ipaddr.js';
import { Pool } from 'undici';
import { serverWaitMs } from './backoff.js';

/** What a service answered, read whole (alert and export answers are small). */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface DeliveryHttpOptions {
  /** https://host[:port] (plain http only to loopback, for tests). */
  origin: string;
  /** TCP + TLS handshake bound (default 2 s). */
  connectTimeoutMs?: number;
  /** Bound on the answer's headers and body (default 5 s); the caller's signal bounds the whole attempt too. */
  answerTimeoutMs?: number;
  /** Kept-alive connections to the origin (default 2: one in use, one spare). */
  connections?: number;
  /**
   * Refuse to connect to loopback, private, link-local and other non-public addresses, checked on the address
   * the name resolves to (a webhook URL from a policy must not reach into the box's own network). Default false.
   */
  refusePrivate?: boolean;
}

/** Addresses a remote delivery must not reach unless allowed: everything ipaddr.js does not call unicast. */
export function isPrivateAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let a = ipaddr.parse(address);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  return a.range() !== 'unicast';
}

export class PrivateAddressError extends Error {
  readonly code = 'FT_PRIVATE_ADDRESS';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that fails for a non-public address (used by the pool's connector, so it checks what is dialled). */
function publicOnlyLookup(hostname: string, options: object, cb: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return cb(err, []);
    const list = addresses;
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad)
      return cb(
        new PrivateAddressError(`${hostname} resolves to ${bad.address}, a non-public address (not allowed here)`),
        [],
      );
    if ((options as { all?: boolean }).all) return cb(null, list);
    const first = list[0] as LookupAddress;
    cb(null, first.address, first.family);
  });
}

/**
 * One origin's keep-alive connection pool for alert channels and export sinks: opened at start (`warm`), bounded
 * connect and answer times, never follows redirects (a redirected webhook is a misconfiguration, and following
 * it would hand the body to another host), and reads the whole answer so the connection goes back to the pool.
 */
export class DeliveryHttp {
  readonly origin: string;
  readonly #pool: Pool;
  readonly #refusePrivate: boolean;

  constructor(o: DeliveryHttpOptions) {
    const url = new URL(o.origin);
    this.origin = url.origin;
    this.#refusePrivate = o.refusePrivate === true;
    if (
      this.#refusePrivate &&
      isIP(url.hostname.replace(/^\[|\]$/g, '')) &&
      isPrivateAddress(url.hostname.replace(/^\[|\]$/g, ''))
    )
      throw new PrivateAddressError(`${url.hostname} is a non-public address (not allowed here)`);
    const answer = o.answerTimeoutMs ?? 5000;
    this.#pool = new Pool(this.origin, {
      connections: o.connections ?? 2,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: answer,
      bodyTimeout: answer,
      connect: {
        timeout: o.connectTimeoutMs ?? 2000,
        ...(this.#refusePrivate ? { lookup: publicOnlyLookup } : {}),
      },
    });
  }

  /** One request; rejects only for network problems (refused, reset, timeout, a private address). */
  async send(
    req: {
      method: 'POST' | 'PATCH' | 'PUT' | 'HEAD';
      path: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    },
    signal?: AbortSignal,
  ): Promise<HttpAnswer> {
    const res = await this.#pool.request({
      method: req.method,
      path: req.path,
      headers: req.headers ?? {},
      ...(req.body !== undefined ? { body: req.body } : {}),
      ...(signal ? { signal } : {}),
    });
    const text = await res.body.text();
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      for (const one of [v].flat()) headers.append(k, one);
    }
    return { status: res.statusCode, headers, text };
  }

  /** Opens a connection now (TCP + TLS) with a HEAD of the origin's root; the answer itself does not matter. */
  async warm(signal?: AbortSignal): Promise<void> {
    await this.send({ method: 'HEAD', path: '/' }, signal);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/** Cross-vendor reading of an answer (alert and export services document these classes). */
export function deliveryOutcome(
  a: HttpAnswer,
  o: {
    /** The vendor's own words for "this hook or key is gone" (a status alone is not always it). */
    dead?: (a: HttpAnswer) => string | undefined;
    /** The vendor's own wait hint in the body (Discord's retry_after, Telegram's parameters.retry_after). */
    waitMs?: (a: HttpAnswer) => number | undefined;
    /** Pulls the vendor's message out of an error body. */
    message?: (a: HttpAnswer) => string | undefined;
    now?: number;
  } = {},
): DeliveryOutcome {
  const reason = () =>
    `HTTP ${a.status}${(o.message?.(a) ?? a.text.slice(0, 200)) ? `: ${o.message?.(a) ?? a.text.slice(0, 200)}` : ''}`;
  if (a.status >= 200 && a.status < 300) return { result: 'delivered', detail: `HTTP ${a.status}` };
  const dead = o.dead?.(a);
  if (dead) return { result: 'dead', status: a.status, reason: `HTTP ${a.status}: ${dead}` };
  if (a.status === 408 || a.status === 429 || a.status >= 500) {
    const wait = o.waitMs?.(a) ?? serverWaitMs(a.headers, o.now);
    return { result: 'retry', status: a.status, reason: reason(), ...(wait !== undefined ? { waitMs: wait } : {}) };
  }
  if (a.status >= 300 && a.status < 400)
    return {
      result: 'dead',
      status: a.status,
      reason: `HTTP ${a.status} redirect${a.headers.get('location') ? ' (the URL moved)' : ''}: ft does not follow redirects; update the URL`,
    };
  if (a.status === 401 || a.status === 403 || a.status === 404 || a.status === 410)
    return { result: 'dead', status: a.status, reason: reason() };
  return { result: 'rejected', status: a.status, reason: reason() };
}

/** A network failure (refused, reset, DNS, timeout): retry later, unless the address is one we may not reach. */
export function networkOutcome(err: unknown): DeliveryOutcome {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (e instanceof PrivateAddressError || e.cause instanceof PrivateAddressError)
    return { result: 'dead', reason: e.message };
  const code = e.code ?? e.cause?.code;
  return { result: 'retry', reason: `${code ? `${code}: ` : ''}${e.message || String(err)}` };
}
