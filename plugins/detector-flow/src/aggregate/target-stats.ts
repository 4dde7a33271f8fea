import { DistinctSketch, hash32, mix32, type DistinctState } from '@ft/sdk';
import type { FlowBatch } from '../decode/batch.js';
import { TopCounter } from './top.js';
import { largestIndices, TopTable, type TopList } from './top-table.js';

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

/** xorshift32 state, in a typed array: a module-level number above 2^30 would be a new heap object per call. */
const randomState = new Uint32Array([0x9e3779b9]);

/** xorshift32: cheap, and good enough to pick which records feed the top tables. */
function nextRandom(): number {
  let x = randomState[0]!;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  randomState[0] = x;
  return randomState[0];
}

/**
 * Entries per top list a window's partial carries: the most a Sample shows (topN ≤ 100), rounded up, and about
 * what a table keeps after a prune. Merges (prefixes, workers, trailing windows) then cost at most this per list.
 */
export const PARTIAL_ENTRIES = 128;

/**
 * A top table that grew past this many slots in a window (a target with many sources or ports) goes back to its
 * small size when the window closes: the pool of host stats then returns to its idle memory after a flood.
 */
const SHRINK_ABOVE_SLOTS = 256;

/** The n largest entries, largest first (ties by key), without sorting the whole table: windows have many. */
export function largest<K extends string | number>(entries: [K, number][], n: number): [K, number][] {
  return largestIndices(
    entries.length,
    n,
    (i) => entries[i]![1],
    (i) => entries[i]![0],
  ).map((i) => entries[i]!);
}

/** Everything counted for one target (a host, or a protected prefix) in the current window. */
export class TargetStats {
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
  /**
   * A host admitted into full tracking part way through a window: the packets and bytes it had been counted for
   * until then (in its prefixes' totals already). Its own Sample includes them; its prefixes must not add them
   * twice.
   */
  priorPackets = 0;
  priorBytes = 0;
  /** Counted nothing this window (no record added, no partial absorbed). */
  empty = true;

  constructor(
    /** The Sample's target text ("203.0.113.10/32", "203.0.113.0/24"); a pooled host's changes with its host. */
    public target: string,
    public prefix: string,
  ) {}

  /** Adds flow `i` of the batch, each packet standing for `rate`. */
  add(b: FlowBatch, i: number, rate: number): void {
    this.empty = false;
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

  /**
   * Adds a partial window (a host that leaves full tracking hands what it counted to its prefixes): counts add,
   * top lists and the source sketch merge.
   */
  absorb(p: TargetPartial): void {
    this.empty = false;
    this.packets += p.packets;
    this.bytes += p.bytes;
    for (let i = 0; i < 4; i++) this.protocols[i]! += p.protocols[i]!;
    for (let i = 0; i < 8; i++) this.flags[i]! += p.flags[i]!;
    this.srcIps4.addList(p.srcIps4);
    if (p.srcIps6.length > 0) (this.srcIps6 ??= new TopCounter<string>()).mergeEntries(p.srcIps6);
    this.srcPorts.addList(p.srcPorts);
    this.dstPorts.addList(p.dstPorts);
    this.sources.merge(p.sources);
    this.lenMin = Math.min(this.lenMin, p.lenMin);
    this.lenMax = Math.max(this.lenMax, p.lenMax);
    this.lenPackets += p.lenPackets;
    this.lenBytes += p.lenBytes;
    if (p.ttl.length > 0) {
      if (this.ttl === null) {
        this.ttl = new Float64Array(256);
        this.ttlSeen = new Uint8Array(256);
      }
      for (const [t, n] of p.ttl) {
        this.ttl[t]! += n;
        this.ttlSeen![t] = 1;
      }
    }
  }

  /** Back to an empty window, keeping small tables' arrays for the next one (large ones shrink). */
  reset(): void {
    this.empty = true;
    this.packets = 0;
    this.bytes = 0;
    this.priorPackets = 0;
    this.priorBytes = 0;
    this.protocols.fill(0);
    this.flags.fill(0);
    this.srcIps4.clear(SHRINK_ABOVE_SLOTS);
    this.srcIps6 = null;
    this.srcPorts.clear(SHRINK_ABOVE_SLOTS);
    this.dstPorts.clear(SHRINK_ABOVE_SLOTS);
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
      packets: this.packets + this.priorPackets,
      bytes: this.bytes + this.priorBytes,
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
