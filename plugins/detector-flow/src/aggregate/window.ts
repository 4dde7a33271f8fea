import { DistinctSketch, hash32, mix32, Prefix, type DistinctState, type Sample, type TcpFlagName } from '@ft/sdk';
import { ipv4Text } from '../decode/addr.js';
import { FlowBatch } from '../decode/batch.js';
import type { FlowRecord } from '../decode/types.js';
import { TopCounter } from './top.js';
import { largestIndices, largestOfList, TopTable, type TopList } from './top-table.js';

const FLAG_NAMES: TcpFlagName[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'];
const ACK = 0x10;
/** Flags a flow carries once (handshake/teardown) unless it never got an ACK (then every packet had them). */
const ONCE_FLAGS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40 | 0x80;

/** One target's window, in a form that can cross a worker boundary and be merged. */
export interface TargetPartial {
  target: string;
  prefix: string;
  /** Scaled (sampling-rate multiplied) packets and bytes over the window. */
  packets: number;
  bytes: number;
  /** tcp, udp, icmp, other: scaled packets. */
  protocols: [number, number, number, number];
  flags: number[];
  /** IPv4 sources by value; IPv6 ones (rarer) by text. */
  srcIps4: TopList;
  srcIps6: [string, number][];
  srcPorts: TopList;
  dstPorts: TopList;
  sources: DistinctState;
  lenMin: number;
  lenMax: number;
  /** Scaled packets/bytes of the records behind the mean packet length (those with a packet count). */
  lenPackets: number;
  lenBytes: number;
  ttl: [number, number][];
}

export interface AggregatorOptions {
  /** Protected space: when given, only destinations inside it count, and each prefix also gets its own Sample. */
  protect: Prefix[];
  /** Most targets tracked per window; traffic to further new targets is counted in `overflowRecords`. */
  maxTargets: number;
  /** How many entries the top lists in a Sample carry. */
  topN: number;
}

/** xorshift32 state, in a typed array: a module-level number above 2^30 would be a new heap object per call. */
const randomState = new Uint32Array([0x9e3779b9]);

/** xorshift32: cheap, and good enough to pick which records feed the top tables. */
function nextRandom(): number {
  let x = randomState[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  randomState[0] = x;
  return randomState[0]!;
}

/**
 * Entries per top list a window's partial carries: the most a Sample shows (topN ≤ 100), rounded up, and about
 * what a table keeps after a prune. Merges (prefixes, workers, trailing windows) then cost at most this per list.
 */
const PARTIAL_ENTRIES = 128;

class TargetStats {
  packets = 0;
  bytes = 0;
  readonly protocols: [number, number, number, number] = [0, 0, 0, 0];
  readonly flags = [0, 0, 0, 0, 0, 0, 0, 0];
  /** IPv4 sources by value; IPv6 ones (rarer) by text, in a table made on first use. */
  readonly srcIps4 = new TopTable();
  srcIps6: TopCounter<string> | null = null;
  readonly srcPorts = new TopTable();
  readonly dstPorts = new TopTable();
  readonly sources = new DistinctSketch();
  lenMin = Infinity;
  lenMax = 0;
  lenPackets = 0;
  lenBytes = 0;
  /** Scaled packets per TTL value, and which values were seen (a flow of 0 packets still shows its TTL). */
  ttl: Float64Array | null = null;
  ttlSeen: Uint8Array | null = null;
  records = 0;

  constructor(
    readonly target: string,
    readonly prefix: string,
    readonly prefixes: string[],
  ) {}

  /** Adds flow `i` of the batch, each packet standing for `rate`. */
  add(b: FlowBatch, i: number, rate: number): void {
    const unscaled = b.packets[i]!;
    const unscaledBytes = b.bytes[i]!;
    const packets = unscaled * rate;
    this.packets += packets;
    this.bytes += unscaledBytes * rate;
    const p = b.protocol[i]!;
    this.protocols[p === 6 ? 0 : p === 17 ? 1 : p === 1 || p === 58 ? 2 : 3] += packets;
    const tcpFlags = b.tcpFlags[i]!;
    if (p === 6 && tcpFlags !== 0) {
      const once = (tcpFlags & ACK) !== 0 ? Math.min(unscaled, 1) * rate : packets;
      for (let bit = 0; bit < 8; bit++) {
        const mask = 1 << bit;
        if (tcpFlags & mask) this.flags[bit]! += ONCE_FLAGS & mask ? once : packets;
      }
    }
    const src6 = b.src6[i];
    const src4 = b.src4[i]!;
    // Top lists: every record while a target is quiet (1,024 records a window); then every 4th, and past 16,384
    // every 16th, with its weight multiplied to match. Totals above stay exact; heavy hitters keep unbiased
    // estimates for a fraction of the cost (these table updates are most of the per-record work).
    // Random, not every n-th record: a periodic pattern in the traffic must not line up with the sampling.
    const seen = this.records++;
    const stride = seen < 1024 ? 1 : seen < 16384 ? 4 : 16;
    if (stride === 1 || (nextRandom() & (stride - 1)) === 0) {
      const weighted = packets * stride;
      // The distinct-source sketch ignores repeats, and both it and the source table start empty each window:
      // a source already in the table is already counted, so only a new entry (or one back after a prune)
      // needs hashing into it. An unknown source (a template without one) counts in neither.
      if (b.srcKnown[i] === 0) {
        // nothing to count
      } else if (src6 === undefined) {
        if (this.srcIps4.add(src4, weighted)) this.sources.addHash(mix32(src4));
      } else if ((this.srcIps6 ??= new TopCounter<string>()).add(src6, weighted)) this.sources.addHash(hash32(src6));
      const srcPort = b.srcPort[i]!;
      if (srcPort !== 0 || p === 6 || p === 17) this.srcPorts.add(srcPort, weighted);
      this.dstPorts.add(b.dstPort[i]!, weighted);
    } else if (b.srcKnown[i] !== 0) this.sources.addHash(src6 === undefined ? mix32(src4) : hash32(src6));
    if (unscaled > 0) {
      const mean = unscaledBytes / unscaled;
      if (mean < this.lenMin) this.lenMin = mean;
      if (mean > this.lenMax) this.lenMax = mean;
      // Scaled, as the traffic is: a record standing for 100× as many packets weighs 100× in the mean.
      this.lenPackets += packets;
      this.lenBytes += unscaledBytes * rate;
    }
    const ttl = b.ttl[i]!;
    if (ttl > 0) {
      if (this.ttl === null) {
        this.ttl = new Float64Array(256);
        this.ttlSeen = new Uint8Array(256);
      }
      this.ttl[ttl]! += packets;
      this.ttlSeen![ttl] = 1;
    }
  }

  /** Back to an empty window, keeping the tables' arrays for the next one. */
  reset(): void {
    this.packets = 0;
    this.bytes = 0;
    this.protocols.fill(0);
    this.flags.fill(0);
    this.srcIps4.clear();
    this.srcIps6 = null;
    this.srcPorts.clear();
    this.dstPorts.clear();
    this.sources.clear();
    this.lenMin = Infinity;
    this.lenMax = 0;
    this.lenPackets = 0;
    this.lenBytes = 0;
    this.ttl = null;
    this.ttlSeen = null;
    this.records = 0;
  }

  partial(): TargetPartial {
    const srcIps6 = this.srcIps6 === null ? [] : largest(this.srcIps6.entries(), PARTIAL_ENTRIES);
    const ttl: [number, number][] = [];
    if (this.ttl !== null) for (let t = 0; t < 256; t++) if (this.ttlSeen![t] === 1) ttl.push([t, this.ttl[t]!]);
    return {
      target: this.target,
      prefix: this.prefix,
      packets: this.packets,
      bytes: this.bytes,
      protocols: [...this.protocols],
      flags: [...this.flags],
      srcIps4: this.srcIps4.list(PARTIAL_ENTRIES),
      srcIps6,
      srcPorts: this.srcPorts.list(PARTIAL_ENTRIES),
      dstPorts: this.dstPorts.list(PARTIAL_ENTRIES),
      sources: this.sources.state(),
      lenMin: this.lenMin,
      lenMax: this.lenMax,
      lenPackets: this.lenPackets,
      lenBytes: this.lenBytes,
      ttl,
    };
  }
}

interface Route {
  host: string;
  /** Protected prefixes containing the host (their Samples are built from the hosts' at flush). */
  prefixes: string[];
  /** The host's stats in window `epoch` (saves a second map lookup per record). */
  stats: TargetStats | undefined;
  epoch: number;
}

/** IPv4 destination value → its route (null: outside protected space), open addressing over typed arrays. */
class RouteTable4 {
  private keys = new Uint32Array(1024);
  private used = new Uint8Array(1024);
  private values: (Route | null)[] = new Array(1024).fill(null);
  private mask = 1023;
  size = 0;

  get(key: number): Route | null | undefined {
    let i = (Math.imul(key, 0x9e3779b1) >>> 12) & this.mask;
    while (this.used[i] === 1) {
      if (this.keys[i] === key) return this.values[i];
      i = (i + 1) & this.mask;
    }
    return undefined;
  }

  set(key: number, route: Route | null): void {
    if ((this.size + 1) * 2 > this.mask) this.grow();
    let i = (Math.imul(key, 0x9e3779b1) >>> 12) & this.mask;
    while (this.used[i] === 1) {
      if (this.keys[i] === key) {
        this.values[i] = route;
        return;
      }
      i = (i + 1) & this.mask;
    }
    this.used[i] = 1;
    this.keys[i] = key;
    this.values[i] = route;
    this.size++;
  }

  private grow(): void {
    const { keys, used, values } = this;
    const slots = (this.mask + 1) * 2;
    this.keys = new Uint32Array(slots);
    this.used = new Uint8Array(slots);
    this.values = new Array(slots).fill(null);
    this.mask = slots - 1;
    this.size = 0;
    for (let i = 0; i < used.length; i++) if (used[i] === 1) this.set(keys[i]!, values[i]!);
  }
}

/**
 * Adds records into the current window (by arrival: NetFlow reports flows late and in bursts, so spreading them
 * over their own first–last time would put traffic into windows already handed to the detection engine).
 * Records are counted per destination address only; each protected prefix's Sample is merged from its hosts when
 * the window closes, which halves the work per record. The per-record path reads the decoders' FlowBatch
 * columns: IPv4 addresses stay numbers from the wire to the tables.
 */
export class WindowAggregator {
  private hosts = new Map<string, TargetStats>();
  /**
   * Last window's host stats, emptied: a host that comes back reuses its tables instead of growing new ones
   * (allocation per target per window was a tenth of the collector's time). Kept one window only.
   */
  private spare = new Map<string, TargetStats>();
  /** Traffic to hosts beyond maxTargets still counts towards its prefixes. */
  private overflow = new Map<string, TargetStats>();
  /** Destination → its route; null = outside protected space. IPv4 by value, IPv6 by text. */
  private routes4 = new RouteTable4();
  private routes6 = new Map<string, Route | null>();
  /** For add(record): one reused row. */
  private readonly single = new FlowBatch(1);
  overflowRecords = 0;
  outsideRecords = 0;
  private epoch = 0;

  constructor(readonly options: AggregatorOptions) {}

  /** Adds one record object (tests and tools; the collector adds whole batches). */
  add(r: FlowRecord, rate: number): void {
    this.single.clear();
    this.single.pushRecord(r);
    this.addAt(this.single, 0, rate);
  }

  /** Adds flow `i` of a decoded batch, each packet standing for `rate`. */
  addAt(b: FlowBatch, i: number, rate: number): void {
    const dst6 = b.dst6[i];
    let route: Route | null | undefined;
    if (dst6 === undefined) {
      const dst4 = b.dst4[i]!;
      route = this.routes4.get(dst4);
      if (route === undefined) {
        route = this.route(ipv4Text(dst4));
        if (this.routeCount() < this.options.maxTargets * 2) this.routes4.set(dst4, route);
      }
    } else {
      route = this.routes6.get(dst6);
      if (route === undefined) {
        route = this.route(dst6);
        if (this.routeCount() < this.options.maxTargets * 2) this.routes6.set(dst6, route);
      }
    }
    if (route === null) {
      this.outsideRecords++;
      return;
    }
    let t = route.epoch === this.epoch ? route.stats : undefined;
    if (t === undefined) t = this.hosts.get(route.host);
    if (t === undefined) {
      if (this.hosts.size >= this.options.maxTargets) {
        this.overflowRecords++;
        for (const p of route.prefixes) {
          let o = this.overflow.get(p);
          if (o === undefined) {
            o = new TargetStats(p, p, []);
            this.overflow.set(p, o);
          }
          o.add(b, i, rate);
        }
        return;
      }
      t = this.spare.get(route.host) ?? new TargetStats(route.host, route.host, route.prefixes);
      this.hosts.set(route.host, t);
    }
    route.stats = t;
    route.epoch = this.epoch;
    t.add(b, i, rate);
  }

  private routeCount(): number {
    return this.routes4.size + this.routes6.size;
  }

  private route(dst: string): Route | null {
    let host: Prefix;
    try {
      host = Prefix.parse(dst);
    } catch {
      return null;
    }
    if (this.options.protect.length === 0) return { host: host.toString(), prefixes: [], stats: undefined, epoch: -1 };
    const covering = this.options.protect.filter((p) => p.contains(host));
    if (covering.length === 0) return null;
    return {
      host: host.toString(),
      prefixes: covering.filter((p) => !p.isHost).map((p) => p.toString()),
      stats: undefined,
      epoch: -1,
    };
  }

  /** Ends the window: returns its per-target partials (hosts, then prefixes) and starts an empty one. */
  flush(): TargetPartial[] {
    const hosts: TargetPartial[] = [];
    const byPrefix = new Map<string, TargetPartial[]>();
    const push = (prefix: string, p: TargetPartial) => {
      let list = byPrefix.get(prefix);
      if (list === undefined) byPrefix.set(prefix, (list = []));
      list.push(p);
    };
    for (const t of this.hosts.values()) {
      const p = t.partial();
      hosts.push(p);
      for (const prefix of t.prefixes) push(prefix, { ...p, target: prefix, prefix });
      t.reset();
    }
    for (const [prefix, o] of this.overflow) push(prefix, o.partial());
    this.spare = this.hosts;
    this.hosts = new Map();
    this.overflow = new Map();
    this.epoch++;
    // Routes stay valid (protected space does not change), but bound the cache across windows too.
    if (this.routeCount() >= this.options.maxTargets * 2) {
      this.routes4 = new RouteTable4();
      this.routes6 = new Map();
    }
    const prefixes = [...byPrefix.values()].flatMap((list) => mergePartials(list.map((p) => [p])));
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

function numberTable(first: TopList): TopTable {
  const t = new TopTable(MERGE_CAPACITY);
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

/** The n largest entries, largest first (ties by key), without sorting the whole table: windows have many. */
export function largest<K extends string | number>(entries: [K, number][], n: number): [K, number][] {
  return largestIndices(
    entries.length,
    n,
    (i) => entries[i]![1],
    (i) => entries[i]![0],
  ).map((i) => entries[i]!);
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
      prefix: Prefix.parse(p.prefix),
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
