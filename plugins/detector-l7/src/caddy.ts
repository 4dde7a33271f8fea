import {
  isClientAddress,
  MAX_AGENT,
  siteName,
  splitRequest,
  type HttpRecord,
  type LineParser,
  type SkipReason,
} from './record.js';
import { parseIsoTime } from './time.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** "ip:port" / "[v6]:port" (Caddy 2's remote_addr before 2.5) → the address. */
function hostOf(addr: string): string {
  if (addr.startsWith('[')) return addr.slice(1, addr.indexOf(']'));
  const c = addr.lastIndexOf(':');
  return c > 0 && addr.indexOf(':') === c ? addr.slice(0, c) : addr;
}

/**
 * Caddy 2's JSON access log (`log` directive, logger http.log.access): one object per line with `ts` (epoch
 * seconds, or ISO text with a time_format), `status`, `size` and a `request` object (client_ip / remote_ip /
 * remote_addr, host, method, uri, headers).
 */
export function caddyParser(): LineParser {
  const req = { method: '-', path: '-' };
  return (line: string): HttpRecord | SkipReason => {
    if (line.charCodeAt(0) !== 123) return 'shape';
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return 'json';
    }
    const o = obj(v);
    const r = obj(o?.request);
    if (!o || !r) return 'shape';
    const ip =
      str(r.client_ip) ??
      str(r.remote_ip) ??
      (str(r.remote_addr) !== undefined ? hostOf(str(r.remote_addr)!) : undefined);
    if (ip === undefined || !isClientAddress(ip)) return 'client';
    let time = NaN;
    if (typeof o.ts === 'number' && Number.isFinite(o.ts) && o.ts > 0 && o.ts < 1e11) time = Math.round(o.ts * 1000);
    else if (typeof o.ts === 'string') time = parseIsoTime(o.ts);
    if (Number.isNaN(time)) return 'time';
    const status = o.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return 'status';
    const size = typeof o.size === 'number' && Number.isFinite(o.size) && o.size >= 0 ? o.size : 0;
    const uri = str(r.uri) ?? '-';
    splitRequest(`${str(r.method) ?? '-'} ${uri}`, req);
    const rec: HttpRecord = { time, client: ip, method: req.method.slice(0, 16), path: req.path, status, bytes: size };
    const host = str(r.host);
    if (host !== undefined) {
      const site = siteName(host);
      if (site) rec.host = site;
    }
    const headers = obj(r.headers);
    const ua = headers?.['User-Agent'];
    const agent = Array.isArray(ua) ? str(ua[0]) : str(ua);
    if (agent) rec.agent = agent.slice(0, MAX_AGENT);
    return rec;
  };
}
