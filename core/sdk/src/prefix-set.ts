import { Prefix } from './prefix.js';

/**
 * A fixed set of prefixes answering "which member contains p" and "does any member overlap p" without a scan:
 * one hash lookup per prefix length the set holds (at most 33 or 129), plus a binary search for members inside p.
 * Rails ask this for every rule of every plan against `protect` and `neverTarget`, and block lists ask it for every
 * source: a scan made a 40,000-source incident or a 50,000-entry protect list quadratic.
 */
export class PrefixSet {
  readonly size: number;
  private readonly byText = new Map<string, Prefix>();
  /** Lengths present per family, longest first (the most specific containing member is found first). */
  private readonly lengths: Record<4 | 6, number[]> = { 4: [], 6: [] };
  /** Members in Prefix.compare order, for the members inside a prefix (a contiguous run after it). */
  private readonly sorted: Prefix[];

  constructor(prefixes: Iterable<Prefix>) {
    for (const p of prefixes) this.byText.set(p.toString(), p);
    this.sorted = [...this.byText.values()].sort((a, b) => a.compare(b));
    this.size = this.sorted.length;
    const seen = { 4: new Set<number>(), 6: new Set<number>() };
    for (const p of this.sorted) seen[p.family].add(p.length);
    this.lengths[4] = [...seen[4]].sort((a, b) => b - a);
    this.lengths[6] = [...seen[6]].sort((a, b) => b - a);
  }

  has(p: Prefix): boolean {
    return this.byText.has(p.toString());
  }

  /** The most specific member that contains p (p itself when it is a member). */
  containing(p: Prefix): Prefix | undefined {
    for (const len of this.lengths[p.family]) {
      if (len > p.length) continue;
      const hit = this.byText.get((len === p.length ? p : Prefix.covering(p, len)).toString());
      if (hit) return hit;
    }
    return undefined;
  }

  /** A member inside p (p itself included), if any. */
  inside(p: Prefix): Prefix | undefined {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.sorted[mid] as Prefix).compare(p) < 0) lo = mid + 1;
      else hi = mid;
    }
    const first = this.sorted[lo];
    return first && p.contains(first) ? first : undefined;
  }

  /** A member that contains p or lies inside it. */
  overlapping(p: Prefix): Prefix | undefined {
    return this.containing(p) ?? this.inside(p);
  }

  values(): readonly Prefix[] {
    return this.sorted;
  }
}
