import { createHash } from 'node:crypto';
import type { Incident, Prefix, Severity, TcpFlagName } from '@ft/sdk';
import type { Classification } from './classify.js';
import type { Reading } from './reading.js';

const FLAG_KEYS: Partial<Record<TcpFlagName, keyof Incident['tcp_flag_breakdown']>> = {
  syn: 'SYN',
  ack: 'ACK',
  rst: 'RST',
  fin: 'FIN',
  psh: 'PSH',
  urg: 'URG',
};

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Stable, unique per target and start time; short enough for log lines and rule descriptions. */
export function incidentId(target: string, startedAt: number): string {
  return `inc-${startedAt.toString(36)}-${createHash('sha256').update(`${target}|${startedAt}`).digest('hex').slice(0, 8)}`;
}

export interface IncidentFacts {
  id: string;
  target: Prefix;
  state: 'open' | 'resolved';
  startedAt: number;
  updatedAt: number;
  resolvedAt?: number;
  severity: Severity;
  classification: Classification;
  /** The current window (rates now). */
  current: Reading;
  /** The newest window in which the target was over threshold: what the attack looks like. */
  attack: Reading;
  peakPps: number;
  peakBps: number;
  sources: string[];
}

/** The reference agent's incident body (plus ft's additions) from what the engine knows. */
export function toIncident(f: IncidentFacts): Incident {
  const a = f.attack;
  const p = a.protocols;
  const sum = p ? p.tcp + p.udp + p.icmp + p.other : 0;
  const pct = (n: number) => (sum > 0 ? round1((n / sum) * 100) : 0);
  const flags: Incident['tcp_flag_breakdown'] = {};
  for (const [k, v] of Object.entries(a.tcpFlags ?? {}) as [TcpFlagName, number][]) {
    const key = FLAG_KEYS[k];
    if (key) flags[key] = Math.round(v);
  }
  const incident: Incident = {
    id: f.id,
    target: f.target,
    state: f.state,
    attack_family: f.classification.family,
    severity: f.severity,
    vector: [...f.classification.vector],
    confidence: f.classification.confidence,
    pps: Math.round(f.current.pps),
    bps: Math.round(f.current.bps),
    peak_pps: Math.round(f.peakPps),
    peak_bps: Math.round(f.peakBps),
    protocol_breakdown: p
      ? { tcp: pct(p.tcp), udp: pct(p.udp), icmp: pct(p.icmp), other: pct(p.other) }
      : { tcp: 0, udp: 0, icmp: 0 },
    tcp_flag_breakdown: flags,
    source_ip_count: a.sourceCount ?? a.topSrcIps?.length ?? 0,
    top_src_ips: (a.topSrcIps ?? []).map((c) => ({ ip: c.key, count: Math.round(c.count) })),
    top_dst_ports: (a.topDstPorts ?? []).map((c) => ({ port: c.key, count: Math.round(c.count) })),
    top_src_ports: (a.topSrcPorts ?? []).map((c) => ({ port: c.key, count: Math.round(c.count) })),
    spoofing_detected: f.classification.spoofing,
    botnet_detected: f.classification.botnet,
    sources: [...f.sources].sort(),
    started_at: new Date(f.startedAt).toISOString(),
    updated_at: new Date(f.updatedAt).toISOString(),
  };
  if (a.packetLength) incident.packet_length = { min: a.packetLength.min, max: a.packetLength.max };
  if (a.http) incident.http = a.http;
  if (f.resolvedAt !== undefined) incident.resolved_at = new Date(f.resolvedAt).toISOString();
  return incident;
}
