/**
 * A top list as partials carry it: keys and counts in two typed arrays, entry i being (keys[i], counts[i]).
 * Partials live a window or longer, so an array of [key, count] pairs per entry was most of what the garbage
 * collector copied and promoted at 100k flows/s; typed arrays hold no pointers for it to trace.
 */
export interface TopList {
  keys: Uint32Array;
  counts: Float64Array;
}

/**
 * Indices of the n entries with the largest counts, largest first, ties by smaller key, in one insertion pass
 * (no sort of the whole list: windows have many entries). Pair lists and TopLists both pick their tops here.
 */
export function largestIndices<K extends string | number>(
  length: number,
  n: number,
  countAt: (i: number) => number,
  keyAt: (i: number) => K,
): number[] {
  const best: number[] = [];
  for (let i = 0; i < length; i++) {
    const c = countAt(i);
    const k = keyAt(i);
    if (best.length === n) {
      const last = best[n - 1]!;
      if (c < countAt(last) || (c === countAt(last) && k >= keyAt(last))) continue;
      best.pop();
    }
    // Insertion by shifting in place (splice returns a fresh array of what it removed, even when that is nothing).
    let j = best.length;
    best.push(i);
    while (j > 0 && (countAt(best[j - 1]!) < c || (countAt(best[j - 1]!) === c && keyAt(best[j - 1]!) > k))) {
      best[j] = best[j - 1]!;
      j--;
    }
    best[j] = i;
  }
  return best;
}

/** The n largest entries of a list, largest first, ties by smaller key. */
export function largestOfList(l: TopList, n: number): [number, number][] {
  const { keys, counts } = l;
  return largestIndices(
    keys.length,
    n,
    (i) => counts[i]!,
    (i) => keys[i]!,
  ).map((i) => [keys[i]!, counts[i]!]);
}

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

  /** `initialSlots` (a power of two): a merge table that will hold thousands of entries starts big, not at 16. */
  constructor(
    private readonly capacity = 64,
    initialSlots = 16,
  ) {
    this.limit = capacity * 8;
    this.keys = new Uint32Array(initialSlots);
    this.counts = new Float64Array(initialSlots);
    this.used = new Uint8Array(initialSlots);
    this.mask = initialSlots - 1;
  }

  /** Counts `n` more for `key`; true when the key was not in the table (new this window, or back after a cut). */
  add(key: number, n: number): boolean {
    const keys = this.keys;
    const used = this.used;
    const mask = this.mask;
    let i = slot(key) & mask;
    while (used[i] === 1) {
      if (keys[i] === key) {
        this.counts[i]! += n;
        return false;
      }
      i = (i + 1) & mask;
    }
    used[i] = 1;
    keys[i] = key;
    this.counts[i] = n;
    this.size++;
    if (this.size > this.limit) this.prune();
    else if (this.size * 2 > mask) this.rehash((mask + 1) * 2);
    return true;
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
    const kept = this.entries()
      .sort((a, b) => b[1] - a[1])
      .slice(0, this.capacity);
    this.used.fill(0);
    this.size = 0;
    for (const [k, n] of kept) this.insert(k, n);
  }

  /**
   * Empties the table, keeping its arrays (a table is reused window after window), unless they grew past
   * `shrinkAbove` slots and the window just ended used few of them (under an eighth): then it starts small again,
   * so memory a flood made it take is given back, while a target that stays busy keeps its table's size instead
   * of growing it again every window.
   */
  clear(shrinkAbove = Infinity): void {
    if (this.keys.length > shrinkAbove && this.size * 8 < this.keys.length) {
      this.keys = new Uint32Array(16);
      this.counts = new Float64Array(16);
      this.used = new Uint8Array(16);
      this.mask = 15;
    } else if (this.size > 0) this.used.fill(0);
    this.size = 0;
  }

  /**
   * The `k` largest entries (all when there are no more), in table order, as a TopList. A window's partial
   * carries these, not the whole table: merges and Samples then work on at most k per list, the cut a prune
   * makes anyway.
   */
  list(k: number): TopList {
    const { used, keys, counts } = this;
    if (this.size <= k) {
      const out = { keys: new Uint32Array(this.size), counts: new Float64Array(this.size) };
      for (let i = 0, n = 0; i < used.length; i++) {
        if (used[i] === 1) {
          out.keys[n] = keys[i]!;
          out.counts[n++] = counts[i]!;
        }
      }
      return out;
    }
    const scratch = selectionScratch(this.size);
    let n = 0;
    for (let i = 0; i < used.length; i++) if (used[i] === 1) scratch[n++] = counts[i]!;
    const threshold = kthLargest(scratch, k, n);
    const out = { keys: new Uint32Array(k), counts: new Float64Array(k) };
    let m = 0;
    // Strictly larger first, then ties up to k.
    for (let i = 0; i < used.length; i++) {
      if (used[i] === 1 && counts[i]! > threshold) {
        out.keys[m] = keys[i]!;
        out.counts[m++] = counts[i]!;
      }
    }
    for (let i = 0; i < used.length && m < k; i++) {
      if (used[i] === 1 && counts[i] === threshold) {
        out.keys[m] = keys[i]!;
        out.counts[m++] = threshold;
      }
    }
    return out;
  }

  /** Adds every entry of a list (merging partials). */
  addList(l: TopList): void {
    for (let i = 0; i < l.keys.length; i++) this.add(l.keys[i]!, l.counts[i]!);
  }

  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < this.used.length; i++) if (this.used[i] === 1) out.push([this.keys[i]!, this.counts[i]!]);
    return out;
  }
}

/** Reused by list(): one selection buffer per thread instead of one per table per window. */
let scratchCounts = new Float64Array(1024);

function selectionScratch(size: number): Float64Array {
  if (scratchCounts.length < size) scratchCounts = new Float64Array(Math.max(size, scratchCounts.length * 2));
  return scratchCounts;
}

/**
 * The k-th largest value (1-based) of the first `length` values of `a` (reordered in place): Hoare's
 * quickselect, O(n) on average.
 */
export function kthLargest(a: Float64Array, k: number, length = a.length): number {
  let lo = 0;
  let hi = length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target]!;
  }
  return a[target]!;
}

/** Fibonacci hashing: spreads sequential addresses and ports over the table. */
function slot(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> 16;
}
