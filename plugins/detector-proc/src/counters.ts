import { counterDelta, type InterfaceCounters } from './parse.js';

/** Namespace-wide protocol counters (cumulative) the detector diffs each tick. */
export interface ProtocolCounters {
  ip: bigint;
  tcp: bigint;
  udp: bigint;
  icmp: bigint;
  /** SYNs that reached a listening socket, counted by how each one ended (see protocolCounters). */
  syn: bigint;
}

function get(m: Map<string, bigint> | undefined, ...names: string[]): bigint {
  let sum = 0n;
  for (const n of names) {
    const v = m?.get(n);
    if (v !== undefined && v > 0n) sum += v;
  }
  return sum;
}

/** Sums v4 (snmp), v6 (snmp6) and TcpExt (netstat) into the counters the detector needs. Missing files count 0. */
export function protocolCounters(
  snmp: Map<string, Map<string, bigint>> | undefined,
  snmp6: Map<string, bigint> | undefined,
  netstat: Map<string, Map<string, bigint>> | undefined,
): ProtocolCounters {
  const udpNames = ['InDatagrams', 'NoPorts', 'InErrors'];
  return {
    ip: get(snmp?.get('Ip'), 'InReceives') + get(snmp6, 'Ip6InReceives'),
    // Tcp counters in /proc/net/snmp already include TCP over IPv6.
    tcp: get(snmp?.get('Tcp'), 'InSegs'),
    udp:
      get(snmp?.get('Udp'), ...udpNames) +
      get(snmp?.get('UdpLite'), ...udpNames) +
      get(
        snmp6,
        'Udp6InDatagrams',
        'Udp6NoPorts',
        'Udp6InErrors',
        'UdpLite6InDatagrams',
        'UdpLite6NoPorts',
        'UdpLite6InErrors',
      ),
    icmp: get(snmp?.get('Icmp'), 'InMsgs') + get(snmp6, 'Icmp6InMsgs'),
    // Each SYN at a listening socket ends in exactly one of: handshake completed (PassiveOpens), request reset or
    // failed (AttemptFails: what a SYN flood from a real host produces, its kernel resets our SYN-ACK), answered
    // with a cookie once the queue is full (SyncookiesSent), or dropped on a full queue (TCPReqQFullDrop).
    syn:
      get(snmp?.get('Tcp'), 'PassiveOpens', 'AttemptFails') +
      get(netstat?.get('TcpExt'), 'SyncookiesSent', 'TCPReqQFullDrop'),
  };
}

export interface ProtocolDelta {
  tcp: number;
  udp: number;
  icmp: number;
  other: number;
  syn: number;
}

/** Per-field differences; a field that went backwards (namespace recreated) gives undefined for the whole set. */
export function protocolDelta(prev: ProtocolCounters, cur: ProtocolCounters): ProtocolDelta | undefined {
  const d = (k: keyof ProtocolCounters) => counterDelta(prev[k], cur[k]);
  const [ip, tcp, udp, icmp, syn] = [d('ip'), d('tcp'), d('udp'), d('icmp'), d('syn')];
  if (ip === undefined || tcp === undefined || udp === undefined || icmp === undefined || syn === undefined)
    return undefined;
  const known = tcp + udp + icmp;
  return {
    tcp: Number(tcp),
    udp: Number(udp),
    icmp: Number(icmp),
    other: Number(ip > known ? ip - known : 0n),
    syn: Number(syn),
  };
}

export interface InterfaceDelta {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

export function interfaceDelta(prev: InterfaceCounters, cur: InterfaceCounters): InterfaceDelta | undefined {
  const rp = counterDelta(prev.rxPackets, cur.rxPackets);
  const rb = counterDelta(prev.rxBytes, cur.rxBytes);
  const tp = counterDelta(prev.txPackets, cur.txPackets);
  const tb = counterDelta(prev.txBytes, cur.txBytes);
  if (rp === undefined || rb === undefined || tp === undefined || tb === undefined) return undefined;
  return { rxPackets: Number(rp), rxBytes: Number(rb), txPackets: Number(tp), txBytes: Number(tb) };
}

/**
 * The namespace's protocol mix applied to one interface's packet rate. /proc/net/snmp is per namespace, not per
 * interface: with one watched interface the mix is exact, with several it is the namespace's mix.
 */
export function attributeProtocols(
  pps: number,
  mix: ProtocolDelta,
): { protocols: { tcp: number; udp: number; icmp: number; other: number }; syn: number } {
  const total = mix.tcp + mix.udp + mix.icmp + mix.other;
  if (total <= 0) return { protocols: { tcp: 0, udp: 0, icmp: 0, other: pps }, syn: 0 };
  const k = pps / total;
  return {
    protocols: { tcp: mix.tcp * k, udp: mix.udp * k, icmp: mix.icmp * k, other: mix.other * k },
    syn: Math.min(mix.syn, mix.tcp) * k,
  };
}
