/**
 * Strict parsers for the units network engineers write in policies: a typo in a unit is an error, never a zero.
 * Rates are SI (1 Mbps = 1,000,000 bit/s), as on every router's interface counters.
 */

export class UnitError extends Error {
  constructor(
    readonly input: string,
    readonly expected: string,
  ) {
    super(`${JSON.stringify(input)} is not ${expected}`);
    this.name = 'UnitError';
  }
}

const BIT_UNITS: Record<string, number> = { bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9, tbps: 1e12 };
const PACKET_UNITS: Record<string, number> = { pps: 1, kpps: 1e3, mpps: 1e6, gpps: 1e9 };
const REQUEST_UNITS: Record<string, number> = { rps: 1, krps: 1e3, mrps: 1e6 };
const TIME_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

function parseWithUnits(
  input: string | number,
  units: Record<string, number>,
  expected: string,
  bareUnit?: number,
): number {
  if (typeof input === 'number') {
    if (bareUnit !== undefined && Number.isFinite(input) && input >= 0) return input * bareUnit;
    throw new UnitError(String(input), expected);
  }
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) throw new UnitError(input, expected);
  const value = Number(m[1]);
  const unitText = m[2] as string;
  if (unitText === '') {
    if (bareUnit === undefined) throw new UnitError(input, `${expected} (a unit is required)`);
    return value * bareUnit;
  }
  const unit = units[unitText.toLowerCase()];
  // "100MBps" would be bytes to most readers: only accept lower-case b for bits.
  // ...and sizes only with a capital B ("50Mb" would be megabits to most readers).
  if (
    unit === undefined ||
    (units === BIT_UNITS && unitText.includes('B')) ||
    (units === BYTE_UNITS && unitText.endsWith('b'))
  )
    throw new UnitError(input, expected);
  return value * unit;
}

/** "100Mbps" → 100000000 (bits per second). */
export function parseBitrate(input: string | number): number {
  return parseWithUnits(input, BIT_UNITS, 'a bit rate like 100Mbps, 2Gbps or 500kbps', 1);
}

/** "50kpps" → 50000 (packets per second). */
export function parsePacketRate(input: string | number): number {
  return parseWithUnits(input, PACKET_UNITS, 'a packet rate like 50kpps or 20000pps', 1);
}

/** "500rps" → 500, "2krps" → 2000 (HTTP requests per second). A bare number is requests per second. */
export function parseRequestRate(input: string | number): number {
  return parseWithUnits(input, REQUEST_UNITS, 'a request rate like 500rps or 2krps', 1);
}

/** "5m" → 300 (seconds). A bare number is seconds. */
export function parseDuration(input: string | number): number {
  return parseWithUnits(input, TIME_UNITS, 'a duration like 300s, 5m or 1h', 1);
}

/** "50MB" → 50000000, "1GiB" → 1073741824 (bytes; SI and IEC units). A bare number is bytes. */
export function parseByteSize(input: string | number): number {
  return Math.round(parseWithUnits(input, BYTE_UNITS, 'a size like 50MB, 512kB or 1GiB', 1));
}

/** "90%" → 0.9. */
export function parsePercent(input: string | number): number {
  const text = String(input);
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$/.exec(text);
  if (!m) throw new UnitError(text, 'a percentage like 90%');
  const value = Number(m[1]);
  if (value > 100) throw new UnitError(text, 'a percentage between 0% and 100%');
  return value / 100;
}

function formatWith(value: number, units: [string, number][]): string {
  for (const [name, size] of units) {
    if (Math.abs(value) >= size) {
      const scaled = value / size;
      // Two decimals without toFixed's string round trip (the planner formats rates in every plan's reasons).
      return `${Number.isInteger(scaled) ? scaled : Math.round(scaled * 100) / 100}${name}`;
    }
  }
  const last = units[units.length - 1] as [string, number];
  return `${value}${last[0]}`;
}

const BIT_RATES: [string, number][] = [
  ['Tbps', 1e12],
  ['Gbps', 1e9],
  ['Mbps', 1e6],
  ['kbps', 1e3],
  ['bps', 1],
];
const PACKET_RATES: [string, number][] = [
  ['Gpps', 1e9],
  ['Mpps', 1e6],
  ['kpps', 1e3],
  ['pps', 1],
];
const REQUEST_RATES: [string, number][] = [
  ['Mrps', 1e6],
  ['krps', 1e3],
  ['rps', 1],
];

export function formatBitrate(bps: number): string {
  return formatWith(bps, BIT_RATES);
}

export function formatPacketRate(pps: number): string {
  return formatWith(pps, PACKET_RATES);
}

export function formatRequestRate(rps: number): string {
  return formatWith(rps, REQUEST_RATES);
}

export function formatDuration(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
