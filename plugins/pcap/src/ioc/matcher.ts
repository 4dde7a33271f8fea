import { Prefix, type IocMatchReport, type Range } from '@ft/sdk';
import type { Packet } from '../format/packet.js';

/**
 * Indicators of compromise, matched against captured packets. An IOC is a conjunction of conditions: every
 * condition it states must hold (a memcached signature is "UDP, source port 11211, these bytes at payload offset 8").
 * IOCs arrive in named sets, one per origin (the local file, and each threat-intel feed): replacing a set swaps it
 * whole, so a refresh never leaves a half-loaded set in use.
 */
export interface Ioc {
  /** Stable id, reported in `ioc_matches`. Unique within its set. */
  id: string;
  name?: string;
  /** Claimed source address in one of these prefixes. */
  source?: Prefix[];
  /** Destination address in one of these prefixes. */
  destination?: Prefix[];
  protocol?: 'tcp' | 'udp' | 'icmp';
  srcPort?: Range[];
  dstPort?: Range[];
  /** These bytes at this offset of the layer (masked bytes compare only the bits set in the mask). */
  bytes?: BytePattern;
}

export interface BytePattern {
  layer: 'ip' | 'transport' | 'payload';
  offset: number;
  value: Buffer;
  mask?: Buffer;
}

export type IocKind = 'cidr' | 'port' | 'bytes' | 'protocol';

/** One line of `ioc_matches` (the reference agent's item shape): which IOC, its kind, its text, packets matched. */
export type IocMatch = IocMatchReport;

/** The most specific condition names the IOC's kind. */
export function iocKind(i: Ioc): IocKind {
  if (i.bytes) return 'bytes';
  if (i.srcPort || i.dstPort) return 'port';
  if (i.source || i.destination) return 'cidr';
  return 'protocol';
}

export function iocValue(i: Ioc): string {
  const parts: string[] = [];
  if (i.source) parts.push(`src ${i.source.map(String).join(',')}`);
  if (i.destination) parts.push(`dst ${i.destination.map(String).join(',')}`);
  if (i.protocol) parts.push(i.protocol);
  const ports = (rs: Range[]) => rs.map((r) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`)).join(',');
  if (i.srcPort) parts.push(`src port ${ports(i.srcPort)}`);
  if (i.dstPort) parts.push(`dst port ${ports(i.dstPort)}`);
  if (i.bytes)
    parts.push(
      `${i.bytes.layer}[${i.bytes.offset}:${i.bytes.value.length}] = 0x${i.bytes.value.toString('hex')}${i.bytes.mask ? ` & 0x${i.bytes.mask.toString('hex')}` : ''}`,
    );
  return parts.join(' ');
}

const PROTOCOL = { tcp: 6, udp: 17 } as const;

function inRanges(v: number | undefined, rs: Range[] | undefined): boolean {
  if (!rs) return true;
  if (v === undefined) return false;
  for (const r of rs) if (v >= r.min && v <= r.max) return true;
  return false;
}

function bytesMatch(p: Packet, b: BytePattern): boolean {
  let base: Buffer;
  if (b.layer === 'ip') base = p.ip;
  else if (b.layer === 'payload') base = p.payload;
  else {
    if (p.l4Offset < 0) return false;
    base = p.ip.subarray(p.l4Offset);
  }
  const end = b.offset + b.value.length;
  if (end > base.length) return false;
  for (let i = 0; i < b.value.length; i++) {
    const m = b.mask ? b.mask[i]! : 0xff;
    if ((base[b.offset + i]! & m) !== (b.value[i]! & m)) return false;
  }
  return true;
}

/** Whether the packet satisfies every condition except the address ones (checked by the index). */
function restMatches(i: Ioc, p: Packet): boolean {
  if (i.protocol) {
    if (i.protocol === 'icmp') {
      if (p.protocol !== 1 && p.protocol !== 58) return false;
    } else if (p.protocol !== PROTOCOL[i.protocol]) return false;
  }
  if (!inRanges(p.srcPort, i.srcPort) || !inRanges(p.dstPort, i.dstPort)) return false;
  if (i.bytes && !bytesMatch(p, i.bytes)) return false;
  return true;
}

/**
 * CIDRs either nest or are disjoint, so the prefixes of one family sorted by start (wider first on ties) form a
 * forest: the prefixes containing an address are the last one starting at or below it and that one's ancestors
 * that still reach it. Lookup: a binary search and a walk up. Works for a million feed entries.
 */
class PrefixIndex<T> {
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];
  private readonly parents: Int32Array;
  private readonly values: T[] = [];

  constructor(entries: { prefix: Prefix; value: T }[]) {
    const rows = entries
      .map((e) => ({ ...range(e.prefix), value: e.value }))
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : a.end < b.end ? 1 : 0));
    this.parents = new Int32Array(rows.length);
    const stack: number[] = [];
    rows.forEach((r, i) => {
      while (stack.length > 0 && this.ends[stack[stack.length - 1]!]! < r.start) stack.pop();
      this.parents[i] = stack.length > 0 ? stack[stack.length - 1]! : -1;
      this.starts.push(r.start);
      this.ends.push(r.end);
      this.values.push(r.value);
      stack.push(i);
    });
  }

  get size(): number {
    return this.values.length;
  }

  forEachContaining(addr: bigint, visit: (value: T) => void): void {
    let lo = 0;
    let hi = this.starts.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= addr) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    while (at >= 0 && this.ends[at]! < addr) at = this.parents[at]!;
    while (at >= 0) {
      visit(this.values[at]!);
      at = this.parents[at]!;
    }
  }
}

function toBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function range(p: Prefix): { start: bigint; end: bigint } {
  const start = toBigInt(p.bytes);
  const bits = p.family === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - p.length);
  return { start, end: start + size - 1n };
}

function addressValue(p: Packet, side: 'src' | 'dst'): bigint {
  const v4 = side === 'src' ? p.src4 : p.dst4;
  if (v4 !== undefined) return BigInt(v4);
  return toBigInt(Prefix.parse(side === 'src' ? p.src : p.dst).bytes);
}

interface CompiledSet {
  source: string;
  iocs: Ioc[];
  bySrc: { 4: PrefixIndex<number>; 6: PrefixIndex<number> };
  byDst: { 4: PrefixIndex<number>; 6: PrefixIndex<number> };
  /** IOCs with no source condition but a destination one are in byDst; with neither, here. */
  rest: number[];
}

function compile(source: string, iocs: Ioc[]): CompiledSet {
  const src: { 4: { prefix: Prefix; value: number }[]; 6: { prefix: Prefix; value: number }[] } = { 4: [], 6: [] };
  const dst: typeof src = { 4: [], 6: [] };
  const rest: number[] = [];
  iocs.forEach((i, n) => {
    if (i.source) for (const p of i.source) src[p.family].push({ prefix: p, value: n });
    else if (i.destination) for (const p of i.destination) dst[p.family].push({ prefix: p, value: n });
    else rest.push(n);
  });
  return {
    source,
    iocs,
    bySrc: { 4: new PrefixIndex(src[4]), 6: new PrefixIndex(src[6]) },
    byDst: { 4: new PrefixIndex(dst[4]), 6: new PrefixIndex(dst[6]) },
    rest,
  };
}

function containsAddress(prefixes: Prefix[] | undefined, p: Packet, side: 'src' | 'dst'): boolean {
  if (!prefixes) return true;
  const a = Prefix.parse(side === 'src' ? p.src : p.dst);
  return prefixes.some((q) => q.contains(a));
}

/** IOC sets from any number of origins, matched together. */
export class IocMatcher {
  private sets = new Map<string, CompiledSet>();

  /** Replaces (or adds) the set from one origin; ids must be unique within it. */
  set(source: string, iocs: Ioc[]): void {
    const seen = new Set<string>();
    for (const i of iocs) {
      if (seen.has(i.id)) throw new Error(`IOC set ${source}: id "${i.id}" appears twice`);
      seen.add(i.id);
    }
    const next = new Map(this.sets);
    next.set(source, compile(source, iocs));
    this.sets = next;
  }

  delete(source: string): void {
    const next = new Map(this.sets);
    next.delete(source);
    this.sets = next;
  }

  /** Origins and how many IOCs each holds. */
  sources(): { source: string; iocs: number }[] {
    return [...this.sets.values()].map((s) => ({ source: s.source, iocs: s.iocs.length }));
  }

  get size(): number {
    let n = 0;
    for (const s of this.sets.values()) n += s.iocs.length;
    return n;
  }

  /** Every IOC the packet matches, as (set, IOC) pairs. */
  forEachMatch(p: Packet, visit: (set: string, ioc: Ioc) => void): void {
    for (const set of this.sets.values()) {
      const hit = new Set<number>();
      const check = (n: number, skip: 'src' | 'dst' | undefined) => {
        if (hit.has(n)) return;
        const i = set.iocs[n]!;
        if (skip !== 'dst' && skip !== 'src') {
          if (!containsAddress(i.source, p, 'src') || !containsAddress(i.destination, p, 'dst')) return;
        } else if (skip === 'src' && !containsAddress(i.destination, p, 'dst')) return;
        if (!restMatches(i, p)) return;
        hit.add(n);
        visit(set.source, i);
      };
      if (set.bySrc[p.family].size > 0)
        set.bySrc[p.family].forEachContaining(addressValue(p, 'src'), (n) => check(n, 'src'));
      if (set.byDst[p.family].size > 0)
        set.byDst[p.family].forEachContaining(addressValue(p, 'dst'), (n) => check(n, 'dst'));
      for (const n of set.rest) check(n, undefined);
    }
  }

  /** Counts matches over packets: one line per IOC that matched, most packets first. */
  count(packets: Iterable<Packet>): IocMatch[] {
    const counts = new Map<string, IocMatch>();
    for (const p of packets) {
      this.forEachMatch(p, (source, ioc) => {
        const key = `${source}\u0000${ioc.id}`;
        let m = counts.get(key);
        if (!m) {
          m = { ioc_id: ioc.id, kind: iocKind(ioc), value: iocValue(ioc), count: 0, source };
          if (ioc.name) m.name = ioc.name;
          counts.set(key, m);
        }
        m.count++;
      });
    }
    return [...counts.values()].sort((a, b) => b.count - a.count || a.ioc_id.localeCompare(b.ioc_id));
  }
}
