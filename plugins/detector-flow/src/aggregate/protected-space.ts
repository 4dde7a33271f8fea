import { Prefix } from '@ft/sdk';

/** Returned for a destination outside protected space. */
export const OUTSIDE = -1;

/** IPv6 destinations looked up by text are remembered up to this many (then the memory starts over). */
const V6_CACHE_MAX = 65_536;

/** A named set of prefixes counted as one aggregate (a policy's host group: a customer's scattered addresses). */
export interface HostGroup {
  name: string;
  prefixes: Prefix[];
}

/** The Sample target of a host group's aggregate. */
export function groupTarget(name: string): string {
  return `group:${name}`;
}

/**
 * Which aggregates cover a destination, as a small integer: the id of the set of covering aggregates
 * (`aggregatesOf(id)`), or OUTSIDE. Aggregates are the non-host protected prefixes and the host groups; each gets
 * its exact totals and a Sample of its own. IPv4 destinations are looked up by value in sorted intervals (a binary
 * search, no text, no allocation: a destination sweep of a million addresses a second is as cheap as one host),
 * IPv6 ones by text with a bounded cache. Protected host entries (/32, /128) make their host count without an
 * aggregate of their own. A destination is inside when a protected prefix or a group member covers it; with no
 * protected space and no groups, every destination counts, in no aggregate.
 */
export class ProtectedSpace {
  /** Aggregate targets by id: prefix texts, then `group:NAME`s. */
  readonly targets: string[];
  /** The prefix of each aggregate (for its Sample); undefined for a host group. */
  readonly prefixOf: (Prefix | undefined)[];
  /** Covering-aggregate sets by id (ids are indices). */
  private readonly sets: number[][] = [];
  private readonly setIds = new Map<string, number>();
  /** IPv4: interval i is [starts[i], starts[i+1]) and maps to set ids4[i] (or OUTSIDE). */
  private readonly starts: Float64Array;
  private readonly ids4: Int32Array;
  private readonly v6Protect: Prefix[];
  private readonly v6Groups: { id: number; prefixes: Prefix[] }[];
  private v6Cache = new Map<string, number>();
  readonly everything: boolean;
  private readonly prefixIds = new Map<string, number>();

  constructor(protect: readonly Prefix[], groups: readonly HostGroup[] = []) {
    this.everything = protect.length === 0 && groups.length === 0;
    const unique = [...new Map(protect.map((p) => [p.toString(), p])).values()];
    const aggregatePrefixes = unique.filter((p) => !p.isHost);
    this.targets = [...aggregatePrefixes.map((p) => p.toString()), ...groups.map((g) => groupTarget(g.name))];
    this.prefixOf = [...aggregatePrefixes, ...groups.map(() => undefined)];
    aggregatePrefixes.forEach((p, i) => this.prefixIds.set(p.toString(), i));
    const groupIds = groups.map((_, i) => aggregatePrefixes.length + i);
    this.set([]); // id 0: inside, in no aggregate
    // IPv4: elementary intervals between every boundary. CIDR blocks nest or are disjoint, so the blocks covering
    // an interval are those containing its start.
    const v4 = unique.filter((p) => p.family === 4);
    const v4Groups = groups.map((g, i) => ({
      id: groupIds[i]!,
      ranges: g.prefixes.filter((p) => p.family === 4).map(range4),
    }));
    const bounds = new Set<number>([0]);
    const addBounds = ([lo, hi]: [number, number]) => {
      bounds.add(lo);
      if (hi + 1 <= 0xffffffff) bounds.add(hi + 1);
    };
    for (const p of v4) addBounds(range4(p));
    for (const g of v4Groups) for (const r of g.ranges) addBounds(r);
    const starts = [...bounds].sort((a, b) => a - b);
    this.starts = Float64Array.from(starts);
    this.ids4 = new Int32Array(starts.length);
    for (let i = 0; i < starts.length; i++) {
      const at = starts[i]!;
      const inRange = ([lo, hi]: [number, number]) => lo <= at && at <= hi;
      const covering = v4.filter((p) => inRange(range4(p)));
      const inGroups = v4Groups.filter((g) => g.ranges.some(inRange)).map((g) => g.id);
      if (this.everything) this.ids4[i] = 0;
      else if (covering.length === 0 && inGroups.length === 0) this.ids4[i] = OUTSIDE;
      else this.ids4[i] = this.set([...this.prefixIdsOf(covering), ...inGroups]);
    }
    this.v6Protect = unique.filter((p) => p.family === 6);
    this.v6Groups = groups.map((g, i) => ({ id: groupIds[i]!, prefixes: g.prefixes.filter((p) => p.family === 6) }));
  }

  private prefixIdsOf(covering: Prefix[]): number[] {
    const out: number[] = [];
    for (const p of covering) {
      const id = this.prefixIds.get(p.toString());
      if (id !== undefined) out.push(id);
    }
    return out;
  }

  private set(ids: number[]): number {
    // Shortest prefix first, groups last: the order the Samples come in.
    const len = (id: number) => this.prefixOf[id]?.length ?? 1000;
    const sorted = [...new Set(ids)].sort((a, b) => len(a) - len(b) || a - b);
    const key = sorted.join(',');
    let id = this.setIds.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(sorted);
      this.setIds.set(key, id);
    }
    return id;
  }

  /** The covering set of an IPv4 destination given as its 32-bit value. */
  lookup4(dst: number): number {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    // The last interval starting at or below dst.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= dst) lo = mid;
      else hi = mid - 1;
    }
    return this.ids4[lo]!;
  }

  /** The covering set of an IPv6 destination given as its text. */
  lookup6(dst: string): number {
    if (this.everything) return 0;
    let id = this.v6Cache.get(dst);
    if (id === undefined) {
      let host: Prefix | undefined;
      try {
        host = Prefix.parse(dst);
      } catch {
        host = undefined;
      }
      const covering = host === undefined ? [] : this.v6Protect.filter((p) => p.contains(host));
      const inGroups =
        host === undefined
          ? []
          : this.v6Groups.filter((g) => g.prefixes.some((p) => p.contains(host))).map((g) => g.id);
      id =
        covering.length === 0 && inGroups.length === 0
          ? OUTSIDE
          : this.set([...this.prefixIdsOf(covering), ...inGroups]);
      if (this.v6Cache.size >= V6_CACHE_MAX) this.v6Cache = new Map();
      this.v6Cache.set(dst, id);
    }
    return id;
  }

  /** The aggregates (ids into `targets`) a set holds: prefixes shortest first, then groups. */
  aggregatesOf(set: number): readonly number[] {
    return this.sets[set]!;
  }
}

/** First and last address of an IPv4 prefix, as unsigned 32-bit values. */
function range4(p: Prefix): [number, number] {
  const b = p.bytes;
  const base = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const size = 2 ** (32 - p.length);
  const lo = base - (base % size);
  return [lo, lo + size - 1];
}
