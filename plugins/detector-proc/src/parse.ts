/**
 * Pure parsers for the /proc/net files the proc detector reads. Counters are parsed as bigint (the kernel's are
 * u64; a Number loses exactness above 2^53). Lines that do not have the expected shape are skipped and reported
 * in `problems` (file, line number, why), so one odd line never hides the rest of the file.
 */

export interface Problem {
  line: number;
  reason: string;
}

export interface Parsed<T> {
  value: T;
  problems: Problem[];
}

export interface InterfaceCounters {
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

const COUNTER = /^[0-9]{1,20}$/;
const U64_MAX = (1n << 64n) - 1n;

function counter(text: string): bigint | undefined {
  if (!COUNTER.test(text)) return undefined;
  const v = BigInt(text);
  return v <= U64_MAX ? v : undefined;
}

/** Interface names the kernel allows: 1-15 bytes, no '/', ':' or whitespace. */
export function isInterfaceName(name: string): boolean {
  return /^[^\s/:]{1,15}$/.test(name) && name !== '.' && name !== '..';
}

/**
 * /proc/net/dev: two header lines, then `name: 16 counters` (8 receive, 8 transmit). The name may be glued to the
 * first counter ("eth0:123") on old kernels, and may contain dots and dashes (vlan "eth0.100", "veth-x").
 */
export function parseNetDev(text: string): Parsed<Map<string, InterfaceCounters>> {
  const value = new Map<string, InterfaceCounters>();
  const problems: Problem[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || (i < 2 && line.includes('|'))) return;
    const colon = line.lastIndexOf(':');
    if (colon <= 0) return void problems.push({ line: i + 1, reason: 'no "interface:" prefix' });
    const name = line.slice(0, colon).trim();
    if (!isInterfaceName(name))
      return void problems.push({ line: i + 1, reason: `odd interface name ${JSON.stringify(name.slice(0, 40))}` });
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (fields.length < 16)
      return void problems.push({ line: i + 1, reason: `${name}: ${fields.length} counters, expected 16` });
    const n = fields.slice(0, 16).map(counter);
    const bad = n.findIndex((v) => v === undefined);
    if (bad >= 0)
      return void problems.push({
        line: i + 1,
        reason: `${name}: counter ${bad + 1} is ${JSON.stringify(fields[bad]?.slice(0, 24))}, not a number`,
      });
    const c = n as bigint[];
    if (value.has(name)) return void problems.push({ line: i + 1, reason: `${name} listed twice` });
    value.set(name, {
      rxBytes: c[0]!,
      rxPackets: c[1]!,
      rxErrors: c[2]!,
      rxDropped: c[3]!,
      txBytes: c[8]!,
      txPackets: c[9]!,
      txErrors: c[10]!,
      txDropped: c[11]!,
    });
  });
  return { value, problems };
}

/**
 * /proc/net/snmp and /proc/net/netstat: pairs of lines `Section: names...` / `Section: values...`. Values may be
 * negative (Tcp MaxConn is -1), so they are parsed as signed.
 */
export function parseKeyedPairs(text: string): Parsed<Map<string, Map<string, bigint>>> {
  const value = new Map<string, Map<string, bigint>>();
  const problems: Problem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i]!.trim();
    if (header === '') continue;
    const m = /^([A-Za-z0-9]+):\s*(.*)$/.exec(header);
    if (!m) {
      problems.push({ line: i + 1, reason: 'no "Section:" prefix' });
      continue;
    }
    const section = m[1]!;
    const next = lines[i + 1]?.trim() ?? '';
    const v = /^([A-Za-z0-9]+):\s*(.*)$/.exec(next);
    if (!v || v[1] !== section) {
      problems.push({ line: i + 1, reason: `${section}: header line without its values line` });
      continue;
    }
    i++;
    const names = m[2]!.split(/\s+/).filter(Boolean);
    const values = v[2]!.split(/\s+/).filter(Boolean);
    if (names.length !== values.length) {
      problems.push({ line: i + 1, reason: `${section}: ${names.length} names but ${values.length} values` });
      continue;
    }
    const fields = new Map<string, bigint>();
    names.forEach((name, k) => {
      const t = values[k]!;
      if (/^-?[0-9]{1,20}$/.test(t)) fields.set(name, BigInt(t));
      else
        problems.push({ line: i + 1, reason: `${section} ${name} is ${JSON.stringify(t.slice(0, 24))}, not a number` });
    });
    value.set(section, fields);
  }
  return { value, problems };
}

/** /proc/net/snmp6: one `Name value` pair per line. */
export function parseSnmp6(text: string): Parsed<Map<string, bigint>> {
  const value = new Map<string, bigint>();
  const problems: Problem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^([A-Za-z0-9_]+)\s+(-?[0-9]{1,20})$/.exec(line);
    if (!m)
      return void problems.push({ line: i + 1, reason: `not "Name value": ${JSON.stringify(line.slice(0, 40))}` });
    value.set(m[1]!, BigInt(m[2]!));
  });
  return { value, problems };
}

export interface Sockstat {
  tcpInUse?: number;
  tcpTimeWait?: number;
  udpInUse?: number;
}

/** /proc/net/sockstat: `PROTO: key value key value ...`. */
export function parseSockstat(text: string): Parsed<Sockstat> {
  const value: Sockstat = {};
  const problems: Problem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const m = /^([A-Za-z0-9]+):\s*(.*)$/.exec(line);
    if (!m) return void problems.push({ line: i + 1, reason: 'no "PROTO:" prefix' });
    const parts = m[2]!.split(/\s+/).filter(Boolean);
    if (parts.length % 2 !== 0) return void problems.push({ line: i + 1, reason: `${m[1]}: unpaired key/value` });
    const kv = new Map<string, number>();
    for (let k = 0; k < parts.length; k += 2) {
      const n = parts[k + 1]!;
      if (!/^[0-9]{1,15}$/.test(n))
        return void problems.push({
          line: i + 1,
          reason: `${m[1]} ${parts[k]} is ${JSON.stringify(n.slice(0, 24))}, not a number`,
        });
      kv.set(parts[k]!, Number(n));
    }
    if (m[1] === 'TCP') {
      if (kv.has('inuse')) value.tcpInUse = kv.get('inuse')!;
      if (kv.has('tw')) value.tcpTimeWait = kv.get('tw')!;
    } else if (m[1] === 'UDP') {
      if (kv.has('inuse')) value.udpInUse = kv.get('inuse')!;
    }
  });
  return { value, problems };
}

/**
 * /proc/net/stat/nf_conntrack: a header row of column names, then one row of hex numbers per CPU. `entries` is the
 * namespace's current connection count (the same on every row).
 */
export function parseConntrackStat(text: string): Parsed<number | undefined> {
  const problems: Problem[] = [];
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0) return { value: undefined, problems: [{ line: 1, reason: 'empty' }] };
  const names = lines[0]!.split(/\s+/);
  const col = names.indexOf('entries');
  if (col < 0) return { value: undefined, problems: [{ line: 1, reason: 'no "entries" column' }] };
  const row = lines[1]?.split(/\s+/);
  const cell = row?.[col];
  if (!cell || !/^[0-9a-fA-F]{1,16}$/.test(cell))
    return { value: undefined, problems: [{ line: 2, reason: `entries is ${JSON.stringify(cell ?? '')}, not hex` }] };
  return { value: Number.parseInt(cell, 16), problems };
}

/** /proc/sys/net/netfilter/nf_conntrack_count: one decimal number. */
export function parseSingleCount(text: string): Parsed<number | undefined> {
  const t = text.trim();
  if (!/^[0-9]{1,15}$/.test(t))
    return { value: undefined, problems: [{ line: 1, reason: `${JSON.stringify(t.slice(0, 24))} is not a count` }] };
  return { value: Number(t), problems: [] };
}

/**
 * Difference of two readings of a kernel counter. A counter that went down either wrapped (32-bit counters from
 * some drivers wrap at 2^32, the rest at 2^64) or was reset (interface deleted and recreated, module reloaded);
 * a reset gives `undefined`, because the traffic between the two readings is unknown.
 */
export function counterDelta(previous: bigint, current: bigint): bigint | undefined {
  if (current >= previous) return current - previous;
  const wrap32 = (1n << 32n) - previous + current;
  if (previous < 1n << 32n && wrap32 < 1n << 31n) return wrap32;
  const wrap64 = (1n << 64n) - previous + current;
  if (previous >= 1n << 63n && wrap64 < 1n << 62n) return wrap64;
  return undefined;
}
