/**
 * Heavy hitters in bounded memory: exact counts until the table holds 4 × capacity keys, then it is cut back to
 * the `capacity` largest. A key that returns after being cut starts again from zero, so counts are lower bounds;
 * keys that matter in a flood (the big sources, the attacked port) stay in the table.
 */
export class TopCounter<K extends string | number> {
  private readonly counts = new Map<K, number>();

  constructor(private readonly capacity = 64) {}

  add(key: K, n: number): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
    if (this.counts.size > this.capacity * 4) this.prune();
  }

  private prune(): void {
    const kept = [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, this.capacity);
    this.counts.clear();
    for (const [k, v] of kept) this.counts.set(k, v);
  }

  entries(): [K, number][] {
    return [...this.counts];
  }

  mergeEntries(entries: [K, number][]): void {
    for (const [k, v] of entries) this.add(k, v);
  }

  top(n: number): { key: K; count: number }[] {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, n)
      .map(([key, count]) => ({ key, count }));
  }
}
