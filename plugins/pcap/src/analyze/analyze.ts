import { Prefix } from '@ft/sdk';
import { decodeFrame, flagNames, TCP, type Packet, type SkipReason } from '../format/packet.js';
import { forEachFrame, type CaptureInfo } from '../format/read.js';
import type { IocMatch, IocMatcher } from '../ioc/matcher.js';
import { matchSignatures, SIGNATURES, type Signature, type SignatureHit } from './signatures.js';
import { HopTable, judgeSpoofing, SPOOFING, type SpoofingVerdict } from './spoofing.js';

export interface AnalyzeOptions {
  /** Only packets to this prefix are the attack (the rest is counted, not judged). Default: every packet. */
  target?: Prefix;
  /** Packets before this time (ms) are pre-attack: they teach the hop-count table and are not the attack. */
  attackStart?: number;
  matcher?: IocMatcher;
  signatures?: readonly Signature[];
  /** Length of the top lists (default 10). */
  top?: number;
  /** How many judged sources the result lists (default 50; counts and shares always cover them all). */
  listSources?: number;
  /** A capture still being written: stop at a partial last record instead of failing. */
  partialTail?: boolean;
  /** Hop counts learnt before (ft's peacetime learner); the capture's pre-attack packets are added to a copy. */
  table?: HopTable;
  /** The origin AS a source address claims (GeoIP/ASN data): TTLs are then also grouped per claimed AS. */
  originAs?: (address: string) => number | undefined;
}

export interface Counted<K extends string> {
  packets: number;
  bytes: number;
  key: K;
}

export interface Analysis {
  format: CaptureInfo['format'];
  comments: string[];
  frames: number;
  /** Frames that were not IP, too short, or of a link type ft does not decode. */
  skipped: Record<SkipReason, number>;
  partialTailAt?: number;
  first?: string;
  last?: string;
  target?: string;
  attackStart?: string;
  preAttack: { packets: number };
  attack: { packets: number; bytes: number; seconds: number; pps: number };
  /** Percent of attack packets. */
  protocol_breakdown: { tcp: number; udp: number; icmp: number; other: number };
  /** Attack packets carrying each flag. */
  tcp_flag_breakdown: Record<'SYN' | 'ACK' | 'RST' | 'FIN' | 'PSH' | 'URG', number>;
  tcp_flag_combinations: { flags: string; packets: number }[];
  top_src_ips: { ip: string; packets: number; bytes: number }[];
  top_dst_ips: { ip: string; packets: number; bytes: number }[];
  top_src_ports: { port: number; packets: number }[];
  top_dst_ports: { port: number; packets: number }[];
  source_ip_count: number;
  ttl_histogram: { ttl: number; packets: number }[];
  spoofing: SpoofingVerdict;
  signatures: SignatureHit[];
  ioc_matches: IocMatch[];
  spoofing_detected: boolean;
  botnet_detected: boolean;
}

/** The attack time and target ft writes into its captures' section comment (see captureComment). */
export function parseCaptureComment(comments: string[]): { incident?: string; target?: string; attackStart?: number } {
  for (const c of comments) {
    const m = /^ft incident (\S+) target (\S+) attack-start (\S+)/.exec(c);
    if (m) {
      const at = Date.parse(m[3]!);
      return { incident: m[1]!, target: m[2]!, ...(Number.isFinite(at) ? { attackStart: at } : {}) };
    }
  }
  return {};
}

export function captureComment(incident: string, target: string, attackStart: number): string {
  return `ft incident ${incident} target ${target} attack-start ${new Date(attackStart).toISOString()}`;
}

function topOf<K extends string | number>(m: Map<K, { packets: number; bytes: number }>, n: number) {
  return [...m].sort((a, b) => b[1].packets - a[1].packets || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, n);
}

function add<K>(m: Map<K, { packets: number; bytes: number }>, k: K, bytes: number): void {
  const e = m.get(k);
  if (e) {
    e.packets++;
    e.bytes += bytes;
  } else m.set(k, { packets: 1, bytes });
}

export interface DecodedCapture {
  info: CaptureInfo;
  packets: Packet[];
  skipped: Record<SkipReason, number>;
}

/** Frames decoded to packets; frames that are not IP are counted by reason. Throws CaptureError. */
export function decodeCapture(buf: Buffer, options: { partialTail?: boolean } = {}): DecodedCapture {
  const skipped: Record<SkipReason, number> = { 'not-ip': 0, truncated: 0, 'unknown-link': 0 };
  const packets: Packet[] = [];
  const info = forEachFrame(
    buf,
    (f) => {
      const p = decodeFrame(f);
      if (typeof p === 'string') skipped[p]++;
      else packets.push(p);
    },
    options.partialTail ? { partialTail: true } : {},
  );
  return { info, packets, skipped };
}

/**
 * Everything ft reads from a capture: breakdowns, top talkers, the TCP flag mix, TTLs, the spoofing verdict,
 * botnet and reflection signatures, IOC matches. Pure: bytes (and options) in, the same result out.
 * Throws CaptureError (with the byte offset) on a malformed file. The target and attack start default to what
 * ft's section comment says (its own incident captures), else every packet is the attack.
 */
export function analyzeCapture(buf: Buffer, options: AnalyzeOptions = {}): Analysis {
  return analyzeCaptures([buf], options);
}

/** Several captures (a ring snapshot and the attack capture of each interface) analysed as one, in time order. */
export function analyzeCaptures(bufs: readonly Buffer[], options: AnalyzeOptions = {}): Analysis {
  const decoded = bufs.map((b) => decodeCapture(b, options.partialTail ? { partialTail: true } : {}));
  const packets = decoded.flatMap((d) => d.packets);
  if (decoded.length > 1) packets.sort((a, b) => a.time - b.time);
  const skipped: Record<SkipReason, number> = { 'not-ip': 0, truncated: 0, 'unknown-link': 0 };
  for (const d of decoded) for (const k of Object.keys(skipped) as SkipReason[]) skipped[k] += d.skipped[k];
  const comments = decoded.flatMap((d) => d.info.comments);
  const fromComment = parseCaptureComment(comments);
  let target = options.target;
  if (!target && fromComment.target) {
    try {
      target = Prefix.parse(fromComment.target);
    } catch {
      // A comment someone else wrote: not ft's, so no target from it.
    }
  }
  const attackStart = options.attackStart ?? fromComment.attackStart;
  const partial = decoded.find((d) => d.info.partialTailAt !== undefined)?.info.partialTailAt;
  return analyzePackets(
    packets,
    { ...options, ...(target ? { target } : {}), ...(attackStart !== undefined ? { attackStart } : {}) },
    {
      format: decoded[0]?.info.format ?? 'pcapng',
      comments,
      frames: decoded.reduce((n, d) => n + d.info.frames, 0),
      skipped,
      ...(partial !== undefined ? { partialTailAt: partial } : {}),
    },
  );
}

export function analyzePackets(
  packets: readonly Packet[],
  options: AnalyzeOptions,
  file: Pick<Analysis, 'format' | 'comments' | 'frames' | 'skipped' | 'partialTailAt'>,
): Analysis {
  const n = options.top ?? 10;
  const table = options.table ? options.table.clone() : new HopTable();
  const attack: Packet[] = [];
  const target = options.target;
  let pre = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const p of packets) {
    if (p.time < first) first = p.time;
    if (p.time > last) last = p.time;
    if (options.attackStart !== undefined && p.time < options.attackStart) {
      // Peacetime: what every source looked like before the attack (anything arriving, not only to the target);
      // not the last moments before it, which hold the flood's onset.
      if (p.time < options.attackStart - SPOOFING.onsetMs) table.learn(p);
      pre++;
      continue;
    }
    if (target && !target.contains(Prefix.parse(p.dst))) continue;
    attack.push(p);
  }
  const protocols = { tcp: 0, udp: 0, icmp: 0, other: 0 };
  const flags = { SYN: 0, ACK: 0, RST: 0, FIN: 0, PSH: 0, URG: 0 };
  const combos = new Map<string, { packets: number; bytes: number }>();
  const srcs = new Map<string, { packets: number; bytes: number }>();
  const dsts = new Map<string, { packets: number; bytes: number }>();
  const srcPorts = new Map<number, { packets: number; bytes: number }>();
  const dstPorts = new Map<number, { packets: number; bytes: number }>();
  const ttls = new Map<number, { packets: number; bytes: number }>();
  let bytes = 0;
  let aFirst = Infinity;
  let aLast = -Infinity;
  for (const p of attack) {
    bytes += p.ipLength;
    if (p.time < aFirst) aFirst = p.time;
    if (p.time > aLast) aLast = p.time;
    if (p.protocol === 6) protocols.tcp++;
    else if (p.protocol === 17) protocols.udp++;
    else if (p.protocol === 1 || p.protocol === 58) protocols.icmp++;
    else protocols.other++;
    if (p.tcpFlags !== undefined) {
      const f = p.tcpFlags;
      if (f & TCP.syn) flags.SYN++;
      if (f & TCP.ack) flags.ACK++;
      if (f & TCP.rst) flags.RST++;
      if (f & TCP.fin) flags.FIN++;
      if (f & TCP.psh) flags.PSH++;
      if (f & TCP.urg) flags.URG++;
      add(combos, flagNames(f), p.ipLength);
    }
    add(srcs, p.src, p.ipLength);
    add(dsts, p.dst, p.ipLength);
    if (p.srcPort !== undefined) add(srcPorts, p.srcPort, p.ipLength);
    if (p.dstPort !== undefined) add(dstPorts, p.dstPort, p.ipLength);
    add(ttls, p.ttl, p.ipLength);
  }
  const total = attack.length;
  const pct = (v: number) => (total > 0 ? Math.round((v / total) * 1000) / 10 : 0);
  const spoofing = judgeSpoofing(attack, table, options.originAs);
  const listSources = options.listSources ?? 50;
  const signatures = matchSignatures(attack, options.signatures ?? SIGNATURES);
  const iocMatches = options.matcher ? options.matcher.count(attack) : [];
  const seconds = total > 1 ? (aLast - aFirst) / 1000 : 0;
  const result: Analysis = {
    ...file,
    preAttack: { packets: pre },
    attack: {
      packets: total,
      bytes,
      seconds: Math.round(seconds * 1000) / 1000,
      pps: seconds > 0 ? Math.round(total / seconds) : 0,
    },
    protocol_breakdown: {
      tcp: pct(protocols.tcp),
      udp: pct(protocols.udp),
      icmp: pct(protocols.icmp),
      other: pct(protocols.other),
    },
    tcp_flag_breakdown: flags,
    tcp_flag_combinations: topOf(combos, n).map(([flags, c]) => ({ flags, packets: c.packets })),
    top_src_ips: topOf(srcs, n).map(([ip, c]) => ({ ip, packets: c.packets, bytes: c.bytes })),
    top_dst_ips: topOf(dsts, n).map(([ip, c]) => ({ ip, packets: c.packets, bytes: c.bytes })),
    top_src_ports: topOf(srcPorts, n).map(([port, c]) => ({ port, packets: c.packets })),
    top_dst_ports: topOf(dstPorts, n).map(([port, c]) => ({ port, packets: c.packets })),
    source_ip_count: srcs.size,
    ttl_histogram: [...ttls].map(([ttl, c]) => ({ ttl, packets: c.packets })).sort((a, b) => a.ttl - b.ttl),
    spoofing: { ...spoofing, sources: spoofing.sources.slice(0, listSources) },
    signatures,
    ioc_matches: iocMatches,
    spoofing_detected: spoofing.verdict === 'spoofed',
    botnet_detected: signatures.some((s) => s.kind === 'botnet'),
  };
  if (Number.isFinite(first)) result.first = new Date(first).toISOString();
  if (Number.isFinite(last)) result.last = new Date(last).toISOString();
  if (target) result.target = target.toString();
  if (options.attackStart !== undefined) result.attackStart = new Date(options.attackStart).toISOString();
  return result;
}
