/**
 * TopCounter's numeric twin for the per-record path: heavy hitters keyed by an unsigned 32-bit number (an IPv4
 * address, a port) in typed arrays with open addressing — no Map entry and no cell object per key. Exact counts
 * until the table holds 8 × capacity keys, then it is cut back to the `capacity` largest (as TopCounter), so
 * counts are lower bounds for keys that come back after a cut.
 */
export class TopTable {
  private keys: Uint32Array;
  private counts: Float64Array;
  private used: Uint8Array;
  private mask: number;
  size = 0;
  private readonly limit: number;

  constructor(private readonly capacity = 64) {
    this.limit = capacity * 8;
    this.keys = new Uint32Array(16);
    this.counts = new Float64Array(16);
    this.used = new Uint8Array(16);
    this.mask = 15;
  }

  add(key: number, n: number): void {
    const keys = this.keys;
    const used = this.used;
    const mask = this.mask;
    let i = slot(key) & mask;
    while (used[i] === 1) {
      if (keys[i] === key) {
        this.counts[i]! += n;
        return;
      }
      i = (i + 1) & mask;
    }
    used[i] = 1;
    keys[i] = key;
    this.counts[i] = n;
    this.size++;
    if (this.size > this.limit) this.prune();
    else if (this.size * 2 > mask) this.rehash((mask + 1) * 2);
  }

  private rehash(slots: number): void {
    const { keys, counts, used } = this;
    this.keys = new Uint32Array(slots);
    this.counts = new Float64Array(slots);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
    this.size = 0;
    for (let i = 0; i < used.length; i++) if (used[i] === 1) this.insert(keys[i]!, counts[i]!);
  }

  private insert(key: number, n: number): void {
    let i = slot(key) & this.mask;
    while (this.used[i] === 1) i = (i + 1) & this.mask;
    this.used[i] = 1;
    this.keys[i] = key;
    this.counts[i] = n;
    this.size++;
  }

  private prune(): void {
    const kept = this.entries().sort((a, b) => b[1] - a[1]).slice(0, this.capacity);
    this.used.fill(0);
    this.size = 0;
    for (const [k, n] of kept) this.insert(k, n);
  }

  /** Empties the table, keeping its arrays (a table is reused window after window for the same target). */
  clear(): void {
    if (this.size > 0) this.used.fill(0);
    this.size = 0;
  }

  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.used.length; i++) if (this.used[i] === 1) out.push([this.keys[i]!, this.counts[i]!]);
    return out;
  }
}

/** Fibonacci hashing: spreads sequential addresses and ports over the table. */
function slot(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> 16;
}
