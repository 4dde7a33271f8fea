import { isV4Mapped, ipv6TextAt, u32 } from './addr.js';

/** What a sampled packet header tells us; undefined when it holds no IP packet we can read. */
export interface PacketSummary {
  family: 4 | 6;
  /** IPv4 (or IPv4-mapped IPv6) addresses as 32-bit values; otherwise the IPv6 text in src6/dst6. */
  src4: number;
  dst4: number;
  src6: string | undefined;
  dst6: string | undefined;
  protocol: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  ttl: number;
  /** IP total length from the IP header (IPv6: payload length + 40). */
  ipLength: number;
}

const ETH_VLAN = new Set([0x8100, 0x88a8, 0x9100]);
const ETH_MPLS = new Set([0x8847, 0x8848]);
const IPV6_EXTENSIONS = new Set([0, 43, 60, 44, 51]);
const MAX_VLAN_TAGS = 8;
const MAX_MPLS_LABELS = 16;
const MAX_V6_EXTENSIONS = 16;

/**
 * Decodes an Ethernet frame's first bytes (as sFlow samples them) down to the transport ports. Every read is
 * bounds-checked against `end` (the sampled header may stop anywhere); a header it cannot follow yields undefined.
 */
export function decodeEthernet(buf: Buffer, start: number, end: number): PacketSummary | undefined {
  let off = start + 12;
  if (off + 2 > end) return undefined;
  let type = buf.readUInt16BE(off);
  off += 2;
  for (let tags = 0; ETH_VLAN.has(type); tags++) {
    if (tags >= MAX_VLAN_TAGS || off + 4 > end) return undefined;
    type = buf.readUInt16BE(off + 2);
    off += 4;
  }
  if (ETH_MPLS.has(type)) {
    for (let labels = 0; ; labels++) {
      if (labels >= MAX_MPLS_LABELS || off + 4 > end) return undefined;
      const bottom = (buf[off + 2] as number) & 1;
      off += 4;
      if (bottom) break;
    }
    // No ethertype below MPLS: the first nibble of the payload tells IPv4 from IPv6.
    if (off >= end) return undefined;
    const nibble = (buf[off] as number) >> 4;
    return nibble === 4 ? decodeIPv4(buf, off, end) : nibble === 6 ? decodeIPv6(buf, off, end) : undefined;
  }
  if (type === 0x0800) return decodeIPv4(buf, off, end);
  if (type === 0x86dd) return decodeIPv6(buf, off, end);
  return undefined;
}

export function decodeIPv4(buf: Buffer, off: number, end: number): PacketSummary | undefined {
  if (off + 20 > end) return undefined;
  const vihl = buf[off] as number;
  if (vihl >> 4 !== 4) return undefined;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return undefined;
  const ipLength = buf.readUInt16BE(off + 2);
  const fragOffset = buf.readUInt16BE(off + 6) & 0x1fff;
  const summary: PacketSummary = {
    family: 4,
    src4: u32(buf, off + 12),
    dst4: u32(buf, off + 16),
    src6: undefined,
    dst6: undefined,
    protocol: buf[off + 9] as number,
    srcPort: 0,
    dstPort: 0,
    tcpFlags: 0,
    ttl: buf[off + 8] as number,
    ipLength,
  };
  // Only the first fragment carries the transport header.
  if (fragOffset === 0) readTransport(buf, off + ihl, end, summary);
  return summary;
}

export function decodeIPv6(buf: Buffer, off: number, end: number): PacketSummary | undefined {
  if (off + 40 > end) return undefined;
  if ((buf[off] as number) >> 4 !== 6) return undefined;
  const summary: PacketSummary = {
    family: 6,
    src4: v4At(buf, off + 8),
    dst4: v4At(buf, off + 24),
    src6: v6At(buf, off + 8),
    dst6: v6At(buf, off + 24),
    protocol: buf[off + 6] as number,
    srcPort: 0,
    dstPort: 0,
    tcpFlags: 0,
    ttl: buf[off + 7] as number,
    ipLength: buf.readUInt16BE(off + 4) + 40,
  };
  let next = summary.protocol;
  let p = off + 40;
  for (let hops = 0; IPV6_EXTENSIONS.has(next); hops++) {
    if (hops >= MAX_V6_EXTENSIONS || p + 8 > end) return summary;
    const following = buf[p] as number;
    if (next === 44) {
      // Fragment header: fixed 8 bytes; later fragments carry no transport header.
      const fragOffset = buf.readUInt16BE(p + 2) >> 3;
      p += 8;
      next = following;
      if (fragOffset !== 0) {
        summary.protocol = next;
        return summary;
      }
    } else {
      // AH counts its length in 4-byte words minus 2; the others in 8-byte words not counting the first 8.
      p += next === 51 ? ((buf[p + 1] as number) + 2) * 4 : ((buf[p + 1] as number) + 1) * 8;
      next = following;
    }
  }
  summary.protocol = next;
  readTransport(buf, p, end, summary);
  return summary;
}

function v4At(buf: Buffer, off: number): number {
  return isV4Mapped(buf, off) ? u32(buf, off + 12) : 0;
}

function v6At(buf: Buffer, off: number): string | undefined {
  return isV4Mapped(buf, off) ? undefined : ipv6TextAt(buf, off);
}

function readTransport(buf: Buffer, off: number, end: number, summary: PacketSummary): void {
  const proto = summary.protocol;
  if (proto === 6 || proto === 17 || proto === 132 || proto === 136) {
    if (off + 4 > end) return;
    summary.srcPort = buf.readUInt16BE(off);
    summary.dstPort = buf.readUInt16BE(off + 2);
    if (proto === 6 && off + 14 <= end) summary.tcpFlags = buf[off + 13] as number;
  } else if (proto === 1 || proto === 58) {
    // NetFlow convention: ICMP type and code travel in the destination port (type × 256 + code).
    if (off + 2 > end) return;
    summary.dstPort = ((buf[off] as number) << 8) | (buf[off + 1] as number);
  }
}
