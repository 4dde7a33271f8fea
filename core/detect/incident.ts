import { createHash } from 'node:crypto';
import type { IncidentEvidence, Prefix, Severity, TcpFlagName } from '@ft/sdk';
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
  /** Reported by detectors that capture packets (Detector.observe). */
  evidence?: IncidentEvidence;
  /** The policy host group whose aggregate this incident's target is a member of. */
  group?: string;
}

/**
 * Packet evidence decides where it has a verdict: a capture that judged the sources beats the classifier's hint
 * from TTL summaries; where the capture could not tell ('unknown'), the hint stands. A botnet signature in the
 * packets adds to the hint, the lack of one takes nothing away.
 */
function verdicts(f: IncidentFacts): { spoofed: boolean; botnet: boolean } {
  const p = f.evidence?.packetEvidence;
  const hint = f.classification;
  if (!p) return { spoofed: hint.spoofing, botnet: hint.botnet };
  const spoofed = p.spoofing === 'unknown' ? hint.spoofing : p.spoofing === 'spoofed';
  return { spoofed, botnet: hint.botnet || p.signatures.some((s) => s.kind === 'botnet') };
}

/**
 * The classifier's vectors, then those a capture confirmed by the answers' payload (memcached STAT, NTP monlist):
 * a source that sees no ports (proc) names none, its capture does. Still decided once, here.
 */
function vectorsOf(f: IncidentFacts): Incident['vectors'] {
  const confirmed = (f.evidence?.packetEvidence?.signatures ?? []).flatMap((s) =>
    s.kind === 'reflection' && s.vector ? [s.vector] : [],
  );
  const known = f.classification.vector;
  return [...known, ...confirmed.filter((v, i) => !known.includes(v) && confirmed.indexOf(v) === i)];
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
    vectors: vectorsOf(f),
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
    ...verdicts(f),
    detectors: [...f.sources].sort(),
    startedAt: f.startedAt,
    updatedAt: f.updatedAt,
  };
  if (f.evidence?.iocMatches) incident.iocMatches = f.evidence.iocMatches.map((m) => ({ ...m }));
  if (f.evidence?.packetEvidence) incident.packetEvidence = { ...f.evidence.packetEvidence };
  if (f.evidence?.pcap) incident.pcap = { ...f.evidence.pcap };
  if (a.packetLength) incident.packetLength = { min: a.packetLength.min, max: a.packetLength.max };
  if (a.http) incident.http = a.http;
  if (f.resolvedAt !== undefined) incident.resolvedAt = f.resolvedAt;
  if (f.group !== undefined) incident.group = f.group;
  return incident;
}
