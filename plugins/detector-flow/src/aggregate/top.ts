/**
 * Heavy hitters in bounded memory: exact counts until the table holds 8 × capacity keys, then it is cut back to
 * the `capacity` largest. A key that returns after being cut starts again from zero, so counts are lower bounds;
 * keys that matter in a flood (the big sources, the attacked port) stay in the table.
 */
export class TopCounter<K extends string | number> {
  // Mutable cells: an update of a known key is one hash lookup, not a get and a set.
  private readonly counts = new Map<K, { n: number }>();

  constructor(private readonly capacity = 64) {}

  /** Counts `n` more for `key`; true when the key was not in the table (new, or back after a cut). */
  add(key: K, n: number): boolean {
    const cell = this.counts.get(key);
    if (cell !== undefined) {
      cell.n += n;
      return false;
    }
    this.counts.set(key, { n });
    if (this.counts.size > this.capacity * 8) this.prune();
    return true;
  }

  private prune(): void {
    const kept = [...this.counts].sort((a, b) => b[1].n - a[1].n).slice(0, this.capacity);
    this.counts.clear();
    for (const [k, v] of kept) this.counts.set(k, v);
  }

  entries(): [K, number][] {
    const out: [K, number][] = [];
    for (const [k, v] of this.counts) out.push([k, v.n]);
    return out;
  }

  mergeEntries(entries: [K, number][]): void {
    for (const [k, v] of entries) this.add(k, v);
  }

  top(n: number): { key: K; count: number }[] {
    return this.entries()
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([key, count]) => ({ key, count }));
  }
}
