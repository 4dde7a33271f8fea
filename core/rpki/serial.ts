// RFC 1982 serial number arithmetic for the 32-bit RTR serial: serials wrap, so "newer" is a window, not `>`.

const HALF = 2 ** 31;

/** -1 when a precedes b, 1 when a follows b, 0 when equal, undefined when the distance is exactly 2^31 (undefined by RFC 1982). */
export function compareSerial(a: number, b: number): -1 | 0 | 1 | undefined {
  const x = a >>> 0;
  const y = b >>> 0;
  if (x === y) return 0;
  const diff = (y - x + 2 ** 32) % 2 ** 32;
  if (diff === HALF) return undefined;
  return diff < HALF ? -1 : 1;
}

/** True only when `candidate` is strictly newer than `current` in RFC 1982 terms. */
export function serialIsNewer(candidate: number, current: number): boolean {
  return compareSerial(candidate, current) === 1;
}

export function addSerial(serial: number, n: number): number {
  return (serial + n) >>> 0;
}
