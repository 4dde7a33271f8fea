import { DistinctSketch, hash32, Prefix, type Sample, type TcpFlagName } from '@ft/sdk';
import { ipv4Text } from '../decode/addr.js';
import { FlowBatch } from '../decode/batch.js';
import type { FlowRecord } from '../decode/types.js';
import { HeavyHitters } from './heavy-hitters.js';
import { OUTSIDE, ProtectedSpace, type HostGroup } from './protected-space.js';
import { largest, PARTIAL_ENTRIES, TargetStats, type TargetPartial } from './target-stats.js';
import { TopCounter } from './top.js';
import { largestOfList, TopTable, type TopList } from './top-table.js';

export { largest, type TargetPartial } from './target-stats.js';

const FLAG_NAMES: TcpFlagName[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'];

export interface AggregatorOptions {
  /** Protected space: when given, only destinations inside it count, and each prefix also gets its own Sample. */
  protect: Prefix[];
  /** Host groups: each counted as one aggregate (`group:NAME`), exactly, like a protected prefix. */
  groups?: HostGroup[];
  /**
   * Hosts with full per-host state (breakdowns, top lists, a Sample of their own) per window: the first ones
   * seen, then the heaviest (see WindowAggregator). A fixed pool: memory does not grow with the number of
   * destinations.
   */
  maxTargets: number;
  /** How many entries the top lists in a Sample carry. */
  topN: number;
}

/** Light counters (HeavyHitters slots) per fully tracked host: where heavy hosts are found once the pool is full. */
const LIGHT_SLOTS_PER_TARGET = 8;
/** A host leaves the light counters for full tracking once it counts this many times the lightest tracked host. */
const PROMOTE_FACTOR = 2;

/** One fully tracked host: its stats, which aggregates (protected prefixes, groups) cover it, and its key. */
interface Tracked {
  stats: TargetStats;
  set: number;
  /** IPv4 value, or -1 for an IPv6 host (key6). */
  key4: number;
  key6: string | undefined;
}

/** IPv4 host value → index into the tracked list: fixed-size open addressing (the pool is bounded). */
class HostIndex4 {
  private readonly keys: Uint32Array;
  private readonly values: Int32Array;
  private readonly mask: number;

  constructor(capacity: number) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.keys = new Uint32Array(slots);
    this.values = new Int32Array(slots).fill(-1);
    this.mask = slots - 1;
  }

  private slot(key: number): number {
    return (Math.imul(key, 0x9e3779b1) >>> 12) & this.mask;
  }

  get(key: number): number {
    let i = this.slot(key);
    while (this.values[i] !== -1) {
      if (this.keys[i] === key) return this.values[i]!;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  set(key: number, value: number): void {
    let i = this.slot(key);
    while (this.values[i] !== -1 && this.keys[i] !== key) i = (i + 1) & this.mask;
    this.keys[i] = key;
    this.values[i] = value;
  }

  /** Removes a key, shifting later entries of its probe run back (no tombstones: the table never degrades). */
  delete(key: number): void {
    let i = this.slot(key);
    while (this.values[i] !== -1 && this.keys[i] !== key) i = (i + 1) & this.mask;
    if (this.values[i] === -1) return;
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      if (this.values[j] === -1) break;
      const home = this.slot(this.keys[j]!);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        this.keys[hole] = this.keys[j]!;
        this.values[hole] = this.values[j]!;
        hole = j;
      }
    }
    this.values[hole] = -1;
  }

  clear(): void {
    this.values.fill(-1);
  }
}

/**
 * Adds records into the current window (by arrival: NetFlow reports flows late and in bursts, so spreading them
 * over their own first–last time would put traffic into windows already handed to the detection engine).
 *
 * Memory is fixed, whatever the number of destinations (a carpet-bombing sweep of a /16 or a random-destination
 * flood reaches millions a second):
 * - every protected prefix's totals are exact: each record counts for every protected prefix covering its
 *   destination (through its host while the host is fully tracked, else directly);
 * - full per-host state (`maxTargets` hosts, from a pool reused window after window) goes to the first hosts of
 *   the window, and once the pool is full to the heaviest: other hosts are counted in a fixed table of light
 *   counters (HeavyHitters), and one that reaches twice the packets of the lightest tracked host takes its place
 *   (the lightest one's counts go to its prefixes). Its Sample then includes what the light counter saw.
 * - when the pool was full during a window, only hosts with at least an average share (total host packets ÷
 *   maxTargets) get a Sample: a sweep spreads too thin for any host to matter on its own, and thousands of
 *   one-packet hosts a second must not become detection targets; the prefixes carry the attack.
 * The per-record path reads the decoders' FlowBatch columns: IPv4 addresses stay numbers from the wire to the
 * tables, and an IPv4 destination's protected prefixes are a binary search, not a parse.
 */
export class WindowAggregator {
  readonly space: ProtectedSpace;
  private tracked: Tracked[] = [];
  private readonly pool: TargetStats[] = [];
  private readonly index4: HostIndex4;
  private index6 = new Map<string, number>();
  private readonly light: HeavyHitters;
  /** Per protected prefix (by id): records of hosts not fully tracked, and hosts that left full tracking. */
  private readonly rest: (TargetStats | null)[];
  /** For add(record): one reused row. */
  private readonly single = new FlowBatch(1);
  /** The pool was full during this window (some hosts only got light counters). */
  private saturated = false;
  /** Packets counted by light counters this window (part of the average share). */
  private lightPackets = 0;
  /** A light host is considered for full tracking once it counts more than this (0: not worked out yet). */
  private promoteAt = 0;
  overflowRecords = 0;
  outsideRecords = 0;
  promotions = 0;

  constructor(readonly options: AggregatorOptions) {
    this.space = new ProtectedSpace(options.protect, options.groups ?? []);
    this.index4 = new HostIndex4(options.maxTargets);
    let slots = 16;
    while (slots < options.maxTargets * LIGHT_SLOTS_PER_TARGET) slots *= 2;
    this.light = new HeavyHitters(slots);
    this.rest = this.space.targets.map(() => null);
  }

  /** Hosts with full state now, and light counters in use: both bounded, whatever the traffic. */
  get trackedHosts(): { full: number; light: number; lightSlots: number } {
    return { full: this.tracked.length, light: this.light.used, lightSlots: this.light.slots };
  }

  /** Adds one record object (tests and tools; the collector adds whole batches). */
  add(r: FlowRecord, rate: number): void {
    this.single.clear();
    this.single.pushRecord(r);
    this.addAt(this.single, 0, rate);
  }

  /** Adds flow `i` of a decoded batch, each packet standing for `rate`. */
  addAt(b: FlowBatch, i: number, rate: number): void {
    const dst6 = b.dst6[i];
    const dst4 = dst6 === undefined ? b.dst4[i]! : -1;
    const set = dst6 === undefined ? this.space.lookup4(dst4) : this.space.lookup6(dst6);
    if (set === OUTSIDE) {
      this.outsideRecords++;
      return;
    }
    const at = dst6 === undefined ? this.index4.get(dst4) : (this.index6.get(dst6) ?? -1);
    if (at >= 0) {
      this.tracked[at]!.stats.add(b, i, rate);
      return;
    }
    if (this.tracked.length < this.options.maxTargets) {
      this.track(dst4, dst6, set).add(b, i, rate);
      return;
    }
    // The pool is full: a light counter for the host, and the record counts in its prefixes directly.
    this.overflowRecords++;
    this.saturated = true;
    const packets = b.packets[i]! * rate;
    this.lightPackets += packets;
    const slot = this.light.add(
      dst6 === undefined ? 4 : 6,
      dst6 === undefined ? dst4 : hash32(dst6),
      packets,
      b.bytes[i]! * rate,
    );
    for (const a of this.space.aggregatesOf(set)) this.restOf(a).add(b, i, rate);
    if (this.light.packets[slot]! > this.promoteAt) this.considerPromotion(slot, dst4, dst6, set);
  }

  private restOf(aggregate: number): TargetStats {
    let r = this.rest[aggregate];
    if (r === null || r === undefined) {
      r = new TargetStats(this.space.targets[aggregate]!, this.aggregatePrefix(aggregate));
      this.rest[aggregate] = r;
    }
    return r;
  }

  /** The prefix text an aggregate's Sample names ('' for a host group: it has no one prefix). */
  private aggregatePrefix(aggregate: number): string {
    return this.space.prefixOf[aggregate]?.toString() ?? '';
  }

  /** Full tracking for a host not tracked yet (the pool has room). */
  private track(dst4: number, dst6: string | undefined, set: number): TargetStats {
    const target = dst6 === undefined ? `${ipv4Text(dst4)}/32` : `${dst6}/128`;
    const stats = this.pool.pop() ?? new TargetStats(target, target);
    stats.target = target;
    stats.prefix = target;
    const index = this.tracked.length;
    this.tracked.push({ stats, set, key4: dst4, key6: dst6 });
    if (dst6 === undefined) this.index4.set(dst4, index);
    else this.index6.set(dst6, index);
    return stats;
  }

  /** The lightest fully tracked host (its index), by packets including what it had before it was tracked. */
  private lightest(): number {
    let best = 0;
    let min = Infinity;
    const t = this.tracked;
    for (let k = 0; k < t.length; k++) {
      const s = t[k]!.stats;
      const n = s.packets + s.priorPackets;
      if (n < min) {
        min = n;
        best = k;
      }
    }
    return best;
  }

  private weight(k: number): number {
    const s = this.tracked[k]!.stats;
    return s.packets + s.priorPackets;
  }

  /** A light host passed the bar: it replaces the lightest tracked host if it outweighs it enough. */
  private considerPromotion(slot: number, dst4: number, dst6: string | undefined, set: number): void {
    let k = this.lightest();
    const mine = this.light.packets[slot]!;
    if (mine <= this.weight(k) * PROMOTE_FACTOR) {
      this.promoteAt = this.weight(k) * PROMOTE_FACTOR;
      return;
    }
    // The lightest host hands its window to its prefixes (without what they already counted for it).
    const out = this.tracked[k]!;
    const p = out.stats.partial();
    p.packets -= out.stats.priorPackets;
    p.bytes -= out.stats.priorBytes;
    for (const id of this.space.aggregatesOf(out.set)) this.restOf(id).absorb(p);
    if (out.key6 === undefined) this.index4.delete(out.key4);
    else this.index6.delete(out.key6);
    out.stats.reset();
    const target = dst6 === undefined ? `${ipv4Text(dst4)}/32` : `${dst6}/128`;
    out.stats.target = target;
    out.stats.prefix = target;
    // What the light counter saw is already in the prefixes: the host's Sample includes it, they do not again.
    out.stats.priorPackets = mine;
    out.stats.priorBytes = this.light.bytes[slot]!;
    out.set = set;
    out.key4 = dst4;
    out.key6 = dst6;
    if (dst6 === undefined) this.index4.set(dst4, k);
    else this.index6.set(dst6, k);
    this.light.remove(slot);
    this.promotions++;
    k = this.lightest();
    this.promoteAt = this.weight(k) * PROMOTE_FACTOR;
  }

  /** Ends the window: returns its per-target partials (hosts, then prefixes) and starts an empty one. */
  flush(): TargetPartial[] {
    const hosts: TargetPartial[] = [];
    const byPrefix: TargetPartial[][] = this.space.targets.map(() => []);
    let hostPackets = this.lightPackets;
    for (const t of this.tracked) hostPackets += t.stats.packets + t.stats.priorPackets;
    const share = this.saturated ? hostPackets / this.options.maxTargets : 0;
    for (const t of this.tracked) {
      const s = t.stats;
      const p = s.partial();
      if (p.packets >= share) hosts.push(p);
      const prior = s.priorPackets;
      const priorBytes = s.priorBytes;
      for (const id of this.space.aggregatesOf(t.set)) {
        byPrefix[id]!.push({
          ...p,
          target: this.space.targets[id]!,
          prefix: this.aggregatePrefix(id),
          packets: p.packets - prior,
          bytes: p.bytes - priorBytes,
        });
      }
      s.reset();
      this.pool.push(s);
    }
    for (let id = 0; id < this.rest.length; id++) {
      const r = this.rest[id];
      if (r === null || r === undefined || r.empty) continue;
      byPrefix[id]!.push(r.partial());
      r.reset();
    }
    this.tracked = [];
    this.index4.clear();
    this.index6 = new Map();
    this.light.clear();
    this.saturated = false;
    this.lightPackets = 0;
    this.promoteAt = 0;
    const prefixes = byPrefix.filter((l) => l.length > 0).flatMap((list) => mergePartials(list.map((p) => [p])));
    return [...hosts, ...prefixes];
  }
}

/**
 * Merge tables are cut back far less often than per-record ones (a prune sorts the table): a /24's Sample merges
 * up to 256 hosts' lists of up to PARTIAL_ENTRIES each. After merging, each list keeps its PARTIAL_ENTRIES
 * largest entries, as a window's partial does.
 */
const MERGE_CAPACITY = 4096;

function addressTable(first: [string, number][]): TopCounter<string> {
  const t = new TopCounter<string>(MERGE_CAPACITY);
  t.mergeEntries(first);
  return t;
}

/** Slots a merge table starts with: a /24's merge adds up to 256 hosts' lists, and growing from 16 rehashed 6 times. */
const MERGE_SLOTS = 1024;

function numberTable(first: TopList): TopTable {
  const t = new TopTable(MERGE_CAPACITY, MERGE_SLOTS);
  t.addList(first);
  return t;
}

function keptAddresses(t: TopCounter<string>): [string, number][] {
  const entries = t.entries();
  return entries.length <= PARTIAL_ENTRIES ? entries : largest(entries, PARTIAL_ENTRIES);
}

/** Merges partial windows from several workers (same target keys add up). */
export function mergePartials(lists: TargetPartial[][]): TargetPartial[] {
  const byTarget = new Map<
    string,
    {
      base: TargetPartial;
      srcIps4: TopTable;
      srcIps6: TopCounter<string>;
      srcPorts: TopTable;
      dstPorts: TopTable;
      sources: DistinctSketch;
      ttl: Map<number, number>;
    }
  >();
  for (const list of lists) {
    for (const p of list) {
      const m = byTarget.get(p.target);
      if (m === undefined) {
        byTarget.set(p.target, {
          base: { ...p, protocols: [...p.protocols], flags: [...p.flags] },
          srcIps4: numberTable(p.srcIps4),
          srcIps6: addressTable(p.srcIps6),
          srcPorts: numberTable(p.srcPorts),
          dstPorts: numberTable(p.dstPorts),
          sources: DistinctSketch.fromState(p.sources),
          ttl: new Map(p.ttl),
        });
        continue;
      }
      const b = m.base;
      b.packets += p.packets;
      b.bytes += p.bytes;
      for (let i = 0; i < 4; i++) b.protocols[i]! += p.protocols[i]!;
      for (let i = 0; i < 8; i++) b.flags[i]! += p.flags[i]!;
      m.srcIps4.addList(p.srcIps4);
      m.srcIps6.mergeEntries(p.srcIps6);
      m.srcPorts.addList(p.srcPorts);
      m.dstPorts.addList(p.dstPorts);
      m.sources.merge(p.sources);
      b.lenMin = Math.min(b.lenMin, p.lenMin);
      b.lenMax = Math.max(b.lenMax, p.lenMax);
      b.lenPackets += p.lenPackets;
      b.lenBytes += p.lenBytes;
      for (const [k, v] of p.ttl) m.ttl.set(k, (m.ttl.get(k) ?? 0) + v);
    }
  }
  return [...byTarget.values()].map((m) => ({
    ...m.base,
    srcIps4: m.srcIps4.list(PARTIAL_ENTRIES),
    srcIps6: keptAddresses(m.srcIps6),
    srcPorts: m.srcPorts.list(PARTIAL_ENTRIES),
    dstPorts: m.dstPorts.list(PARTIAL_ENTRIES),
    sources: m.sources.state(),
    ttl: [...m.ttl],
  }));
}

/**
 * Source addresses as text that can make a Sample's top n: the IPv6 ones and every IPv4 one counting at least
 * the n-th largest IPv4 count (ties included, so ordering ties by text picks the same entries as it would from
 * the whole list). Only these few become text.
 */
function sourceCandidates(p: TargetPartial, n: number): [string, number][] {
  const v4 = largestOfList(p.srcIps4, n);
  const out: [string, number][] = [...p.srcIps6];
  if (v4.length === 0) return out;
  const cut = v4[v4.length - 1]![1];
  const { keys, counts } = p.srcIps4;
  for (let i = 0; i < keys.length; i++) if (counts[i]! >= cut) out.push([ipv4Text(keys[i]!), counts[i]!]);
  return out;
}

export interface SampleContext {
  source: string;
  at: number;
  windowMs: number;
  topN: number;
}

/** Turns a window's partials into the Samples the detection engine consumes (rates per second). */
export function toSamples(partials: TargetPartial[], ctx: SampleContext): Sample[] {
  const perSecond = 1000 / ctx.windowMs;
  const rate = (n: number) => n * perSecond;
  const counted = <K extends string | number>(best: [K, number][]) =>
    best.map(([key, count]) => ({ key, count: rate(count) }));
  const top = <K extends string | number>(entries: [K, number][]) => counted(largest(entries, ctx.topN));
  const topOfList = (l: TopList) => counted(largestOfList(l, ctx.topN));
  return partials.map((p) => {
    const tcpFlags: Partial<Record<TcpFlagName, number>> = {};
    p.flags.forEach((n, i) => {
      if (n > 0) tcpFlags[FLAG_NAMES[i] as TcpFlagName] = rate(n);
    });
    const sample: Sample = {
      source: ctx.source,
      sourceKind: 'flow',
      target: p.target,
      ...(p.prefix === '' ? {} : { prefix: Prefix.parse(p.prefix) }),
      at: ctx.at,
      windowMs: ctx.windowMs,
      direction: 'in',
      pps: rate(p.packets),
      bps: rate(p.bytes * 8),
      protocols: {
        tcp: rate(p.protocols[0]),
        udp: rate(p.protocols[1]),
        icmp: rate(p.protocols[2]),
        other: rate(p.protocols[3]),
      },
      tcpFlags,
      topSrcIps: top(sourceCandidates(p, ctx.topN)),
      topSrcPorts: topOfList(p.srcPorts),
      topDstPorts: topOfList(p.dstPorts),
      sourceCount: DistinctSketch.estimateState(p.sources),
    };
    if (p.lenPackets > 0) sample.packetLength = { min: p.lenMin, max: p.lenMax, mean: p.lenBytes / p.lenPackets };
    if (p.ttl.length > 0) {
      let total = 0;
      let best = 0;
      for (const [, n] of p.ttl) {
        total += n;
        if (n > best) best = n;
      }
      sample.ttl = { distinct: p.ttl.length, topShare: total > 0 ? best / total : 0 };
    }
    return sample;
  });
}
