import {
  isClientAddress,
  siteName,
  splitRequest,
  type HttpRecord,
  type LineParser,
  type SkipReason,
} from './record.js';
import { cachedTime, parseClfTime, systemOffsetMin } from './time.js';

/**
 * HAProxy's HTTP log format (`option httplog`), with or without the syslog header in front:
 *   [syslog: ]CLIENT:PORT [ACCEPT_DATE] FRONTEND BACKEND/SERVER TR/Tw/Tc/Tr/Ta STATUS BYTES CC CS TSFL
 *   ACT/FE/BE/SRV/RET SQ/BQ [{captured request headers}] [{captured response headers}] "REQUEST"
 * The site is the frontend's name. The accept date has no zone: it is read in this machine's zone.
 */
export function haproxyParser(offsetMin: (utc: number) => number = systemOffsetMin): LineParser {
  const time = cachedTime((s) => parseClfTime(s, offsetMin));
  const req = { method: '-', path: '-' };
  return (line: string): HttpRecord | SkipReason => {
    // The first " [" preceded by an ip:port token: a syslog header may hold brackets too (RFC 5424 structured data).
    let open = -1;
    let client = '';
    for (let at = line.indexOf(' ['), tries = 0; at > 0 && tries < 4; at = line.indexOf(' [', at + 2), tries++) {
      const addr = line.slice(line.lastIndexOf(' ', at - 1) + 1, at);
      const colon = addr.lastIndexOf(':');
      if (colon > 0 && isClientAddress(addr.slice(0, colon))) {
        open = at;
        client = addr.slice(0, colon);
        break;
      }
    }
    if (open < 0) return line.indexOf(' [') < 0 ? 'shape' : 'client';
    const close = line.indexOf('] ', open + 2);
    if (close < 0) return 'shape';
    const t = time(line.slice(open + 2, close));
    if (Number.isNaN(t)) return 'time';
    // frontend, backend/server, timers, status, bytes
    let pos = close + 2;
    const fields: string[] = [];
    for (let k = 0; k < 5; k++) {
      const sp = line.indexOf(' ', pos);
      if (sp < 0) return 'shape';
      fields.push(line.slice(pos, sp));
      pos = sp + 1;
    }
    const [frontend, , , statusText, bytesText] = fields as [string, string, string, string, string];
    const status = Number(statusText);
    if (!(statusText.length === 3 && Number.isInteger(status) && status >= 100 && status <= 599)) return 'status';
    const bytes = Number(bytesText);
    if (!(bytesText.length > 0 && bytesText.length < 16 && Number.isInteger(bytes) && bytes >= 0)) return 'shape';
    const q1 = line.indexOf('"', pos);
    if (q1 < 0) return 'request';
    let q2 = line.lastIndexOf('"');
    if (q2 <= q1) q2 = line.length;
    if (!splitRequest(line.slice(q1 + 1, q2), req)) return 'request';
    const rec: HttpRecord = { time: t, client, method: req.method, path: req.path, status, bytes };
    const host = siteName(frontend);
    if (host) rec.host = host;
    return rec;
  };
}
