import ipaddr from 'ipaddr.js';
import type { Frame } from './read.js';

/**
 * A captured frame decoded down to what the analysis uses: addresses, TTL, protocol, ports, TCP flags and
 * sequence number, and views of the IP packet and the transport payload. Pure; never throws.
 */
export interface Packet {
  time: number;
  family: 4 | 6;
  src: string;
  dst: string;
  /** IPv4 addresses as unsigned 32-bit values (IPv6: undefined). */
  src4?: number;
  dst4?: number;
  /** IPv4 TTL or IPv6 Hop Limit as received. */
  ttl: number;
  /** IP protocol / final IPv6 next header (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...). */
  protocol: number;
  /** IP length from the header (the packet on the wire, whatever the snap length kept). */
  ipLength: number;
  /** Fragments after the first carry no transport header. */
  fragment: 'none' | 'first' | 'later';
  srcPort?: number;
  dstPort?: number;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80). */
  tcpFlags?: number;
  tcpSeq?: number;
  tcpWindow?: number;
  icmpType?: number;
  icmpCode?: number;
  /** From the IP header to the end of the captured bytes. */
  ip: Buffer;
  /** Offset of the transport header in `ip` (-1 when absent or not captured). */
  l4Offset: number;
  /** Captured transport payload (possibly cut by the snap length). */
  payload: Buffer;
  /** Transport payload length on the wire (UDP length - 8, IP length - headers for TCP). */
  payloadLength: number;
}

export type SkipReason = 'not-ip' | 'truncated' | 'unknown-link';

export const TCP = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, urg: 0x20, ece: 0x40, cwr: 0x80 } as const;

const EMPTY = Buffer.alloc(0);

/** Offset of the IP header in the frame for its link type, or why there is none. */
export function ipOffset(frame: Buffer, link: number): number | SkipReason {
  switch (link) {
    case 1: {
      // Ethernet, with any number of 802.1Q / 802.1ad / QinQ tags.
      if (frame.length < 14) return 'truncated';
      let o = 12;
      let type = frame.readUInt16BE(o);
      while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
        o += 4;
        if (o + 2 > frame.length) return 'truncated';
        type = frame.readUInt16BE(o);
      }
      return type === 0x0800 || type === 0x86dd ? o + 2 : 'not-ip';
    }
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      return 0;
    case 0:
    case 108: {
      // BSD loopback: a 4-byte address family, host order (0) or network order (108).
      if (frame.length < 4) return 'truncated';
      const af = link === 0 ? Math.min(frame.readUInt32LE(0), frame.readUInt32BE(0)) : frame.readUInt32BE(0);
      return af === 2 || af === 24 || af === 28 || af === 30 ? 4 : 'not-ip';
    }
    case 113: {
      // Linux cooked v1: protocol at 14.
      if (frame.length < 16) return 'truncated';
      const p = frame.readUInt16BE(14);
      return p === 0x0800 || p === 0x86dd ? 16 : 'not-ip';
    }
    case 276: {
      // Linux cooked v2: protocol at 0.
      if (frame.length < 20) return 'truncated';
      const p = frame.readUInt16BE(0);
      return p === 0x0800 || p === 0x86dd ? 20 : 'not-ip';
    }
    default:
      return 'unknown-link';
  }
}

export function decodeFrame(frame: Frame): Packet | SkipReason {
  const o = ipOffset(frame.data, frame.link);
  if (typeof o === 'string') return o;
  return decodeIp(frame.data.subarray(o), frame.time);
}

/** Decodes an IP packet (starting at its version nibble). */
export function decodeIp(ip: Buffer, time: number): Packet | SkipReason {
  if (ip.length < 1) return 'truncated';
  const version = ip[0]! >> 4;
  if (version === 4) return decodeV4(ip, time);
  if (version === 6) return decodeV6(ip, time);
  return 'not-ip';
}

function decodeV4(ip: Buffer, time: number): Packet | SkipReason {
  if (ip.length < 20) return 'truncated';
  const ihl = (ip[0]! & 0x0f) * 4;
  if (ihl < 20) return 'not-ip';
  const src4 = ip.readUInt32BE(12);
  const dst4 = ip.readUInt32BE(16);
  const frag = ip.readUInt16BE(6);
  const offset = frag & 0x1fff;
  const more = (frag & 0x2000) !== 0;
  const p: Packet = {
    time,
    family: 4,
    src: v4Text(src4),
    dst: v4Text(dst4),
    src4,
    dst4,
    ttl: ip[8]!,
    protocol: ip[9]!,
    ipLength: ip.readUInt16BE(2),
    fragment: offset > 0 ? 'later' : more ? 'first' : 'none',
    ip,
    l4Offset: -1,
    payload: EMPTY,
    payloadLength: 0,
  };
  if (offset === 0) transport(p, ihl, Math.max(0, p.ipLength - ihl));
  return p;
}

const V6_EXTENSIONS = new Set([0, 43, 60]);

function decodeV6(ip: Buffer, time: number): Packet | SkipReason {
  if (ip.length < 40) return 'truncated';
  const p: Packet = {
    time,
    family: 6,
    src: v6Text(ip, 8),
    dst: v6Text(ip, 24),
    ttl: ip[7]!,
    protocol: ip[6]!,
    ipLength: 40 + ip.readUInt16BE(4),
    fragment: 'none',
    ip,
    l4Offset: -1,
    payload: EMPTY,
    payloadLength: 0,
  };
  let next = ip[6]!;
  let o = 40;
  // Hop-by-hop, routing, destination options, fragment and AH headers sit between IPv6 and the transport.
  for (let guard = 0; guard < 8; guard++) {
    if (V6_EXTENSIONS.has(next) || next === 51) {
      if (o + 2 > ip.length) return p;
      const len = next === 51 ? (ip[o + 1]! + 2) * 4 : (ip[o + 1]! + 1) * 8;
      next = ip[o]!;
      o += len;
    } else if (next === 44) {
      if (o + 8 > ip.length) return p;
      const fragOffset = ip.readUInt16BE(o + 2) >> 3;
      const more = (ip[o + 3]! & 1) === 1;
      p.fragment = fragOffset > 0 ? 'later' : more ? 'first' : 'none';
      next = ip[o]!;
      o += 8;
      if (fragOffset > 0) {
        p.protocol = next;
        return p;
      }
    } else break;
  }
  p.protocol = next;
  transport(p, o, Math.max(0, p.ipLength - o));
  return p;
}

/** Reads the transport header at `o` of `p.ip`, when captured. `l4Length`: its length on the wire. */
function transport(p: Packet, o: number, l4Length: number): void {
  const ip = p.ip;
  switch (p.protocol) {
    case 6: {
      if (o + 14 > ip.length) return;
      p.l4Offset = o;
      p.srcPort = ip.readUInt16BE(o);
      p.dstPort = ip.readUInt16BE(o + 2);
      p.tcpSeq = ip.readUInt32BE(o + 4);
      p.tcpFlags = ip[o + 13]!;
      if (o + 16 <= ip.length) p.tcpWindow = ip.readUInt16BE(o + 14);
      const hlen = (ip[o + 12]! >> 4) * 4;
      const start = Math.min(ip.length, o + Math.max(20, hlen));
      p.payload = ip.subarray(start);
      p.payloadLength = Math.max(0, l4Length - Math.max(20, hlen));
      return;
    }
    case 17:
    case 136: {
      // UDP and UDP-Lite share the port layout.
      if (o + 8 > ip.length) return;
      p.l4Offset = o;
      p.srcPort = ip.readUInt16BE(o);
      p.dstPort = ip.readUInt16BE(o + 2);
      const udpLength = ip.readUInt16BE(o + 4);
      p.payload = ip.subarray(o + 8, Math.min(ip.length, o + Math.max(8, udpLength)));
      p.payloadLength = Math.max(0, (udpLength >= 8 ? udpLength : l4Length) - 8);
      return;
    }
    case 1:
    case 58: {
      if (o + 2 > ip.length) return;
      p.l4Offset = o;
      p.icmpType = ip[o]!;
      p.icmpCode = ip[o + 1]!;
      p.payload = ip.subarray(Math.min(ip.length, o + 8));
      p.payloadLength = Math.max(0, l4Length - 8);
      return;
    }
    default:
      p.l4Offset = o <= ip.length ? o : -1;
      p.payload = ip.subarray(Math.min(ip.length, o));
      p.payloadLength = Math.max(0, l4Length);
  }
}

export function v4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function v6Text(buf: Buffer, offset: number): string {
  const bytes = Array.from(buf.subarray(offset, offset + 16));
  const addr = ipaddr.fromByteArray(bytes) as ipaddr.IPv6;
  return addr.isIPv4MappedAddress() ? addr.toIPv4Address().toString() : addr.toRFC5952String();
}

/** Names of the flags set in a TCP flags byte, in header order ("SYN", "SYN+ACK", ...). */
export function flagNames(flags: number): string {
  const names: string[] = [];
  if (flags & TCP.syn) names.push('SYN');
  if (flags & TCP.ack) names.push('ACK');
  if (flags & TCP.fin) names.push('FIN');
  if (flags & TCP.rst) names.push('RST');
  if (flags & TCP.psh) names.push('PSH');
  if (flags & TCP.urg) names.push('URG');
  if (flags & TCP.ece) names.push('ECE');
  if (flags & TCP.cwr) names.push('CWR');
  return names.length > 0 ? names.join('+') : 'none';
}
