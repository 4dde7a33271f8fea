import type { Packet } from '../format/packet.js';

/**
 * Spoofing verdicts from hop counts (Hop-Count Filtering: Jin, Wang and Shin, ACM CCS 2003). A sender can forge
 * its source address but not how many routers its packets cross: hop count = initial TTL - received TTL, with the
 * initial TTL taken as the smallest common default at or above what arrived. Two kinds of evidence:
 *
 * - **A table learnt before the attack** (the pre-attack ring): each address, and each /24 (IPv6 /48), with the
 *   hop counts it arrived at. During the attack, a source whose hop count is not within `tolerance` of what its
 *   address (or, for an address not seen, its prefix) showed is spoofed; one that matches is real.
 * - **Table-free heuristics** for sources the table does not know: one address arriving at hop counts spread over
 *   more than `spread` (several senders share it), hop counts no real path has (more than `maxHops`), and many
 *   sources in unrelated networks all at one identical hop count (a few senders forging many addresses).
 *
 * docs/pcap.md lists the false-positive cases (route changes, NAT, TTL-rewriting middleboxes, hosts with odd
 * initial TTLs) and why the thresholds are what they are.
 */
export const SPOOFING = {
  /** Initial TTLs in use: Linux/BSD/macOS 64, Windows 128, network gear 255, a few stacks 32. */
  initialTtls: [32, 64, 128, 255] as readonly number[],
  /** A route change or ECMP shifts a real path by a hop; more than this is another sender. */
  tolerance: 1,
  /** One address at hop counts spread wider than this (with at least `spreadPackets` packets) is several senders. */
  spread: 2,
  spreadPackets: 4,
  /** Hop counts above this do not occur on real paths (Internet paths are well under 32 hops). */
  maxHops: 40,
  /** The one-hop-count cluster: at least this many sources, in at least `clusterNetworks` /16s (v6 /32s)... */
  clusterSources: 64,
  clusterNetworks: 16,
  /** ...with at least this share of their packets at a single hop count. */
  clusterShare: 0.9,
  /** The incident is called spoofed when spoofed sources carry at least this share of the attack packets... */
  incidentShare: 0.25,
  /** ...and not spoofed when sources the table confirms carry at least this share and spoofed ones under 5 %. */
  realShare: 0.5,
  /** Fewer attack packets than this: no verdict either way. */
  minPackets: 20,
  /**
   * Packets this close before the attack start are not learnt from: a flood is under way for a while before it
   * crosses the threshold, and its spoofed onset must not become the table it is judged against.
   */
  onsetMs: 2000,
} as const;

export type SourceVerdict = 'spoofed' | 'real' | 'unknown';

export interface SourceHops {
  ip: string;
  packets: number;
  /** Hop count → packets. */
  hops: Map<number, number>;
  ttls: Map<number, number>;
}

export interface SourceJudgement {
  ip: string;
  verdict: SourceVerdict;
  packets: number;
  /** Most frequent hop count during the attack. */
  hops: number;
  ttls: number[];
  /** What the table knew before the attack, when it knew anything. */
  learnt?: { by: 'address' | 'prefix'; hops: number[] };
  reason: string;
}

export interface SpoofingVerdict {
  verdict: 'spoofed' | 'not-spoofed' | 'unknown';
  /** Share of attack packets from sources judged spoofed / real. */
  spoofedShare: number;
  realShare: number;
  /** One line per fact the verdict rests on. */
  evidence: string[];
  sources: SourceJudgement[];
  /** Hop counts per claimed source prefix (/24, /48), attack packets only. */
  prefixes: { prefix: string; sources: number; packets: number; hops: { hops: number; packets: number }[] }[];
  /** The same per claimed origin AS, when an origin lookup was given (sources it cannot place are left out). */
  origins?: { asn: number; sources: number; packets: number; hops: { hops: number; packets: number }[] }[];
  /** Sources the pre-attack table held (addresses and prefixes). */
  learnt: { addresses: number; prefixes: number; packets: number };
}

/** The initial TTL a packet most likely left with: the smallest common default at or above what arrived. */
export function initialTtl(received: number): number {
  for (const t of SPOOFING.initialTtls) if (received <= t) return t;
  return 255;
}

export function hopCount(received: number): number {
  return initialTtl(received) - received;
}

/** The /24 (IPv4) or /48 (IPv6) a source claims: the granularity hop counts are learnt and compared at. */
export function sourcePrefix(p: Pick<Packet, 'family' | 'src' | 'src4'>): string {
  if (p.family === 4 && p.src4 !== undefined)
    return `${p.src4 >>> 24}.${(p.src4 >>> 16) & 255}.${(p.src4 >>> 8) & 255}.0/24`;
  return `${v6Head(p.src, 3)}::/48`;
}

/** The /16 (v4) or /32 (v6) a source sits in: "unrelated networks" for the cluster heuristic. */
function network(p: Pick<Packet, 'family' | 'src' | 'src4'>): string {
  if (p.family === 4 && p.src4 !== undefined) return `${p.src4 >>> 24}.${(p.src4 >>> 16) & 255}`;
  return v6Head(p.src, 2);
}

function v6Head(addr: string, groups: number): string {
  // Expanded enough for the first groups: "2001:db8::1" → ["2001","db8","0",...].
  const [head = '', tail = ''] = addr.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const all = addr.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return all
    .slice(0, groups)
    .map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':');
}

/**
 * Hop counts seen per source address and per source prefix. Bounded: beyond `maxEntries` keys per map, the key
 * learnt longest ago is forgotten first (a key seen again moves to the back).
 */
export class HopTable {
  readonly addresses = new Map<string, Map<number, number>>();
  readonly prefixes = new Map<string, Map<number, number>>();
  packets = 0;

  constructor(readonly maxEntries = 200_000) {}

  learn(p: Pick<Packet, 'family' | 'src' | 'src4' | 'ttl'>): void {
    const h = hopCount(p.ttl);
    this.bump(this.addresses, p.src, h);
    this.bump(this.prefixes, sourcePrefix(p), h);
    this.packets++;
  }

  /** An independent copy (the table an incident is judged against stays as it was when the incident opened). */
  clone(): HopTable {
    const t = new HopTable(this.maxEntries);
    for (const [k, v] of this.addresses) t.addresses.set(k, new Map(v));
    for (const [k, v] of this.prefixes) t.prefixes.set(k, new Map(v));
    t.packets = this.packets;
    return t;
  }

  private bump(m: Map<string, Map<number, number>>, key: string, h: number): void {
    let hops = m.get(key);
    if (hops) m.delete(key);
    else {
      hops = new Map();
      if (m.size >= this.maxEntries) m.delete(m.keys().next().value as string);
    }
    m.set(key, hops);
    // Counts saturate, so an old hop count never outweighs a recent route change forever.
    hops.set(h, Math.min(1_000_000, (hops.get(h) ?? 0) + 1));
  }
}

/** Hop counts worth comparing with: those carrying at least 10 % of what the table saw for the key. */
function learntHops(hops: Map<number, number>): number[] {
  let total = 0;
  for (const n of hops.values()) total += n;
  return [...hops]
    .filter(([, n]) => n >= total * 0.1)
    .map(([h]) => h)
    .sort((a, b) => a - b);
}

function modal(m: Map<number, number>): number {
  let best = -1;
  let bestN = -1;
  for (const [k, n] of m) if (n > bestN || (n === bestN && k < best)) [best, bestN] = [k, n];
  return best;
}

/**
 * Judges every source of the attack packets against the pre-attack table and the heuristics. Pure: the same
 * packets give the same verdict.
 */
export function judgeSpoofing(
  attack: readonly Packet[],
  table: HopTable,
  originAs?: (address: string) => number | undefined,
): SpoofingVerdict {
  const bySource = new Map<string, SourceHops & { prefix: string; network: string }>();
  const distinctTtls = new Set<number>();
  for (const p of attack) {
    let s = bySource.get(p.src);
    if (!s)
      bySource.set(
        p.src,
        (s = { ip: p.src, packets: 0, hops: new Map(), ttls: new Map(), prefix: sourcePrefix(p), network: network(p) }),
      );
    s.packets++;
    const h = hopCount(p.ttl);
    s.hops.set(h, (s.hops.get(h) ?? 0) + 1);
    s.ttls.set(p.ttl, (s.ttls.get(p.ttl) ?? 0) + 1);
    distinctTtls.add(p.ttl);
  }
  const evidence: string[] = [];
  const judged: SourceJudgement[] = [];
  const unknown: (SourceHops & { prefix: string; network: string; hopsModal: number })[] = [];
  for (const s of bySource.values()) {
    const hops = modal(s.hops);
    const ttls = [...s.ttls.keys()].sort((a, b) => a - b);
    const base = { ip: s.ip, packets: s.packets, hops, ttls };
    const hopValues = [...s.hops.keys()];
    const spread = Math.max(...hopValues) - Math.min(...hopValues);
    if (s.packets >= SPOOFING.spreadPackets && spread > SPOOFING.spread) {
      judged.push({
        ...base,
        verdict: 'spoofed',
        reason: `arrives at hop counts ${Math.min(...hopValues)}-${Math.max(...hopValues)}: several senders use this address`,
      });
      continue;
    }
    if (hops > SPOOFING.maxHops) {
      judged.push({
        ...base,
        verdict: 'spoofed',
        reason: `TTL ${ttls.join('/')} implies ${hops} hops: no real path is that long (crafted TTL)`,
      });
      continue;
    }
    const byAddress = table.addresses.get(s.ip);
    const byPrefix = table.prefixes.get(s.prefix);
    const learnt = byAddress
      ? { by: 'address' as const, hops: learntHops(byAddress) }
      : byPrefix
        ? { by: 'prefix' as const, hops: learntHops(byPrefix) }
        : undefined;
    if (learnt && learnt.hops.length > 0) {
      const near = learnt.hops.some((h) => Math.abs(h - hops) <= SPOOFING.tolerance);
      const where = learnt.by === 'address' ? 'this address' : `its ${s.prefix}`;
      judged.push({
        ...base,
        learnt,
        verdict: near ? 'real' : 'spoofed',
        reason: near
          ? `${hops} hops, as ${where} arrived before the attack`
          : `${hops} hops, but ${where} arrived ${learnt.hops.join('/')} hops away before the attack`,
      });
      continue;
    }
    unknown.push({ ...s, hopsModal: hops });
    judged.push({ ...base, verdict: 'unknown', reason: 'not seen before the attack (nor its prefix)' });
  }

  // A few senders forging many addresses: the unknown sources span unrelated networks yet nearly all arrive at one
  // hop count. Real botnets and reflector sets are spread over many hop counts.
  if (unknown.length >= SPOOFING.clusterSources) {
    const networks = new Set(unknown.map((u) => u.network));
    const atHop = new Map<number, number>();
    let total = 0;
    for (const u of unknown)
      for (const [h, n] of u.hops) {
        atHop.set(h, (atHop.get(h) ?? 0) + n);
        total += n;
      }
    const top = modal(atHop);
    const share = total > 0 ? (atHop.get(top) ?? 0) / total : 0;
    if (networks.size >= SPOOFING.clusterNetworks && share >= SPOOFING.clusterShare) {
      evidence.push(
        `${unknown.length} sources in ${networks.size} unrelated networks, ${Math.round(share * 100)}% of their packets exactly ${top} hops away: few senders forging addresses`,
      );
      for (const j of judged) {
        if (j.verdict === 'unknown' && j.hops === top) {
          j.verdict = 'spoofed';
          j.reason = `one of ${unknown.length} sources in unrelated networks all ${top} hops away`;
        }
      }
    }
  }
  if (distinctTtls.size >= 100) evidence.push(`${distinctTtls.size} distinct TTLs: randomised, crafted packets`);

  const total = attack.length;
  const share = (v: SourceVerdict) => {
    let n = 0;
    for (const j of judged) if (j.verdict === v) n += j.packets;
    return total > 0 ? n / total : 0;
  };
  let spoofedShare = share('spoofed');
  const realShare = share('real');
  let verdict: SpoofingVerdict['verdict'] = 'unknown';
  const randomised = distinctTtls.size >= 100;
  if (randomised) spoofedShare = Math.max(spoofedShare, 1 - realShare);
  const spoofedCount = judged.filter((j) => j.verdict === 'spoofed').length;
  if (total < SPOOFING.minPackets) evidence.push(`only ${total} attack packets: too few for a verdict`);
  else if (spoofedShare >= SPOOFING.incidentShare) {
    verdict = 'spoofed';
    evidence.unshift(
      `${pct(spoofedShare)} of attack packets come from ${spoofedCount} source(s) whose hop count does not fit the address they claim`,
    );
  } else if (realShare >= SPOOFING.realShare && spoofedShare < 0.05) {
    verdict = 'not-spoofed';
    evidence.unshift(`${pct(realShare)} of attack packets arrive at the hop count their address had before the attack`);
  } else {
    evidence.unshift(
      `${pct(spoofedShare)} spoofed, ${pct(realShare)} confirmed real, the rest from sources not seen before the attack`,
    );
  }

  type Group = { sources: Set<string>; packets: number; hops: Map<number, number> };
  const groupBy = <K>(key: (s: SourceHops & { prefix: string }) => K | undefined): Map<K, Group> => {
    const m = new Map<K, Group>();
    for (const s of bySource.values()) {
      const k = key(s);
      if (k === undefined) continue;
      let e = m.get(k);
      if (!e) m.set(k, (e = { sources: new Set(), packets: 0, hops: new Map() }));
      e.sources.add(s.ip);
      e.packets += s.packets;
      for (const [h, n] of s.hops) e.hops.set(h, (e.hops.get(h) ?? 0) + n);
    }
    return m;
  };
  const hopList = (g: Group) =>
    [...g.hops].map(([hops, packets]) => ({ hops, packets })).sort((a, b) => a.hops - b.hops);
  const prefixes = groupBy((s) => s.prefix);
  const origins = originAs ? groupBy((s) => originAs(s.ip)) : undefined;
  return {
    verdict,
    spoofedShare: round3(spoofedShare),
    realShare: round3(realShare),
    evidence,
    sources: judged.sort((a, b) => b.packets - a.packets || a.ip.localeCompare(b.ip)),
    prefixes: [...prefixes]
      .map(([prefix, e]) => ({ prefix, sources: e.sources.size, packets: e.packets, hops: hopList(e) }))
      .sort((a, b) => b.packets - a.packets || a.prefix.localeCompare(b.prefix)),
    ...(origins
      ? {
          origins: [...origins]
            .map(([asn, e]) => ({ asn, sources: e.sources.size, packets: e.packets, hops: hopList(e) }))
            .sort((a, b) => b.packets - a.packets || a.asn - b.asn),
        }
      : {}),
    learnt: { addresses: table.addresses.size, prefixes: table.prefixes.size, packets: table.packets },
  };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
const pct = (n: number) => `${Math.round(n * 100)}%`;
