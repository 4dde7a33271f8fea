import type { Prefix } from './prefix.js';
import type { Vector } from './vectors.js';

// ── Traffic samples: what detectors emit ────────────────────────────────────────────────────────────────────────

export type TcpFlagName = 'fin' | 'syn' | 'rst' | 'psh' | 'ack' | 'urg' | 'ece' | 'cwr';

export interface Counted<K> {
  key: K;
  count: number;
}

export interface HttpBreakdown {
  /** The vhost/site the requests were for. */
  site: string;
  rps: number;
  statuses: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  topPaths?: Counted<string>[];
  topClients?: Counted<string>[];
  topAgents?: Counted<string>[];
  uniqueClients?: number;
}

/**
 * One detector's reading of one target over one window. Rates are per second over the window, already scaled
 * by the sampling rate for flow sources. Optional breakdowns are absent when the source cannot see them
 * (absent, not zero: a proc counter knows nothing of source ports).
 */
export interface Sample {
  /** Instance name of the detector that produced it (from the policy). */
  source: string;
  /** Detector kind: 'proc', 'flow', 'l7', or a plugin's own. */
  sourceKind: string;
  /** Stable key of what was measured: a prefix ("203.0.113.10/32"), "if:eth0", "site:shop.example". */
  target: string;
  /** The address mitigation would target, when the source knows it. */
  prefix?: Prefix;
  /** End of the window, ms since the epoch. */
  at: number;
  windowMs: number;
  direction: 'in' | 'out';
  pps: number;
  bps: number;
  /** Packets per second by IP protocol. */
  protocols?: { tcp: number; udp: number; icmp: number; other: number };
  /** Packets per second carrying each TCP flag. */
  tcpFlags?: Partial<Record<TcpFlagName, number>>;
  topSrcIps?: Counted<string>[];
  topSrcPorts?: Counted<number>[];
  topDstPorts?: Counted<number>[];
  /** Estimated distinct source addresses in the window. */
  sourceCount?: number;
  /** Mean and extremes of IP packet length in bytes. */
  packetLength?: { min: number; max: number; mean: number };
  /** Distinct IP TTLs seen and how concentrated they are, for spoofing hints. */
  ttl?: { distinct: number; topShare: number };
  connections?: number;
  http?: HttpBreakdown;
}

// ── Incidents: what the detection engine opens ──────────────────────────────────────────────────────────────────

export const ATTACK_FAMILIES = [
  'udp_flood',
  'syn_flood',
  'http_flood',
  'icmp_flood',
  'dns_flood',
  'multi_vector',
  'unknown',
] as const;
export type AttackFamily = (typeof ATTACK_FAMILIES)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * The reference agent's "Report Incident" body as JSON, the shape ft reads and writes at its edges (preview and
 * apply files, `--json`, events, webhooks): snake_case, addresses as text, times as ISO 8601. `target`, `vector`,
 * `top_src_ports` and `packet_length` are ft's additions (ft watches many targets, not one node). Inside core an
 * incident is the camelCase `Incident` of core/model (epoch ms, `Prefix`); the two convert at the edge only.
 */
export interface IncidentReport {
  id: string;
  target: string;
  state: 'open' | 'resolved';
  attack_family: AttackFamily;
  severity: Severity;
  /** Amplification vectors recognised by source-port signature, strongest first. */
  vector: Vector[];
  /** 0..1: how sure the classifier is of family and vector. */
  confidence: number;
  /** Current rate (the last window) and peaks since the incident opened. */
  pps: number;
  bps: number;
  peak_pps: number;
  peak_bps: number;
  protocol_breakdown: { tcp: number; udp: number; icmp: number; other?: number };
  tcp_flag_breakdown: Partial<Record<'SYN' | 'ACK' | 'RST' | 'FIN' | 'PSH' | 'URG', number>>;
  source_ip_count: number;
  top_src_ips: { ip: string; count: number }[];
  top_dst_ports: { port: number; count: number }[];
  top_src_ports: { port: number; count: number }[];
  packet_length?: { min: number; max: number };
  spoofing_detected: boolean;
  botnet_detected: boolean;
  /** IOCs (local file, threat-intel feeds) that packets of the attack matched; only where packets were captured. */
  ioc_matches?: IocMatchReport[];
  /** What a packet capture of the attack showed (ft's addition; `ft pcap show ID` has the whole analysis). */
  packet_evidence?: PacketEvidenceReport;
  /** The incident's capture: `ft pcap show|export ID`; the file exists once the incident has resolved. */
  pcap?: CaptureRef;
  /** For http_flood: the site and top paths/agents. */
  http?: HttpBreakdown;
  /** Detector instances that saw it. */
  sources: string[];
  started_at: string;
  updated_at: string;
  resolved_at?: string;
  /** ft: the policy host group the attack is on as a whole (the target is one of its members). */
  group?: string;
}

/** One item of the reference agent's `ioc_matches`: the IOC, the kind of condition it is, its text, packets matched. */
export interface IocMatchReport {
  ioc_id: string;
  kind: string;
  value: string;
  count: number;
  /** The IOC set it came from ("file:/etc/ft/ioc.yaml", a feed's name). */
  source?: string;
  name?: string;
}

/** What a packet capture of the attack showed, as the incident JSON carries it (lists capped at 20). */
export interface PacketEvidenceReport {
  /** Attack packets analysed so far. */
  packets: number;
  spoofing: 'spoofed' | 'not-spoofed' | 'unknown';
  /** Share of attack packets from sources whose hop count does not fit their address. */
  spoofed_share: number;
  spoofed_sources: string[];
  real_sources: string[];
  /** One line per fact the spoofing verdict rests on. */
  evidence: string[];
  signatures: { id: string; kind: 'botnet' | 'reflection'; packets: number; share: number; vector?: Vector }[];
}

/** An incident's capture (`ft pcap show|export ID`). */
export interface CaptureRef {
  id: string;
  /** The merged pcapng; it exists once the incident has resolved. */
  file: string;
}

// ── Rules: what the planner asks actions to install ─────────────────────────────────────────────────────────────

export const RULE_KINDS = ['flowspec', 'rtbh', 'divert', 'host-filter', 'shape'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** An inclusive range; a single value has min === max. */
export interface Range {
  min: number;
  max: number;
}

export type Fragment = 'dont-fragment' | 'is-fragment' | 'first-fragment' | 'last-fragment';

/** RFC 8955/8956 match components. Destination is mandatory: ft never installs a rule without one. */
export interface FlowSpecMatch {
  destination: Prefix;
  source?: Prefix;
  protocols?: number[];
  sourcePorts?: Range[];
  destinationPorts?: Range[];
  /** Packets must have every flag in `set` and none in `unset` (e.g. SYN floods: set [syn], unset [ack]). */
  tcpFlags?: { set: TcpFlagName[]; unset: TcpFlagName[] };
  packetLength?: Range[];
  fragment?: Fragment[];
  icmpType?: number[];
  icmpCode?: number[];
  dscp?: number[];
}

export type FlowSpecAction =
  | { type: 'discard' }
  | { type: 'rate-limit'; bytesPerSecond: number }
  | { type: 'redirect'; routeTarget: string }
  | { type: 'mark'; dscp: number };

/** What an on-node filter matches: the protected address plus optional narrowing. */
export interface HostMatch {
  destination: Prefix;
  sources?: Prefix[];
  protocol?: 'tcp' | 'udp' | 'icmp';
  sourcePorts?: Range[];
  destinationPorts?: Range[];
  tcpFlags?: { set: TcpFlagName[]; unset: TcpFlagName[] };
}

export type HostFilterAction =
  | { type: 'drop' }
  | { type: 'reject' }
  | { type: 'rate-limit'; packetsPerSecond: number; burst: number }
  | { type: 'hashlimit'; packetsPerSecond: number; burst: number; per: 'source' | 'destination' }
  | { type: 'connlimit'; maxConnections: number }
  | { type: 'syn-cookies' };

export type RuleId = string & { readonly __brand: 'RuleId' };

interface RuleCommon {
  /** Derived from content (tenant, kind, target, match, action): the same rule planned twice is one rule. */
  id: RuleId;
  tenant: string;
  /** The protected address or prefix this rule is about; always inside the policy's protected space. */
  target: Prefix;
  /** Escalation level that asked for it (0 for on-node rules). */
  level: number;
  ttlSeconds: number;
}

export interface FlowSpecRule extends RuleCommon {
  kind: 'flowspec';
  match: FlowSpecMatch;
  action: FlowSpecAction;
}

export interface RtbhRule extends RuleCommon {
  kind: 'rtbh';
  /** Always includes 65535:666 (RFC 7999); the policy may add its upstreams' own blackhole communities. */
  communities: string[];
  noExport: boolean;
  /** Discard next hop the receivers route to null (e.g. 192.0.2.1 / 100::1); adapters may override. */
  nextHop?: string;
}

export interface DivertRule extends RuleCommon {
  kind: 'divert';
  /** Scrubber instance name from the policy. */
  provider: string;
}

export interface HostFilterRule extends RuleCommon {
  kind: 'host-filter';
  match: HostMatch;
  action: HostFilterAction;
}

export interface ShapeRule extends RuleCommon {
  kind: 'shape';
  match: HostMatch;
  bitsPerSecond: number;
}

export type Rule = FlowSpecRule | RtbhRule | DivertRule | HostFilterRule | ShapeRule;

// ── What actions report back ───────────────────────────────────────────────────────────────────────────────────

/** Exactly what an action will run for a rule: preview prints `text`; argv/payload is what apply really sends. */
export interface RenderedCommand {
  adapter: string;
  format: 'argv' | 'exabgp' | 'grpc' | 'bird-config' | 'vtysh' | 'nft' | 'http' | 'text';
  text: string;
  argv?: string[];
  payload?: unknown;
}

export interface Applied {
  ruleId: RuleId;
  /** 'pending' for slow vendor operations still being carried out (polled to completion by the executor). */
  state: 'installed' | 'pending';
  nativeId?: string;
  detail?: string;
}

/** Something an action found installed, for reconcile. `ruleId` is set when ft's tag on it could be read. */
export interface InstalledRef {
  ruleId?: RuleId;
  nativeId: string;
  description: string;
}

export interface Health {
  status: 'ok' | 'degraded' | 'down';
  detail?: string;
}

/** Per-rule counters, for collateral-damage checks: what a rule matched, where the mechanism can count it. */
export interface RuleCounters {
  ruleId: RuleId;
  /** Packets the rule acted on (dropped, rejected, over its limit, answered with a cookie). */
  packets: number;
  bytes: number;
  /**
   * Packets to the rule's destination that went through it without being acted on, counted at the same place and
   * read at the same instant as `packets`: exactly what the rule let reach its target. Where present the collateral
   * check uses it directly (a difference of two rates measured apart is useless when the attack dwarfs the
   * legitimate traffic).
   */
  passed?: number;
}
