import type { Severity } from '@ft/sdk';

/** syslog severities (RFC 5424 §6.2.1) for ft's: low notice(5), medium warning(4), high err(3), critical crit(2). */
export const SYSLOG_SEVERITY: Record<Severity, number> = { low: 5, medium: 4, high: 3, critical: 2 };

export const FACILITIES = {
  kern: 0,
  user: 1,
  daemon: 3,
  auth: 4,
  syslog: 5,
  authpriv: 10,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;
export type Facility = keyof typeof FACILITIES;

/** PRINTUSASCII without spaces, at most `max` characters, or the NILVALUE "-" (RFC 5424 §6). */
export function headerField(s: string | undefined, max: number): string {
  const clean = (s ?? '').replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/**
 * An RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG` (no structured data: everything
 * ft says is in MSG, CEF or JSON). TIMESTAMP is UTC with milliseconds.
 */
export function rfc5424(o: {
  facility: Facility;
  severity: Severity;
  atMs: number;
  hostname: string;
  appName: string;
  procId?: string;
  msgId: string;
  msg: string;
}): string {
  const pri = FACILITIES[o.facility] * 8 + SYSLOG_SEVERITY[o.severity];
  const ts = new Date(o.atMs).toISOString();
  return `<${pri}>1 ${ts} ${headerField(o.hostname, 255)} ${headerField(o.appName, 48)} ${headerField(o.procId, 128)} ${headerField(o.msgId, 32)} - ${o.msg}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The older BSD form many CEF collectors expect (RFC 3164): `<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`, in UTC. */
export function rfc3164(o: {
  facility: Facility;
  severity: Severity;
  atMs: number;
  hostname: string;
  appName: string;
  msg: string;
}): string {
  const pri = FACILITIES[o.facility] * 8 + SYSLOG_SEVERITY[o.severity];
  const d = new Date(o.atMs);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const time = d.toISOString().slice(11, 19);
  return `<${pri}>${MONTHS[d.getUTCMonth()]} ${day} ${time} ${headerField(o.hostname, 255)} ${headerField(o.appName, 32)}: ${o.msg}`;
}

/** RFC 6587 §3.4.1 octet counting (also RFC 5425 for TLS): `LEN SP MSG`, LEN in bytes. */
export const octetCounted = (msg: string): string => `${Buffer.byteLength(msg)} ${msg}`;

/** Cuts a message to `max` bytes without splitting a UTF-8 character (UDP datagrams). */
export function clipBytes(msg: string, max: number): string {
  const b = Buffer.from(msg);
  if (b.length <= max) return msg;
  let end = max;
  while (end > 0 && ((b[end] as number) & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString();
}
