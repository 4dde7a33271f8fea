import { VECTORS, VECTOR_SHARE, vectorsBySourcePort, type AttackFamily, type Vector } from '@ft/sdk';
import type { Reading } from './reading.js';

export interface VectorMatch {
  vector: Vector;
  /** Share of the attack's source-port counts coming from this vector's port. */
  share: number;
}

export interface Classification {
  family: AttackFamily;
  /** Amplification vectors by source port, strongest first. */
  vector: Vector[];
  vectorShares: VectorMatch[];
  /** 0..1, how sure the classifier is of family and vector together. */
  confidence: number;
  spoofing: boolean;
  botnet: boolean;
  /** One line per fact the decision rests on, for `ft detect` and logs. */
  reasons: string[];
}

/** Tunables of the classifier; exported so docs and tests name the same numbers. */
export const CLASSIFY = {
  /** A protocol is "the" attack when it carries at least this share of the packets. */
  dominant: 0.6,
  /** Two or more protocols each carrying at least this share make a multi-vector attack. */
  component: 0.25,
  /** SYNs per TCP packet from which a TCP flood is a SYN flood (a handshake carries one SYN in ~10 packets). */
  synRatio: 0.3,
  /** A source port counts as a vector when it carries at least this share of the port counts (sdk VECTOR_SHARE). */
  vectorShare: VECTOR_SHARE,
  /** A destination port that carries this share of a UDP flood names it (53 → a DNS query flood). */
  dstPortShare: 0.5,
  /** Spoofing: this many claimed sources arriving with (nearly) one TTL come from one place. */
  spoofSources: 64,
  /** Randomised TTLs: more distinct TTLs than real paths produce. */
  spoofRandomTtls: 100,
  botnetSources: 500,
  botnetTtls: 8,
} as const;

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** Vectors recognised from the top source ports (the sdk's one rule, also used at the edge for reports). */
export function matchVectors(reading: Reading): VectorMatch[] {
  const ports = reading.topSrcPorts;
  if (!ports || ports.length === 0) return [];
  return vectorsBySourcePort(
    ports.map((p) => ({ port: p.key, count: p.count })),
    CLASSIFY.vectorShare,
  );
}

function spoofingHint(reading: Reading, reasons: string[]): boolean {
  const ttl = reading.ttl;
  if (!ttl) return false;
  const sources = reading.sourceCount ?? reading.topSrcIps?.length ?? 0;
  if (ttl.distinct >= CLASSIFY.spoofRandomTtls) {
    reasons.push(`${ttl.distinct} distinct TTLs: randomised, crafted packets`);
    return true;
  }
  if (sources >= CLASSIFY.spoofSources && ttl.distinct <= 2 && ttl.topShare >= 0.9) {
    reasons.push(
      `${sources} source addresses but ${Math.round(ttl.topShare * 100)}% share one TTL: few real senders, spoofed sources`,
    );
    return true;
  }
  return false;
}

function botnetHint(reading: Reading, spoofing: boolean, reasons: string[]): boolean {
  if (spoofing) return false;
  const clients = reading.http?.uniqueClients ?? 0;
  if (clients >= CLASSIFY.botnetSources) {
    reasons.push(`${clients} distinct HTTP clients (completed handshakes, so real hosts)`);
    return true;
  }
  const sources = reading.sourceCount ?? 0;
  if (reading.ttl && sources >= CLASSIFY.botnetSources && reading.ttl.distinct >= CLASSIFY.botnetTtls) {
    reasons.push(`${sources} sources with ${reading.ttl.distinct} distinct TTLs: many real hosts`);
    return true;
  }
  return false;
}

/**
 * Family, vector and confidence of the traffic in `reading` (the merged window of a target over its threshold).
 * Pure and deterministic. The planner builds FlowSpec matches from the result, so the rules are conservative:
 * a vector is only named when its source port really carries the flood, a SYN flood only when SYNs are counted.
 */
export function classify(reading: Reading): Classification {
  const reasons: string[] = [];
  const spoofing = spoofingHint(reading, reasons);
  const botnet = botnetHint(reading, spoofing, reasons);
  const vectors = matchVectors(reading);
  const done = (family: AttackFamily, confidence: number, vectorShares: VectorMatch[] = []): Classification => ({
    family,
    vector: vectorShares.map((v) => v.vector),
    vectorShares: vectorShares.map((v) => ({ vector: v.vector, share: round3(v.share) })),
    confidence: round3(Math.max(0, Math.min(1, confidence))),
    spoofing,
    botnet,
    reasons,
  });
  const vectorFactor =
    vectors.length > 0
      ? Math.min(
          1,
          vectors.reduce((a, v) => a + v.share, 0),
        )
      : 1;
  const dnsQueries = reading.topDstPorts ? shareOf(reading.topDstPorts, 53) : 0;

  if (reading.http && reading.http.rps > 0) {
    const tcpShare = reading.protocols ? ratio(reading.protocols.tcp, total(reading.protocols)) : 1;
    if (tcpShare >= 0.5) {
      reasons.push(`${Math.round(reading.http.rps)} HTTP requests/s on ${reading.http.site}`);
      return done('http_flood', 0.9);
    }
  }

  const p = reading.protocols;
  const sum = p ? total(p) : 0;
  if (!p || sum <= 0) {
    // No protocol counters (e.g. an interface-only source): only port signatures can speak.
    if (vectors.length > 0) {
      reasons.push(
        `source ports ${vectors.map((v) => `${VECTORS[v.vector].sourcePorts.join('/')} (${pct(v.share)})`).join(', ')}; no protocol counters`,
      );
      if (vectors.length >= 2) return done('multi_vector', 0.5 * vectorFactor, vectors);
      return done(vectors[0]!.vector === 'dns' ? 'dns_flood' : 'udp_flood', 0.6 * vectorFactor, vectors);
    }
    reasons.push('no protocol breakdown from any source');
    return done('unknown', 0.2);
  }

  const udp = p.udp / sum;
  const tcp = p.tcp / sum;
  const icmp = p.icmp / sum;
  const syn = reading.tcpFlags?.syn;
  const synPerTcp = syn !== undefined ? ratio(syn, p.tcp) : undefined;
  const synFlood = synPerTcp !== undefined && synPerTcp >= CLASSIFY.synRatio;
  const mix = `udp ${pct(udp)}, tcp ${pct(tcp)}, icmp ${pct(icmp)}`;

  const components = [udp, tcp, icmp].filter((s) => s >= CLASSIFY.component).length;
  const udpVectors = udp >= CLASSIFY.component ? vectors : [];
  if (components >= 2 || udpVectors.length >= 2) {
    reasons.push(
      components >= 2
        ? `several protocols flood at once: ${mix}`
        : `several amplification vectors: ${udpVectors.map((v) => `${v.vector} ${pct(v.share)}`).join(', ')}`,
    );
    const explained = [udp, tcp, icmp]
      .sort((a, b) => b - a)
      .slice(0, 2)
      .reduce((a, b) => a + b, 0);
    return done('multi_vector', explained * (udpVectors.length > 0 ? vectorFactor : 1), udpVectors);
  }
  if (udp >= CLASSIFY.dominant) {
    if (udpVectors[0]?.vector === 'dns') {
      reasons.push(`${mix}; ${pct(udpVectors[0].share)} from source port 53: DNS reflection`);
      return done('dns_flood', udp * vectorFactor, udpVectors);
    }
    if (dnsQueries >= CLASSIFY.dstPortShare) {
      reasons.push(`${mix}; ${pct(dnsQueries)} to destination port 53: DNS query flood`);
      return done('dns_flood', udp * dnsQueries, udpVectors);
    }
    reasons.push(
      udpVectors.length > 0 ? `${mix}; ${udpVectors.map((v) => `${v.vector} ${pct(v.share)}`).join(', ')}` : mix,
    );
    return done('udp_flood', udp * vectorFactor, udpVectors);
  }
  if (tcp >= CLASSIFY.dominant) {
    if (synFlood) {
      reasons.push(`${mix}; ${pct(synPerTcp)} of TCP packets are SYNs`);
      return done('syn_flood', tcp * Math.min(1, synPerTcp * 2));
    }
    reasons.push(
      `${mix}; ${synPerTcp === undefined ? 'no TCP flag counts' : `only ${pct(synPerTcp)} SYNs`}: a TCP flood of another kind`,
    );
    return done('unknown', 0.5 * tcp);
  }
  if (icmp >= CLASSIFY.dominant) {
    reasons.push(mix);
    return done('icmp_flood', icmp);
  }
  reasons.push(`no protocol dominates: ${mix}`);
  return done('unknown', 0.3);
}

function total(p: { tcp: number; udp: number; icmp: number; other: number }): number {
  return p.tcp + p.udp + p.icmp + p.other;
}

function shareOf(list: { key: number; count: number }[], key: number): number {
  const sum = list.reduce((a, c) => a + c.count, 0);
  return ratio(
    list.filter((c) => c.key === key).reduce((a, c) => a + c.count, 0),
    sum,
  );
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}
