import {
  isClientAddress,
  MAX_AGENT,
  siteName,
  splitRequest,
  type HttpRecord,
  type LineParser,
  type SkipReason,
} from './record.js';
import { cachedTime, parseClfTime, parseEpochSeconds, parseIsoTime } from './time.js';

/** What a variable of a log format contributes to a record. */
type Role =
  | 'client'
  | 'timeClf'
  | 'timeIso'
  | 'timeMsec'
  | 'request'
  | 'method'
  | 'uri'
  | 'status'
  | 'bytes'
  | 'agent'
  | 'host'
  | 'port'
  | 'skip';

/** nginx variables ft understands; any other variable is read past. */
const NGINX_ROLES: Record<string, Role> = {
  remote_addr: 'client',
  realip_remote_addr: 'client',
  time_local: 'timeClf',
  time_iso8601: 'timeIso',
  msec: 'timeMsec',
  request: 'request',
  request_method: 'method',
  request_uri: 'uri',
  uri: 'uri',
  document_uri: 'uri',
  status: 'status',
  body_bytes_sent: 'bytes',
  bytes_sent: 'bytes',
  http_user_agent: 'agent',
  host: 'host',
  http_host: 'host',
  server_name: 'host',
  server_port: 'port',
};

interface Step {
  role: Role;
  /** The literal text that ends this field ('' = the rest of the line). */
  after: string;
  /** The field sits between double quotes: a quote preceded by a backslash (Apache's escape) does not end it. */
  quoted: boolean;
}

export interface Template {
  lead: string;
  steps: Step[];
  roles: Set<Role>;
}

export class FormatError extends Error {}

/**
 * Compiles an nginx `log_format` string ("$remote_addr - [$time_local] \"$request\" …") into the literal text
 * between variables. Lines are then cut at those literals with indexOf, no regular expression per line.
 */
export function compileNginxFormat(format: string): Template {
  if (format.length === 0 || format.length > 4096) throw new FormatError('log_format must be 1..4096 characters');
  const parts: (string | { name: string })[] = [];
  let lit = '';
  for (let i = 0; i < format.length;) {
    const c = format[i]!;
    if (c === '$') {
      let j = i + 1;
      let name: string;
      if (format[j] === '{') {
        const end = format.indexOf('}', j);
        if (end < 0) throw new FormatError(`unclosed \${ at character ${i + 1}`);
        name = format.slice(j + 1, end);
        j = end + 1;
      } else {
        while (j < format.length && /[A-Za-z0-9_]/.test(format[j]!)) j++;
        name = format.slice(i + 1, j);
      }
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new FormatError(`"$" without a variable name at character ${i + 1}`);
      parts.push(lit, { name: name.toLowerCase() });
      lit = '';
      i = j;
    } else {
      lit += c;
      i++;
    }
  }
  parts.push(lit);
  // parts alternates literal, variable, literal, …, literal.
  const lead = parts[0] as string;
  const steps: Step[] = [];
  const roles = new Set<Role>();
  for (let k = 1; k < parts.length; k += 2) {
    const v = parts[k] as { name: string };
    const after = parts[k + 1] as string;
    const isLast = k + 2 >= parts.length;
    if (after === '' && !isLast)
      throw new FormatError(`$${v.name} is directly followed by another variable: nothing tells where one ends`);
    const before = parts[k - 1] as string;
    const role = NGINX_ROLES[v.name] ?? 'skip';
    if (role !== 'skip' && roles.has(role) && role !== 'host')
      throw new FormatError(`two variables give the ${role} (…$${v.name})`);
    roles.add(role);
    steps.push({ role, after, quoted: before.endsWith('"') && after.startsWith('"') });
  }
  const missing: string[] = [];
  if (!roles.has('client')) missing.push('$remote_addr');
  if (!roles.has('status')) missing.push('$status');
  if (!roles.has('timeClf') && !roles.has('timeIso') && !roles.has('timeMsec'))
    missing.push('$time_local, $time_iso8601 or $msec');
  if (!roles.has('request') && !roles.has('uri')) missing.push('$request or $request_uri');
  if (missing.length > 0) throw new FormatError(`log_format lacks ${missing.join('; ')}`);
  return { lead, steps, roles };
}

function findEnd(line: string, from: number, step: Step): number {
  if (step.after === '') return line.length;
  let at = line.indexOf(step.after, from);
  if (step.quoted) {
    while (at > 0 && line.charCodeAt(at - 1) === 92) {
      let n = 0;
      for (let k = at - 1; k >= from && line.charCodeAt(k) === 92; k--) n++;
      if (n % 2 === 0) break;
      at = line.indexOf(step.after, at + 1);
    }
  }
  return at;
}

function parseStatus(s: string): number {
  if (s.length !== 3) return NaN;
  const v = (s.charCodeAt(0) - 48) * 100 + (s.charCodeAt(1) - 48) * 10 + (s.charCodeAt(2) - 48);
  return v >= 100 &&
    v <= 599 &&
    s.charCodeAt(1) >= 48 &&
    s.charCodeAt(1) <= 57 &&
    s.charCodeAt(2) >= 48 &&
    s.charCodeAt(2) <= 57
    ? v
    : NaN;
}

function parseBytes(s: string): number {
  if (s === '-') return 0;
  const n = s.length;
  if (n === 0 || n > 15) return NaN;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return v;
}

/** A parser for lines written by `template`. Each parser has its own time-stamp cache. */
export function templateParser(template: Template): LineParser {
  const clf = cachedTime((s) => parseClfTime(s));
  const iso = cachedTime(parseIsoTime);
  const { lead, steps } = template;
  const req = { method: '-', path: '-' };
  return (line: string): HttpRecord | SkipReason => {
    if (lead !== '' && !line.startsWith(lead)) return 'shape';
    let pos = lead.length;
    let client = '';
    let time = NaN;
    let status = NaN;
    let bytes = 0;
    let agent: string | undefined;
    let host: string | undefined;
    let method = '-';
    let port = 0;
    let path = '';
    let haveRequest = false;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const end = findEnd(line, pos, step);
      if (end < 0) return 'shape';
      switch (step.role) {
        case 'skip':
          break;
        case 'client':
          client = line.slice(pos, end);
          if (!isClientAddress(client)) return 'client';
          break;
        case 'timeClf':
          time = clf(line.slice(pos, end));
          if (Number.isNaN(time)) return 'time';
          break;
        case 'timeIso':
          time = iso(line.slice(pos, end));
          if (Number.isNaN(time)) return 'time';
          break;
        case 'timeMsec':
          time = parseEpochSeconds(line.slice(pos, end));
          if (Number.isNaN(time)) return 'time';
          break;
        case 'status':
          status = parseStatus(line.slice(pos, end));
          if (Number.isNaN(status)) return 'status';
          break;
        case 'bytes':
          bytes = parseBytes(line.slice(pos, end));
          if (Number.isNaN(bytes)) return 'shape';
          break;
        case 'agent':
          if (end > pos) agent = line.slice(pos, Math.min(end, pos + MAX_AGENT));
          break;
        case 'host':
          host ??= siteName(line.slice(pos, end));
          break;
        case 'port': {
          const v = parseBytes(line.slice(pos, end));
          if (v > 0 && v < 65536) port = v;
          break;
        }
        case 'method':
          method = line.slice(pos, Math.min(end, pos + 16));
          break;
        case 'uri': {
          const q = line.indexOf('?', pos);
          const stop = q >= 0 && q < end ? q : end;
          path = line.slice(pos, Math.min(stop, pos + 256));
          break;
        }
        case 'request':
          if (!splitRequest(line.slice(pos, end), req)) return 'request';
          haveRequest = true;
          break;
      }
      pos = end + step.after.length;
    }
    if (haveRequest) {
      if (method === '-') method = req.method;
      if (path === '') path = req.path;
    }
    const rec: HttpRecord = { time, client, method, path: path === '' ? '-' : path, status, bytes };
    if (agent !== undefined && agent !== '-') rec.agent = agent;
    if (host !== undefined) rec.host = host;
    if (port > 0) rec.port = port;
    return rec;
  };
}
