import { createHash } from 'node:crypto';
import type { Prefix, Severity, TcpFlagName } from '@ft/sdk';
import { parseSources, type Incident } from '../model/incident.js';
import type { Classification } from './classify.js';
import type { Reading } from './reading.js';

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

/** The incident as core holds it, from what the engine knows (the reference JSON is `toReport` of it, at the edge). */
export function toIncident(f: IncidentFacts): Incident {
  const a = f.attack;
  const p = a.protocols;
  const sum = p ? p.tcp + p.udp + p.icmp + p.other : 0;
  const pct = (n: number) => (sum > 0 ? round1((n / sum) * 100) : 0);
  const tcpFlags: Incident['tcpFlags'] = {};
  for (const [k, v] of Object.entries(a.tcpFlags ?? {}) as [TcpFlagName, number][]) tcpFlags[k] = Math.round(v);
  const incident: Incident = {
    id: f.id,
    target: f.target,
    state: f.state,
    family: f.classification.family,
    severity: f.severity,
    vectors: [...f.classification.vector],
    confidence: f.classification.confidence,
    pps: Math.round(f.current.pps),
    bps: Math.round(f.current.bps),
    peakPps: Math.round(f.peakPps),
    peakBps: Math.round(f.peakBps),
    protocols: p
      ? { tcp: pct(p.tcp), udp: pct(p.udp), icmp: pct(p.icmp), other: pct(p.other) }
      : { tcp: 0, udp: 0, icmp: 0 },
    tcpFlags,
    sourceCount: a.sourceCount ?? a.topSrcIps?.length ?? 0,
    topSources: parseSources((a.topSrcIps ?? []).map((c) => ({ ip: c.key, count: Math.round(c.count) }))),
    topDstPorts: (a.topDstPorts ?? []).map((c) => ({ port: c.key, count: Math.round(c.count) })),
    topSrcPorts: (a.topSrcPorts ?? []).map((c) => ({ port: c.key, count: Math.round(c.count) })),
    spoofed: f.classification.spoofing,
    botnet: f.classification.botnet,
    detectors: [...f.sources].sort(),
    startedAt: f.startedAt,
    updatedAt: f.updatedAt,
  };
  if (a.packetLength) incident.packetLength = { min: a.packetLength.min, max: a.packetLength.max };
  if (a.http) incident.http = a.http;
  if (f.resolvedAt !== undefined) incident.resolvedAt = f.resolvedAt;
  return incident;
}
