/** Which wire format a datagram was in. */
export type FlowProtocol = 'sflow' | 'netflow5' | 'netflow9' | 'ipfix';

/**
 * One flow (NetFlow/IPFIX) or one sampled packet (sFlow), normalised. Counts are as exported, NOT scaled:
 * `samplingRate` says how many packets each counted packet stands for (undefined: the exporter did not say,
 * the collector applies its per-exporter default).
 */
export interface FlowRecord {
  family: 4 | 6;
  /** Absent when the record's template has no source address field: the source is unknown, the traffic counts. */
  srcAddr?: string;
  dstAddr: string;
  /** 0 when the protocol has no ports or the fragment carried none. */
  srcPort: number;
  dstPort: number;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6). */
  protocol: number;
  /** OR of the TCP flags seen (low 8 bits: FIN SYN RST PSH ACK URG ECE CWR). */
  tcpFlags: number;
  packets: number;
  /** IP-layer bytes (IP header + payload), the unit NetFlow counts in. */
  bytes: number;
  samplingRate?: number;
  /** IP TTL / hop limit when the record carries one (sFlow headers; some IPFIX templates). */
  ttl?: number;
  /** Interfaces as the exporter numbers them (0 unknown). */
  inputIf: number;
  outputIf: number;
}

/** sFlow if_counters: the exporter's own interface totals, kept as ground truth (never added to flow rates). */
export interface InterfaceCounters {
  ifIndex: number;
  ifSpeed: number;
  ifInOctets: number;
  ifInUcastPkts: number;
  ifInMulticastPkts: number;
  ifInBroadcastPkts: number;
  ifInDiscards: number;
  ifInErrors: number;
  ifOutOctets: number;
  ifOutUcastPkts: number;
  ifOutDiscards: number;
}

export interface DecodedDatagram {
  ok: true;
  protocol: FlowProtocol;
  /** Observation domain (IPFIX), source id (v9), engine type/id (v5), sub-agent id (sFlow). */
  domain: number;
  /** The sequence number as the header gives it; what it counts depends on the protocol (see `sequenceCounts`). */
  sequence: number;
  sequenceCounts: 'flows' | 'datagrams' | 'records';
  /** How many units this datagram advances the sequence by (flows for v5, records for IPFIX, 1 otherwise). */
  sequenceAdvance: number;
  /** sFlow agent address (the exporter's own idea of itself), when present. */
  agent?: string;
  records: FlowRecord[];
  counters: InterfaceCounters[];
  /** Data sets whose template was unknown (v9/IPFIX): their records are lost, the count is exporter health. */
  templateMisses: number;
  /** v9/IPFIX records whose template has no destination address (L2-only templates): decoded, not attributable. */
  recordsWithoutDestination: number;
  templatesLearned: number;
  templatesWithdrawn: number;
  /** sFlow: packets the exporter dropped before sampling (its own loss), summed over the datagram's samples. */
  exporterDrops: number;
}

/** A datagram that could not be decoded: where and why. Nothing it contained was applied. */
export interface DecodeFailure {
  ok: false;
  protocol?: FlowProtocol;
  offset: number;
  reason: string;
}

export type DecodeResult = DecodedDatagram | DecodeFailure;

/** Thrown inside decoders only; the top-level decode turns it into a DecodeFailure. */
export class WireError extends Error {
  constructor(
    readonly offset: number,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * A datagram's header facts, empty. With `reuse` (the collector's per-batch object) that object is reset and
 * returned instead of a new one: the collector reads it before the next datagram, and one object per datagram
 * was a good part of the garbage at tens of thousands of datagrams a second.
 */
export function emptyDatagram(protocol: FlowProtocol, reuse?: DecodedDatagram): DecodedDatagram {
  if (reuse !== undefined) {
    reuse.protocol = protocol;
    reuse.domain = 0;
    reuse.sequence = 0;
    reuse.sequenceCounts = 'datagrams';
    reuse.sequenceAdvance = 1;
    delete reuse.agent;
    reuse.records.length = 0;
    reuse.counters.length = 0;
    reuse.templateMisses = 0;
    reuse.recordsWithoutDestination = 0;
    reuse.templatesLearned = 0;
    reuse.templatesWithdrawn = 0;
    reuse.exporterDrops = 0;
    return reuse;
  }
  return {
    ok: true,
    protocol,
    domain: 0,
    sequence: 0,
    sequenceCounts: 'datagrams',
    sequenceAdvance: 1,
    records: [],
    counters: [],
    templateMisses: 0,
    recordsWithoutDestination: 0,
    templatesLearned: 0,
    templatesWithdrawn: 0,
    exporterDrops: 0,
  };
}
