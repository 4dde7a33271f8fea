import { isIP } from 'node:net';

/** One access-log line, reduced to what flood detection needs. */
export interface HttpRecord {
  /** When the server logged the request (its own time stamp), ms since the epoch. */
  time: number;
  /** Client address as the server logged it (a valid IPv4 or IPv6 literal; canonicalised before it leaves the plugin). */
  client: string;
  /** The vhost the server names for the request, when the format carries one (lower case, no port). */
  host?: string;
  method: string;
  /** Path without the query string (floods vary the query to miss caches), at most MAX_PATH characters. */
  path: string;
  status: number;
  bytes: number;
  agent?: string;
  /** The server port the request came in on, when the format logs it (FlowSpec matches use it). */
  port?: number;
}

export const MAX_PATH = 256;
export const MAX_AGENT = 256;

/** Why a line was skipped, counted per reason in health(). */
export type SkipReason = 'shape' | 'time' | 'status' | 'client' | 'request' | 'oversize' | 'json';

/** A parser answers a record or the reason it could not. Pure: no I/O, no state but caches. */
export type LineParser = (line: string) => HttpRecord | SkipReason;

/** Characters an IPv4/IPv6 literal can hold (with a %zone rejected): a cheap gate before ipaddr.js checks the winners. */
export function looksLikeIp(s: string): boolean {
  const n = s.length;
  if (n < 2 || n > 45) return false;
  let colon = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) colon = true;
    else if (!((c >= 48 && c <= 57) || c === 46 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  // Hex letters without a colon are a name (e.g. "cafe.de"), not an IPv4 address.
  if (!colon) for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 57) return false;
  return true;
}

/**
 * A client field that really is an address: the cheap character gate, then Node's own parser (inet_pton rules:
 * four decimal octets of at most 255 for IPv4, at most eight groups for IPv6). `999.1.1.1`, `1.2.3.4.5` and a
 * nine-group IPv6 pass the gate but are not addresses: the line is skipped as `client`, not counted.
 */
export function isClientAddress(s: string): boolean {
  return looksLikeIp(s) && isIP(s) !== 0;
}

/** A Host header or vhost name as a site key: lower case, no port, only DNS characters; undefined when unusable. */
export function siteName(raw: string): string | undefined {
  let s = raw;
  if (s === '' || s === '-' || s.length > 300) return undefined;
  // [v6]:port, name:port
  if (s.charCodeAt(0) === 91) {
    const end = s.indexOf(']');
    if (end < 0) return undefined;
    s = s.slice(1, end);
    return looksLikeIp(s) ? s.toLowerCase() : undefined;
  }
  const colon = s.indexOf(':');
  if (colon >= 0) {
    if (s.indexOf(':', colon + 1) >= 0) return looksLikeIp(s) ? s.toLowerCase() : undefined;
    s = s.slice(0, colon);
  }
  if (s.length === 0 || s.length > 253) return undefined;
  for (let i = 0; i < s.length; i++) {
    const raw = s.charCodeAt(i);
    const c = raw | 0x20;
    if (!((c >= 97 && c <= 122) || (raw >= 48 && raw <= 57) || raw === 45 || raw === 46 || raw === 95))
      return undefined;
  }
  return s.toLowerCase();
}

/** "GET /a/b?x=1 HTTP/1.1" → method and path; a request line that is not one ("-", TLS bytes) still counts as a hit. */
export function splitRequest(request: string, into: { method: string; path: string }): boolean {
  const sp = request.indexOf(' ');
  if (sp <= 0) {
    into.method = '-';
    into.path = '-';
    return request === '-' || request.length < 4096;
  }
  into.method = request.length > 0 && sp <= 16 ? request.slice(0, sp) : '-';
  let end = request.indexOf(' ', sp + 1);
  if (end < 0) end = request.length;
  const q = request.indexOf('?', sp + 1);
  if (q >= 0 && q < end) end = q;
  if (end - sp - 1 > MAX_PATH) end = sp + 1 + MAX_PATH;
  into.path = end > sp + 1 ? request.slice(sp + 1, end) : '-';
  return true;
}
