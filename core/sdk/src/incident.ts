import type {
  AttackFamily,
  CaptureRef,
  HttpBreakdown,
  IncidentReport,
  IocMatchReport,
  PacketEvidenceReport,
  Severity,
  TcpFlagName,
} from './model.js';
import { Prefix } from './prefix.js';
import { isVector, vectorsBySourcePort, type Vector } from './vectors.js';

/**
 * An incident inside ft: what the detection engine opened, in core's own terms (camelCase, epoch ms, `Prefix`).
 * The reference agent's snake_case JSON (`IncidentReport`) exists only at the edges — files read by preview, every
 * `--json`, events, webhooks — through `toReport` / `fromReport` (here, so the event codecs use the same mapping).
 */
export interface Incident {
  id: string;
  target: Prefix;
  state: 'open' | 'resolved';
  family: AttackFamily;
  severity: Severity;
  /**
   * Amplification vectors, strongest first. Decided once: by the classifier, or at the edge from a report's source
   * ports by the same rule (`vectorsBySourcePort`). Nothing downstream derives them again.
   */
  vectors: Vector[];
  /** 0..1: how sure the classifier is of family and vectors. */
  confidence: number;
  /** Current rates (the last window) and peaks since the incident opened. */
  pps: number;
  bps: number;
  peakPps: number;
  peakBps: number;
  /** Percent of the packets by IP protocol. */
  protocols: { tcp: number; udp: number; icmp: number; other?: number };
  /** Packets per second carrying each TCP flag. */
  tcpFlags: Partial<Record<TcpFlagName, number>>;
  /** Distinct source addresses seen (estimated). */
  sourceCount: number;
  /** The busiest sources, most active first; only parseable addresses ever get here. */
  topSources: { address: Prefix; count: number }[];
  topDstPorts: { port: number; count: number }[];
  topSrcPorts: { port: number; count: number }[];
  packetLength?: { min: number; max: number };
  spoofed: boolean;
  botnet: boolean;
  /** IOCs (local file, threat-intel feeds) packets of the attack matched; only where packets are captured. */
  iocMatches?: IocMatch[];
  /** What a packet capture of the attack showed (`ft pcap show ID` has the whole analysis). */
  packetEvidence?: PacketEvidence;
  /** The incident's capture. */
  pcap?: CaptureRef;
  /** For http_flood: the site and top paths/agents. */
  http?: HttpBreakdown;
  /** Detector instances that saw it. */
  detectors: string[];
  /**
   * Set when the attack is on a policy host group as a whole: the group's name. The target is then one member of
   * it (each member has its own incident), and the attack is group-wide, not on that member alone.
   */
  group?: string;
  startedAt: number;
  updatedAt: number;
  resolvedAt?: number;
}

/** One IOC that packets of the attack matched. */
export interface IocMatch {
  iocId: string;
  /** The kind of its most specific condition: cidr, port, bytes, protocol. */
  kind: string;
  /** Its conditions as text ("src 198.51.100.0/24 udp"). */
  value: string;
  /** Packets that matched. */
  count: number;
  /** The IOC set it came from ("file:/etc/ft/ioc.yaml", a feed's name). */
  source?: string;
  name?: string;
}

/** The verdicts of a packet capture of the attack (lists capped: the capture's record has them all). */
export interface PacketEvidence {
  /** Attack packets analysed so far. */
  packets: number;
  spoofing: 'spoofed' | 'not-spoofed' | 'unknown';
  /** Share of attack packets from sources whose hop count does not fit their address. */
  spoofedShare: number;
  spoofedSources: Prefix[];
  /** Sources whose hop count is what their address showed before the attack. */
  realSources: Prefix[];
  /** One line per fact the spoofing verdict rests on. */
  evidence: string[];
  /** Botnet and reflection signatures found in the payloads; a reflection names its vector when it has one. */
  signatures: { id: string; kind: 'botnet' | 'reflection'; packets: number; share: number; vector?: Vector }[];
}

/** What a detector that captures packets reports about an open incident (Detector.observe). */
export interface IncidentEvidence {
  iocMatches?: IocMatch[];
  packetEvidence?: PacketEvidence;
  pcap?: CaptureRef;
}

const hostText = (p: Prefix) => (p.isHost ? p.address : p.toString());

export function iocMatchToReport(m: IocMatch): IocMatchReport {
  return {
    ioc_id: m.iocId,
    kind: m.kind,
    value: m.value,
    count: m.count,
    ...(m.source !== undefined ? { source: m.source } : {}),
    ...(m.name !== undefined ? { name: m.name } : {}),
  };
}

export function iocMatchFromReport(m: IocMatchReport): IocMatch {
  return {
    iocId: m.ioc_id,
    kind: m.kind,
    value: m.value,
    count: m.count,
    ...(m.source !== undefined ? { source: m.source } : {}),
    ...(m.name !== undefined ? { name: m.name } : {}),
  };
}

export function packetEvidenceToReport(e: PacketEvidence): PacketEvidenceReport {
  return {
    packets: e.packets,
    spoofing: e.spoofing,
    spoofed_share: e.spoofedShare,
    spoofed_sources: e.spoofedSources.map(hostText),
    real_sources: e.realSources.map(hostText),
    evidence: [...e.evidence],
    signatures: e.signatures.map((g) => ({ ...g })),
  };
}

export function packetEvidenceFromReport(e: PacketEvidenceReport): PacketEvidence {
  return {
    packets: e.packets,
    spoofing: e.spoofing,
    spoofedShare: e.spoofed_share,
    spoofedSources: addresses(e.spoofed_sources),
    realSources: addresses(e.real_sources),
    evidence: [...e.evidence],
    signatures: e.signatures.map(({ vector, ...g }) => ({ ...g, ...(vector && isVector(vector) ? { vector } : {}) })),
  };
}

/** Addresses in their order; one that does not parse is dropped (it never becomes part of a rule). */
function addresses(list: readonly string[]): Prefix[] {
  const out: Prefix[] = [];
  for (const ip of list) {
    try {
      out.push(Prefix.parse(String(ip)));
    } catch {
      // Garbled: left out.
    }
  }
  return out;
}

const FLAG_TO_REPORT: Partial<Record<TcpFlagName, keyof IncidentReport['tcp_flag_breakdown']>> = {
  syn: 'SYN',
  ack: 'ACK',
  rst: 'RST',
  fin: 'FIN',
  psh: 'PSH',
  urg: 'URG',
};
const FLAG_FROM_REPORT = new Map(Object.entries(FLAG_TO_REPORT).map(([k, v]) => [v as string, k as TcpFlagName]));

const iso = (ms: number) => new Date(ms).toISOString();

/** The reference JSON of an incident (for `--json`, events, webhooks, files). */
export function toReport(i: Incident): IncidentReport {
  const flags: IncidentReport['tcp_flag_breakdown'] = {};
  for (const [k, v] of Object.entries(i.tcpFlags) as [TcpFlagName, number][]) {
    const key = FLAG_TO_REPORT[k];
    if (key) flags[key] = v;
  }
  const r: IncidentReport = {
    id: i.id,
    target: i.target.toString(),
    state: i.state,
    attack_family: i.family,
    severity: i.severity,
    vector: [...i.vectors],
    confidence: i.confidence,
    pps: i.pps,
    bps: i.bps,
    peak_pps: i.peakPps,
    peak_bps: i.peakBps,
    protocol_breakdown: { ...i.protocols },
    tcp_flag_breakdown: flags,
    source_ip_count: i.sourceCount,
    top_src_ips: i.topSources.map((s) => ({
      ip: s.address.isHost ? s.address.address : s.address.toString(),
      count: s.count,
    })),
    top_dst_ports: i.topDstPorts.map((p) => ({ ...p })),
    top_src_ports: i.topSrcPorts.map((p) => ({ ...p })),
    spoofing_detected: i.spoofed,
    botnet_detected: i.botnet,
    sources: [...i.detectors],
    started_at: iso(i.startedAt),
    updated_at: iso(i.updatedAt),
  };
  if (i.packetLength) r.packet_length = { ...i.packetLength };
  if (i.iocMatches) r.ioc_matches = i.iocMatches.map(iocMatchToReport);
  if (i.packetEvidence) r.packet_evidence = packetEvidenceToReport(i.packetEvidence);
  if (i.pcap) r.pcap = { ...i.pcap };
  if (i.http) r.http = i.http;
  if (i.resolvedAt !== undefined) r.resolved_at = iso(i.resolvedAt);
  if (i.group !== undefined) r.group = i.group;
  return r;
}

/**
 * Addresses as `Prefix`, linear in the list: unparseable entries are dropped (a hostile or garbled address in a
 * report never becomes part of a rule), repeats merged, most active first.
 */
export function parseSources(list: readonly { ip: string; count: number }[]): Incident['topSources'] {
  const seen = new Map<string, { address: Prefix; count: number }>();
  for (const s of list) {
    let address: Prefix;
    try {
      address = Prefix.parse(String(s.ip));
    } catch {
      continue;
    }
    const key = address.toString();
    const had = seen.get(key);
    if (had) had.count = Math.max(had.count, s.count);
    else seen.set(key, { address, count: s.count });
  }
  return [...seen.values()].sort((a, b) => b.count - a.count || a.address.compare(b.address));
}

/**
 * An incident from its reference JSON (already shape-checked: see core/plan/input.ts). A report without `vector`
 * gets the vectors its source ports show, by the classifier's own rule; a report that names them keeps them.
 */
export function fromReport(r: IncidentReport, target: Prefix = Prefix.parse(r.target)): Incident {
  const tcpFlags: Incident['tcpFlags'] = {};
  for (const [k, v] of Object.entries(r.tcp_flag_breakdown ?? {})) {
    const f = FLAG_FROM_REPORT.get(k);
    if (f && typeof v === 'number') tcpFlags[f] = v;
  }
  const vectors =
    r.vector.length > 0 ? [...new Set(r.vector)] : vectorsBySourcePort(r.top_src_ports).map((m) => m.vector);
  const i: Incident = {
    id: r.id,
    target,
    state: r.state,
    family: r.attack_family,
    severity: r.severity,
    vectors,
    confidence: r.confidence,
    pps: r.pps,
    bps: r.bps,
    peakPps: r.peak_pps,
    peakBps: r.peak_bps,
    protocols: { ...r.protocol_breakdown },
    tcpFlags,
    sourceCount: r.source_ip_count,
    topSources: parseSources(r.top_src_ips),
    topDstPorts: r.top_dst_ports.map((p) => ({ port: p.port, count: p.count })),
    topSrcPorts: r.top_src_ports.map((p) => ({ port: p.port, count: p.count })),
    spoofed: r.spoofing_detected,
    botnet: r.botnet_detected,
    detectors: [...r.sources],
    startedAt: Date.parse(r.started_at),
    updatedAt: Date.parse(r.updated_at),
  };
  if (r.packet_length) i.packetLength = { ...r.packet_length };
  if (r.ioc_matches) i.iocMatches = r.ioc_matches.map(iocMatchFromReport);
  if (r.packet_evidence) i.packetEvidence = packetEvidenceFromReport(r.packet_evidence);
  if (r.pcap) i.pcap = { id: r.pcap.id, file: r.pcap.file };
  if (r.http) i.http = r.http;
  if (r.resolved_at !== undefined) i.resolvedAt = Date.parse(r.resolved_at);
  if (r.group !== undefined) i.group = r.group;
  return i;
}

/** True when the JSON is the old (reference) shape: journals written before the internal model are read through it. */
export function isReport(json: unknown): json is IncidentReport {
  return !!json && typeof json === 'object' && 'attack_family' in json;
}
