// Web-server access logs for the l7 detector: the ones running servers hold open (as root, /proc/PID/fd) and the
// usual paths of nginx, Apache, Caddy, HAProxy and LiteSpeed, each with the format its last lines are in.
import { open, stat } from 'node:fs/promises';
import { openFiles, type HostProcess } from './host.js';

export interface FoundLog {
  path: string;
  /** The server that wrote it, as far as we can tell. */
  server: string;
  /** A format name of the l7 detector, when the last lines parse as one; undefined: empty or unrecognised. */
  format?: string;
  /** "1,204 lines sampled: nginx-combined", "empty: format detected once lines arrive", … */
  note: string;
}

const SERVERS: Record<string, string> = {
  nginx: 'nginx',
  apache2: 'Apache',
  httpd: 'Apache',
  caddy: 'Caddy',
  haproxy: 'HAProxy',
  lshttpd: 'LiteSpeed',
  litespeed: 'LiteSpeed',
  openlitespeed: 'LiteSpeed',
};

/** Where each server's packages put the access log by default (Debian first, then the RHEL layout). */
export const USUAL_ACCESS_LOGS: readonly { path: string; server: string }[] = [
  { path: '/var/log/nginx/access.log', server: 'nginx' },
  { path: '/var/log/apache2/access.log', server: 'Apache' },
  { path: '/var/log/apache2/other_vhosts_access.log', server: 'Apache' },
  { path: '/var/log/httpd/access_log', server: 'Apache' },
  { path: '/var/log/caddy/access.log', server: 'Caddy' },
  { path: '/var/log/haproxy.log', server: 'HAProxy' },
  { path: '/usr/local/lsws/logs/access.log', server: 'LiteSpeed' },
];

const TAIL_BYTES = 64 * 1024;

async function lastLines(path: string): Promise<string[]> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (start > 0) lines.shift(); // cut mid-line
    return lines.filter((l) => l.length > 0).slice(-50);
  } finally {
    await fh.close();
  }
}

/** The format of a log from its last lines, with the l7 detector's own auto-detection. */
export async function describeLog(path: string, server: string): Promise<FoundLog | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  let lines: string[];
  try {
    lines = await lastLines(path);
  } catch (err) {
    return {
      path,
      server,
      note: `not readable (${(err as NodeJS.ErrnoException).code ?? 'error'}): ft run needs read access`,
    };
  }
  if (lines.length === 0) return { path, server, note: 'empty: the format is detected once lines arrive' };
  const { detectFormat } = await import('@ft/detector-l7');
  const d = detectFormat(lines);
  if (!d)
    return {
      path,
      server,
      note: `${lines.length} lines sampled, none in a known format: give its log_format (docs/l7.md)`,
    };
  return { path, server, format: d.format, note: `${d.parsed}/${d.tried} lines sampled parse as ${d.format}` };
}

const looksLikeAccessLog = (p: string) => {
  const base = p.split('/').pop() ?? '';
  return !/error/i.test(base) && (/access/i.test(base) || /^haproxy.*\.log$/.test(base));
};

export async function findAccessLogs(procs: readonly HostProcess[]): Promise<FoundLog[]> {
  const candidates = new Map<string, string>();
  for (const p of procs) {
    const server = SERVERS[p.name];
    if (!server) continue;
    for (const f of await openFiles(p.pid)) if (looksLikeAccessLog(f) && !candidates.has(f)) candidates.set(f, server);
  }
  for (const u of USUAL_ACCESS_LOGS) if (!candidates.has(u.path)) candidates.set(u.path, u.server);
  const out: FoundLog[] = [];
  for (const [path, server] of candidates) {
    const found = await describeLog(path, server);
    if (found) out.push(found);
  }
  return out;
}
