/**
 * Heavy hitters with bounded memory (Misra–Gries): at most `capacity` keys are kept; when a new key arrives at a
 * full table every count drops by one and zeros leave. Any key seen more than n/(capacity+1) times
 * in n adds is kept, and counts are low by at most n/(capacity+1) — flooders are exactly the keys it keeps.
 */
export class TopK {
  private readonly counts = new Map<string, number>();
  private total = 0;

  constructor(private readonly capacity: number) {}

  add(key: string): void {
    this.total++;
    const c = this.counts.get(key);
    if (c !== undefined) {
      this.counts.set(key, c + 1);
      return;
    }
    if (this.counts.size < this.capacity) {
      this.counts.set(key, 1);
      return;
    }
    // Full: the newcomer and every kept key lose one. This removes capacity+1 units of count, which bounds how
    // often it can happen (at most n/(capacity+1) times), so the O(capacity) pass is O(1) per add on average.
    for (const [k, v] of this.counts) {
      if (v <= 1) this.counts.delete(k);
      else this.counts.set(k, v - 1);
    }
  }

  get adds(): number {
    return this.total;
  }

  /** The n largest, biggest first (ties by key, so output is stable). */
  top(n: number, accept: (key: string) => boolean = () => true): { key: string; count: number }[] {
    return [...this.counts]
      .filter(([k]) => accept(k))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([key, count]) => ({ key, count }));
  }
}

/** 32-bit FNV-1a with a final avalanche, over a string's UTF-16 code units. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Distinct-count estimate (HyperLogLog, 2^11 registers: 2 KiB, about 2.3 % standard error). */
export class DistinctCounter {
  private static readonly P = 11;
  private readonly registers = new Uint8Array(1 << DistinctCounter.P);

  add(key: string): void {
    const h = hash32(key);
    const idx = h >>> (32 - DistinctCounter.P);
    const rest = (h << DistinctCounter.P) >>> 0;
    const rank = rest === 0 ? 32 - DistinctCounter.P + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[idx]!) this.registers[idx] = rank;
  }

  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    // Small counts: linear counting is exact enough and HLL's raw estimate is biased there.
    if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
    return Math.round(raw);
  }
}
