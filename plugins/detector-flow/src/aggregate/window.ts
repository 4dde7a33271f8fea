import { Prefix, type Sample, type TcpFlagName } from '@ft/sdk';
import type { FlowRecord } from '../decode/types.js';
import { SourceSketch, type SketchState } from './sketch.js';
import { TopCounter } from './top.js';

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
  srcIps: [string, number][];
  srcPorts: [number, number][];
  dstPorts: [number, number][];
  sources: SketchState;
  lenMin: number;
  lenMax: number;
  /** Unscaled packets/bytes behind the mean packet length. */
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

let randomState = 0x9e3779b9;

/** xorshift32: cheap, and good enough to pick which records feed the top tables. */
function nextRandom(): number {
  let x = randomState;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  randomState = x >>> 0;
  return randomState;
}

class TargetStats {
  packets = 0;
  bytes = 0;
  readonly protocols: [number, number, number, number] = [0, 0, 0, 0];
  readonly flags = [0, 0, 0, 0, 0, 0, 0, 0];
  readonly srcIps = new TopCounter<string>();
  readonly srcPorts = new TopCounter<number>();
  readonly dstPorts = new TopCounter<number>();
  readonly sources = new SourceSketch();
  lenMin = Infinity;
  lenMax = 0;
  lenPackets = 0;
  lenBytes = 0;
  ttl: Map<number, number> | null = null;
  records = 0;

  constructor(readonly target: string, readonly prefix: string, readonly prefixes: string[]) {}

  add(r: FlowRecord, rate: number): void {
    const packets = r.packets * rate;
    this.packets += packets;
    this.bytes += r.bytes * rate;
    const p = r.protocol;
    this.protocols[p === 6 ? 0 : p === 17 ? 1 : p === 1 || p === 58 ? 2 : 3] += packets;
    if (p === 6 && r.tcpFlags !== 0) {
      const once = (r.tcpFlags & ACK) !== 0 ? Math.min(r.packets, 1) * rate : packets;
      for (let b = 0; b < 8; b++) {
        const bit = 1 << b;
        if (r.tcpFlags & bit) this.flags[b]! += ONCE_FLAGS & bit ? once : packets;
      }
    }
    this.sources.add(r.srcAddr);
    // Top lists: every record while a target is quiet (1,024 records a window); then every 4th, and past 16,384
    // every 16th, with its weight multiplied to match. Totals above stay exact; heavy hitters keep unbiased
    // estimates for a fraction of the cost (these table updates are most of the per-record work).
    // Random, not every n-th record: a periodic pattern in the traffic must not line up with the sampling.
    const seen = this.records++;
    const stride = seen < 1024 ? 1 : seen < 16384 ? 4 : 16;
    if (stride === 1 || (nextRandom() & (stride - 1)) === 0) {
      const weighted = packets * stride;
      this.srcIps.add(r.srcAddr, weighted);
      if (r.srcPort !== 0 || p === 6 || p === 17) this.srcPorts.add(r.srcPort, weighted);
      this.dstPorts.add(r.dstPort, weighted);
    }
    if (r.packets > 0) {
      const mean = r.bytes / r.packets;
      if (mean < this.lenMin) this.lenMin = mean;
      if (mean > this.lenMax) this.lenMax = mean;
      this.lenPackets += r.packets;
      this.lenBytes += r.bytes;
    }
    if (r.ttl !== undefined && r.ttl > 0) {
      this.ttl ??= new Map();
      this.ttl.set(r.ttl, (this.ttl.get(r.ttl) ?? 0) + packets);
    }
  }

  partial(): TargetPartial {
    return {
      target: this.target, prefix: this.prefix, packets: this.packets, bytes: this.bytes, protocols: [...this.protocols],
      flags: [...this.flags], srcIps: this.srcIps.entries(), srcPorts: this.srcPorts.entries(), dstPorts: this.dstPorts.entries(),
      sources: this.sources.state(), lenMin: this.lenMin, lenMax: this.lenMax, lenPackets: this.lenPackets,
      lenBytes: this.lenBytes, ttl: this.ttl ? [...this.ttl] : [],
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

/**
 * Adds records into the current window (by arrival: NetFlow reports flows late and in bursts, so spreading them
 * over their own first–last time would put traffic into windows already handed to the detection engine).
 * Records are counted per destination address only; each protected prefix's Sample is merged from its hosts when
 * the window closes, which halves the work per record.
 */
export class WindowAggregator {
  private hosts = new Map<string, TargetStats>();
  /** Traffic to hosts beyond maxTargets still counts towards its prefixes. */
  private overflow = new Map<string, TargetStats>();
  /** Destination text → its route; null = outside protected space. */
  private routes = new Map<string, Route | null>();
  overflowRecords = 0;
  outsideRecords = 0;
  private epoch = 0;

  constructor(readonly options: AggregatorOptions) {}

  add(r: FlowRecord, rate: number): void {
    let route = this.routes.get(r.dstAddr);
    if (route === undefined) {
      route = this.route(r.dstAddr);
      if (this.routes.size < this.options.maxTargets * 2) this.routes.set(r.dstAddr, route);
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
          o.add(r, rate);
        }
        return;
      }
      t = new TargetStats(route.host, route.host, route.prefixes);
      this.hosts.set(route.host, t);
    }
    route.stats = t;
    route.epoch = this.epoch;
    t.add(r, rate);
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
    return { host: host.toString(), prefixes: covering.filter((p) => !p.isHost).map((p) => p.toString()), stats: undefined, epoch: -1 };
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
    }
    for (const [prefix, o] of this.overflow) push(prefix, o.partial());
    this.hosts = new Map();
    this.overflow = new Map();
    this.epoch++;
    // Routes stay valid (protected space does not change), but bound the cache across windows too.
    if (this.routes.size >= this.options.maxTargets * 2) this.routes = new Map();
    const prefixes = [...byPrefix.values()].flatMap((list) => mergePartials(list.map((p) => [p])));
    return [...hosts, ...prefixes];
  }
}

/** Merges partial windows from several workers (same target keys add up). */
export function mergePartials(lists: TargetPartial[][]): TargetPartial[] {
  const byTarget = new Map<string, { base: TargetPartial; srcIps: TopCounter<string>; srcPorts: TopCounter<number>; dstPorts: TopCounter<number>; sources: SourceSketch; ttl: Map<number, number> }>();
  for (const list of lists) {
    for (const p of list) {
      const m = byTarget.get(p.target);
      if (m === undefined) {
        const srcIps = new TopCounter<string>(); srcIps.mergeEntries(p.srcIps);
        const srcPorts = new TopCounter<number>(); srcPorts.mergeEntries(p.srcPorts);
        const dstPorts = new TopCounter<number>(); dstPorts.mergeEntries(p.dstPorts);
        byTarget.set(p.target, { base: { ...p, protocols: [...p.protocols], flags: [...p.flags] }, srcIps, srcPorts, dstPorts, sources: SourceSketch.fromState(p.sources), ttl: new Map(p.ttl) });
        continue;
      }
      const b = m.base;
      b.packets += p.packets;
      b.bytes += p.bytes;
      for (let i = 0; i < 4; i++) b.protocols[i]! += p.protocols[i]!;
      for (let i = 0; i < 8; i++) b.flags[i]! += p.flags[i]!;
      m.srcIps.mergeEntries(p.srcIps);
      m.srcPorts.mergeEntries(p.srcPorts);
      m.dstPorts.mergeEntries(p.dstPorts);
      m.sources.merge(p.sources);
      b.lenMin = Math.min(b.lenMin, p.lenMin);
      b.lenMax = Math.max(b.lenMax, p.lenMax);
      b.lenPackets += p.lenPackets;
      b.lenBytes += p.lenBytes;
      for (const [k, v] of p.ttl) m.ttl.set(k, (m.ttl.get(k) ?? 0) + v);
    }
  }
  return [...byTarget.values()].map((m) => ({
    ...m.base, srcIps: m.srcIps.entries(), srcPorts: m.srcPorts.entries(), dstPorts: m.dstPorts.entries(),
    sources: m.sources.state(), ttl: [...m.ttl],
  }));
}

/** The n largest entries, largest first (ties by key), without sorting the whole table: windows have many. */
export function largest<K extends string | number>(entries: [K, number][], n: number): [K, number][] {
  const best: [K, number][] = [];
  for (const e of entries) {
    if (best.length === n) {
      const last = best[n - 1]!;
      if (e[1] < last[1] || (e[1] === last[1] && e[0] >= last[0])) continue;
      best.pop();
    }
    let i = best.length;
    while (i > 0 && (best[i - 1]![1] < e[1] || (best[i - 1]![1] === e[1] && best[i - 1]![0] > e[0]))) i--;
    best.splice(i, 0, e);
  }
  return best;
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
  const top = <K extends string | number>(entries: [K, number][]) =>
    largest(entries, ctx.topN).map(([key, count]) => ({ key, count: rate(count) }));
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
      protocols: { tcp: rate(p.protocols[0]), udp: rate(p.protocols[1]), icmp: rate(p.protocols[2]), other: rate(p.protocols[3]) },
      tcpFlags,
      topSrcIps: top(p.srcIps),
      topSrcPorts: top(p.srcPorts),
      topDstPorts: top(p.dstPorts),
      sourceCount: SourceSketch.fromState(p.sources).estimate(),
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
