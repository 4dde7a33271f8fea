import type { PluginLogger } from '@ft/sdk';
import { backoffMs, serverWaitMs } from './backoff.js';
import { VendorHttpError } from './errors.js';

export interface VendorRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under the client's base URL (may carry a query string). */
  path: string;
  /** JSON-serialised unless `rawBody` is given. */
  body?: unknown;
  /** A pre-encoded body (form data) with its content type. */
  rawBody?: { text: string; contentType: string };
  headers?: Record<string, string>;
  /**
   * Safe to send twice. Defaults to true for GET/PUT/DELETE/PATCH (set semantics), false for POST unless an
   * idempotency key is given. A non-idempotent request is only retried when the server refused it outright
   * (429, or 503 with Retry-After): those were not carried out.
   */
  idempotent?: boolean;
  /** Sent as the vendor's idempotency header (when the client has one) with the same value on every attempt. */
  idempotencyKey?: string;
  /** Statuses that are answers, not errors (e.g. 404 for "already gone" on a withdraw). */
  accept?: number[];
}

export interface VendorResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  attempts: number;
}

/** What a signer sees: the exact bytes going out, so signatures (OVH, webhooks) cover what is really sent. */
export interface OutgoingRequest {
  method: string;
  url: string;
  body: string;
  headers: Record<string, string>;
  attempt: number;
}

export interface VendorClientOptions {
  vendor: string;
  baseUrl: string;
  timeoutMs?: number;
  /** Retries after the first attempt. */
  retries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A server asking us to wait longer than this is an error now, not a sleep that outlives the call. */
  maxServerWaitMs?: number;
  /** Adds auth headers or signs; called on every attempt (timestamps move). */
  authorize?: (req: OutgoingRequest) => void | Promise<void>;
  /** Pulls the vendor's human message out of an error body. */
  errorMessage?: (status: number, body: unknown) => string | undefined;
  /**
   * What a refusal means, by the vendor's own documented codes (a 403 is not always a credential problem: Hetzner
   * Robot answers its request limit with 403 RATE_LIMIT_EXCEEDED). Undefined falls back to `defaultClassify`.
   */
  classify?: (status: number, body: unknown, headers: Headers) => Refusal | undefined;
  idempotencyHeader?: string;
  logger?: PluginLogger;
  signal?: AbortSignal;
  /** Injected in tests to observe or skip waits. */
  sleep?: (ms: number) => Promise<void>;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** How the client treats one refused request. */
export interface Refusal {
  kind: VendorHttpError['kind'];
  /** The vendor asks us to wait this long before trying again (a rate limit's window); implies a retry. */
  waitMs?: number;
}

/**
 * The HTTP-status reading most vendors document: 401/403 are the credential or its permissions, 429 a rate limit,
 * 409/412 a conflicting change, 5xx the vendor's side. Adapters whose vendor says otherwise pass `classify`.
 */
export function defaultClassify(status: number): Refusal {
  if (status === 401 || status === 403) return { kind: 'auth' };
  if (status === 429) return { kind: 'rate-limited' };
  if (status === 409 || status === 412) return { kind: 'conflict' };
  return { kind: status >= 500 ? 'server' : 'client' };
}

function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return undefined;
  if (contentType?.includes('json') || /^[[{"]/.test(text.trim())) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** Best-effort vendor message from the common error envelopes (Cloudflare, Hetzner, DO, Linode, OVH, AWS). */
export function commonErrorMessage(_status: number, body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 300) || undefined;
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const errors = b.errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors
      .map((e) => {
        const o = e as Record<string, unknown>;
        return [o.code, o.message ?? o.reason ?? o.detail].filter(isPrintable).join(' ');
      })
      .join('; ');
  }
  const error = b.error;
  if (error && typeof error === 'object') {
    const o = error as Record<string, unknown>;
    return [o.code, o.message].filter(isPrintable).join(': ');
  }
  if (typeof error === 'string') return error;
  if (typeof b.message === 'string') return [b.class ?? b.id ?? b.__type, b.message].filter(Boolean).join(': ');
  if (typeof b.detail === 'string') return b.detail;
  return undefined;
}

/**
 * One vendor's API: a base URL, how to authenticate, and the retry discipline every adapter shares. Logs carry
 * method, path, status, attempt and timing only: never headers or bodies, so credentials cannot reach a log.
 */
export class VendorClient {
  readonly vendor: string;
  readonly baseUrl: string;
  readonly #o: Required<
    Pick<VendorClientOptions, 'timeoutMs' | 'retries' | 'backoffBaseMs' | 'backoffMaxMs' | 'maxServerWaitMs'>
  > &
    VendorClientOptions;

  constructor(options: VendorClientOptions) {
    this.vendor = options.vendor;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#o = {
      timeoutMs: 15_000,
      retries: 3,
      backoffBaseMs: 250,
      backoffMaxMs: 10_000,
      maxServerWaitMs: 30_000,
      ...options,
    };
  }

  url(path: string): string {
    return `${this.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`;
  }

  async request<T = unknown>(req: VendorRequest): Promise<VendorResponse<T>> {
    const o = this.#o;
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const idempotent = req.idempotent ?? (req.method !== 'POST' || req.idempotencyKey !== undefined);
    const url = this.url(req.path);
    const path = pathOnly(req.path);
    const text = req.rawBody ? req.rawBody.text : req.body === undefined ? '' : JSON.stringify(req.body);
    const errorMessage = o.errorMessage ?? commonErrorMessage;
    let lastError: VendorHttpError | undefined;

    for (let attempt = 1; attempt <= o.retries + 1; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
      if (text !== '') headers['content-type'] = req.rawBody?.contentType ?? 'application/json';
      if (req.idempotencyKey && o.idempotencyHeader) headers[o.idempotencyHeader] = req.idempotencyKey;
      const outgoing: OutgoingRequest = { method: req.method, url, body: text, headers, attempt };
      await o.authorize?.(outgoing);
      const started = Date.now();
      const signals = [AbortSignal.timeout(o.timeoutMs), ...(o.signal ? [o.signal] : [])];
      let res: Response;
      try {
        res = await fetch(url, {
          method: req.method,
          headers: outgoing.headers,
          body: text === '' ? undefined : text,
          signal: AbortSignal.any(signals),
          redirect: 'manual',
        });
      } catch (err) {
        const timeout = (err as Error).name === 'TimeoutError';
        lastError = new VendorHttpError(
          this.vendor,
          req.method,
          path,
          undefined,
          timeout ? `no answer within ${o.timeoutMs} ms` : (err as Error).message,
          attempt,
          timeout ? 'timeout' : 'network',
        );
        o.logger?.warn(
          { vendor: this.vendor, method: req.method, path, attempt, ms: Date.now() - started, error: lastError.kind },
          'vendor request failed',
        );
        if (o.signal?.aborted || !idempotent || attempt > o.retries) throw lastError;
        await sleep(backoffMs(attempt - 1, o.backoffBaseMs, o.backoffMaxMs));
        continue;
      }
      const bodyText = await res.text();
      const body = parseBody(bodyText, res.headers.get('content-type'));
      const ms = Date.now() - started;
      if ((res.status >= 200 && res.status < 300) || req.accept?.includes(res.status)) {
        o.logger?.debug(
          { vendor: this.vendor, method: req.method, path, status: res.status, attempt, ms },
          'vendor request',
        );
        return { status: res.status, headers: res.headers, body: body as T, attempts: attempt };
      }
      const message = errorMessage(res.status, body);
      const refusal = o.classify?.(res.status, body, res.headers) ?? defaultClassify(res.status);
      const kind = refusal.kind;
      lastError = new VendorHttpError(this.vendor, req.method, path, res.status, message, attempt, kind);
      o.logger?.warn(
        { vendor: this.vendor, method: req.method, path, status: res.status, attempt, ms, kind },
        'vendor request refused',
      );
      const serverWait = refusal.waitMs ?? serverWaitMs(res.headers);
      // A rate limit (by status or by the vendor's own code) or a 503 with a wait: the request was refused
      // outright, not carried out, so it is safe to resend even when it is not idempotent.
      const limited = kind === 'rate-limited';
      const notCarriedOut = limited || (res.status === 503 && serverWait !== undefined);
      const retryable = limited || (kind !== 'auth' && kind !== 'conflict' && RETRY_STATUSES.has(res.status));
      if (!retryable || (!idempotent && !notCarriedOut) || attempt > o.retries) throw lastError;
      const wait = serverWait ?? backoffMs(attempt - 1, o.backoffBaseMs, o.backoffMaxMs);
      if (wait > o.maxServerWaitMs) {
        throw new VendorHttpError(
          this.vendor,
          req.method,
          path,
          res.status,
          `${message ? `${message}; ` : ''}server asks to wait ${Math.ceil(wait / 1000)} s, longer than the ${Math.ceil(o.maxServerWaitMs / 1000)} s this adapter waits`,
          attempt,
          kind,
        );
      }
      await sleep(wait);
    }
    throw lastError as VendorHttpError;
  }
}

/** A vendor's error code or message as text: strings and numbers; anything else would print as [object Object]. */
function isPrintable(x: unknown): x is string | number {
  return typeof x === 'string' || typeof x === 'number';
}
