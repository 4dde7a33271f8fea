import {
  IP_PROTOCOLS,
  Prefix,
  VECTORS,
  isVector,
  type FlowSpecMatch,
  type HostMatch,
  type Range,
  type Vector,
} from '@ft/sdk';
import type { Incident } from '../model/incident.js';

/**
 * Matches derived from the incident. Only what the incident shows goes into a match: a rule narrower than the
 * attack lets it through, a rule wider than the attack drops legitimate traffic.
 */

/**
 * The incident's vectors in a stable order (rule content must not depend on which vector was strongest). They were
 * decided once, by the classifier or at the edge; the planner never guesses them again from ports.
 */
export function vectorsOf(incident: Incident): Vector[] {
  return incident.vectors.length > 1 ? [...new Set(incident.vectors)].filter(isVector).sort() : incident.vectors;
}

/** Families whose packets the vector table describes (reflection arrives as UDP from the reflector's port). */
const VECTOR_FAMILIES = new Set(['udp_flood', 'dns_flood', 'multi_vector', 'unknown']);

export function usesVectors(incident: Incident): boolean {
  return VECTOR_FAMILIES.has(incident.family) && vectorsOf(incident).length > 0;
}

function ranges(ports: Iterable<number>): Range[] {
  return [...new Set(ports)].sort((a, b) => a - b).map((p) => ({ min: p, max: p }));
}

/** Destination ports carrying at least 10% of the attack, the most hit first capped at 4. */
function mainDestinationPorts(incident: Incident): number[] {
  const total = incident.topDstPorts.reduce((s, p) => s + p.count, 0);
  return incident.topDstPorts
    .filter((p) => total > 0 && p.count / total >= 0.1 && Number.isInteger(p.port) && p.port >= 0 && p.port <= 65535)
    .sort((a, b) => b.count - a.count || a.port - b.port)
    .slice(0, 4)
    .map((p) => p.port);
}

export function flowspecMatch(incident: Incident, destination: Prefix): FlowSpecMatch {
  const match: FlowSpecMatch = { destination };
  const icmp = destination.family === 4 ? IP_PROTOCOLS.icmp : IP_PROTOCOLS.icmpv6;
  if (usesVectors(incident)) {
    const vectors = vectorsOf(incident);
    match.protocols = [IP_PROTOCOLS.udp];
    match.sourcePorts = ranges(vectors.flatMap((v) => VECTORS[v].sourcePorts));
    const mins = vectors.map((v) => (VECTORS[v] as { minPacketLength?: number }).minPacketLength);
    // Reflected answers are large: matching only those spares small legitimate replies from the same port.
    if (mins.every((m) => m !== undefined)) match.packetLength = [{ min: Math.min(...mins), max: 65535 }];
    else if (incident.packetLength) match.packetLength = [{ ...incident.packetLength }];
    return match;
  }
  switch (incident.family) {
    case 'syn_flood':
      match.protocols = [IP_PROTOCOLS.tcp];
      match.tcpFlags = { set: ['syn'], unset: ['ack'] };
      break;
    case 'icmp_flood':
      match.protocols = [icmp];
      break;
    case 'dns_flood':
      match.protocols = [IP_PROTOCOLS.udp];
      match.destinationPorts = [{ min: 53, max: 53 }];
      break;
    case 'http_flood': {
      match.protocols = [IP_PROTOCOLS.tcp];
      const ports = mainDestinationPorts(incident);
      match.destinationPorts = ranges(ports.length > 0 ? ports : [80, 443]);
      break;
    }
    case 'udp_flood':
      match.protocols = [IP_PROTOCOLS.udp];
      if (incident.packetLength) match.packetLength = [{ ...incident.packetLength }];
      break;
    default:
      break;
  }
  return match;
}

export function hostProtocol(incident: Incident): HostMatch['protocol'] {
  if (usesVectors(incident)) return 'udp';
  switch (incident.family) {
    case 'syn_flood':
    case 'http_flood':
      return 'tcp';
    case 'udp_flood':
    case 'dns_flood':
      return 'udp';
    case 'icmp_flood':
      return 'icmp';
    default:
      return undefined;
  }
}

/** The on-node match for rate limits: the target, the attack's protocol, and SYN-without-ACK for SYN floods. */
export function hostMatch(incident: Incident, destination: Prefix): HostMatch {
  const m: HostMatch = { destination };
  const protocol = hostProtocol(incident);
  if (protocol) m.protocol = protocol;
  if (incident.family === 'syn_flood') m.tcpFlags = { set: ['syn'], unset: ['ack'] };
  return m;
}

/**
 * The `count` most active source hosts, most active first (addresses were parsed and de-duplicated at the edge).
 * Sources a packet capture calls spoofed are never among them: blocking one hurts only the host it impersonates.
 */
export function topSources(incident: Incident, count: number): Prefix[] {
  const out: Prefix[] = [];
  // A set: a capture may prove thousands of sources spoofed, and the incident may list 40,000 (linear, not n×m).
  const spoofed = new Set((incident.packetEvidence?.spoofedSources ?? []).map(String));
  for (const s of incident.topSources) {
    if (out.length >= count) break;
    if (s.address.isHost && !spoofed.has(s.address.toString())) out.push(s.address);
  }
  return out;
}
