const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

const digits = (s: string, from: number, n: number): number => {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return v;
};

function valid(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  return y >= 1970 && y < 10000 && mo >= 0 && mo < 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && s < 61;
}

/**
 * Common Log Format time "10/Oct/2000:13:55:36 -0700" (nginx $time_local, Apache %t), optionally with
 * milliseconds after the seconds ("…:36.655", HAProxy) and without a zone (then `localOffsetMin` applies).
 * NaN when it is not one.
 */
export function parseClfTime(s: string, localOffsetMin?: (utcGuess: number) => number): number {
  if (s.length < 20 || s.charCodeAt(2) !== 47 || s.charCodeAt(6) !== 47 || s.charCodeAt(11) !== 58) return NaN;
  const d = digits(s, 0, 2);
  const mo = MONTHS[s.slice(3, 6)];
  const y = digits(s, 7, 4);
  const h = digits(s, 12, 2);
  const mi = digits(s, 15, 2);
  const sec = digits(s, 18, 2);
  if (mo === undefined || !valid(y, mo, d, h, mi, sec) || s.charCodeAt(14) !== 58 || s.charCodeAt(17) !== 58)
    return NaN;
  let ms = 0;
  let i = 20;
  if (s.charCodeAt(i) === 46) {
    let scale = 100;
    for (i++; i < s.length; i++) {
      const dd = s.charCodeAt(i) - 48;
      if (dd < 0 || dd > 9) break;
      ms += dd * scale;
      scale /= 10;
    }
    ms = Math.floor(ms);
  }
  const utc = Date.UTC(y, mo, d, h, mi, sec, ms);
  if (i === s.length) return localOffsetMin ? utc - localOffsetMin(utc) * 60_000 : NaN;
  if (s.charCodeAt(i) !== 32 || s.length !== i + 6) return NaN;
  const sign = s.charCodeAt(i + 1) === 45 ? -1 : s.charCodeAt(i + 1) === 43 ? 1 : 0;
  const oh = digits(s, i + 2, 2);
  const om = digits(s, i + 4, 2);
  if (sign === 0 || !(oh <= 14 && om < 60)) return NaN;
  return utc - sign * (oh * 60 + om) * 60_000;
}

/** ISO 8601 "2000-10-10T13:55:36-07:00" or "…Z", with optional fraction (nginx $time_iso8601). NaN otherwise. */
export function parseIsoTime(s: string): number {
  if (s.length < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return NaN;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2) - 1;
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  if (!valid(y, mo, d, h, mi, sec) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44) {
    let scale = 100;
    for (i++; i < s.length; i++) {
      const dd = s.charCodeAt(i) - 48;
      if (dd < 0 || dd > 9) break;
      ms += dd * scale;
      scale /= 10;
    }
    ms = Math.floor(ms);
  }
  const utc = Date.UTC(y, mo, d, h, mi, sec, ms);
  if (s.length === i + 1 && s.charCodeAt(i) === 90) return utc;
  if (s.length !== i + 6 || s.charCodeAt(i + 3) !== 58) return NaN;
  const sign = s.charCodeAt(i) === 45 ? -1 : s.charCodeAt(i) === 43 ? 1 : 0;
  const oh = digits(s, i + 1, 2);
  const om = digits(s, i + 4, 2);
  if (sign === 0 || !(oh <= 14 && om < 60)) return NaN;
  return utc - sign * (oh * 60 + om) * 60_000;
}

/** Seconds since the epoch with a fraction ("1646861401.524", nginx $msec, Caddy ts). */
export function parseEpochSeconds(s: string): number {
  if (s.length === 0 || s.length > 24) return NaN;
  const v = Number(s);
  return Number.isFinite(v) && v > 0 && v < 1e11 ? Math.round(v * 1000) : NaN;
}

/** The machine's UTC offset in minutes at a given instant (for HAProxy's zone-less accept date). */
export const systemOffsetMin = (utcGuess: number): number => -new Date(utcGuess).getTimezoneOffset();

/**
 * Remembers the last few stamps: a busy log repeats the same second thousands of times, and re-parsing it is
 * most of a line's cost.
 */
export function cachedTime(parse: (s: string) => number): (s: string) => number {
  let lastKey = '';
  let lastVal = NaN;
  return (s) => {
    if (s === lastKey) return lastVal;
    lastVal = parse(s);
    lastKey = s;
    return lastVal;
  };
}
