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
