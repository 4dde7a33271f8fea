// Test-side pcap writer and traffic generator: known packets in, a classic pcap (Ethernet) out, and the
// per-destination ground truth computed from the packet specs themselves (not by any code under test).
import { isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface PacketSpec {
  /** Seconds since the epoch (fractional). */
  time: number;
  src: string;
  dst: string;
  protocol: 'tcp' | 'udp' | 'icmp';
  srcPort: number;
  dstPort: number;
  /** Transport payload bytes. */
  payload: number;
  /** TCP flags byte. */
  flags?: number;
  ttl?: number;
}

export interface Truth {
  packets: number;
  /** IP-layer bytes: IP header + transport header + payload. */
  bytes: number;
}

const TRANSPORT_HEADER = { tcp: 20, udp: 8, icmp: 8 } as const;

export function ipLength(p: PacketSpec): number {
  return (isIPv6(p.dst) ? 40 : 20) + TRANSPORT_HEADER[p.protocol] + p.payload;
}

export function groundTruth(packets: PacketSpec[]): Map<string, Truth> {
  const m = new Map<string, Truth>();
  for (const p of packets) {
    if (p.dst === FILLER || p.dst === FILLER6) continue;
    const t = m.get(p.dst) ?? { packets: 0, bytes: 0 };
    t.packets++;
    t.bytes += ipLength(p);
    m.set(p.dst, t);
  }
  return m;
}

function addrBytes(a: string): number[] {
  return ipaddr.parse(a).toByteArray();
}

function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += (buf[buf.length - 1] as number) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** An Ethernet frame carrying the packet (IPv4 or IPv6 by the destination). */
export function frame(p: PacketSpec): Buffer {
  const v6 = isIPv6(p.dst);
  const l4len = TRANSPORT_HEADER[p.protocol] + p.payload;
  const l4 = Buffer.alloc(l4len);
  const proto = p.protocol === 'tcp' ? 6 : p.protocol === 'udp' ? 17 : v6 ? 58 : 1;
  if (p.protocol === 'tcp') {
    l4.writeUInt16BE(p.srcPort, 0);
    l4.writeUInt16BE(p.dstPort, 2);
    l4.writeUInt32BE(1000, 4);
    l4[12] = 5 << 4;
    l4[13] = p.flags ?? 0x10;
    l4.writeUInt16BE(65535, 14);
  } else if (p.protocol === 'udp') {
    l4.writeUInt16BE(p.srcPort, 0);
    l4.writeUInt16BE(p.dstPort, 2);
    l4.writeUInt16BE(l4len, 4);
  } else {
    l4[0] = v6 ? 128 : 8; // echo request
    l4[1] = 0;
  }
  let ip: Buffer;
  if (v6) {
    ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(l4len, 4);
    ip[6] = proto;
    ip[7] = p.ttl ?? 64;
    Buffer.from(addrBytes(p.src)).copy(ip, 8);
    Buffer.from(addrBytes(p.dst)).copy(ip, 24);
  } else {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + l4len, 2);
    ip.writeUInt16BE(0x4000, 6);
    ip[8] = p.ttl ?? 64;
    ip[9] = proto;
    Buffer.from(addrBytes(p.src)).copy(ip, 12);
    Buffer.from(addrBytes(p.dst)).copy(ip, 16);
    ip.writeUInt16BE(checksum(ip), 10);
  }
  const eth = Buffer.alloc(14);
  Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]).copy(eth, 0);
  eth.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  return Buffer.concat([eth, ip, l4]);
}

/** A classic pcap file (microsecond timestamps, little-endian) of frames with their times (seconds). */
export function pcapFile(frames: { time: number; data: Buffer; link?: number }[], link = 1): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(link, 20);
  const parts: Buffer[] = [head];
  for (const f of frames) {
    const h = Buffer.alloc(16);
    const sec = Math.floor(f.time);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(Math.round((f.time - sec) * 1e6), 4);
    h.writeUInt32LE(f.data.length, 8);
    h.writeUInt32LE(f.data.length, 12);
    parts.push(h, f.data);
  }
  return Buffer.concat(parts);
}

export function trafficPcap(packets: PacketSpec[]): Buffer {
  return pcapFile(packets.map((p) => ({ time: p.time, data: frame(p) })));
}

/** A raw-IPv4 (linktype 101) frame of a UDP datagram, for captures of exported flow datagrams. */
export function udpFrame(src: string, srcPort: number, dst: string, dstPort: number, payload: Buffer): Buffer {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(srcPort, 0);
  udp.writeUInt16BE(dstPort, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(28 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from(addrBytes(src)).copy(ip, 12);
  Buffer.from(addrBytes(dst)).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  return Buffer.concat([ip, udp, payload]);
}

/** Deterministic pseudo-random numbers (mulberry32), so every run exports the same traffic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Known traffic: a few victims in 203.0.113.0/24 and 2001:db8:100::/48, sources in 198.51.100.0/24 and
 * 2001:db8:200::/48; TCP connections (SYN, data, FIN), a UDP flood, ICMP echo. Several packets per flow so
 * NetFlow aggregation is exercised.
 */
export function knownTraffic(
  options: { v6: boolean; seed?: number; start?: number; scale?: number } = { v6: false },
): PacketSpec[] {
  const k = options.scale ?? 1;
  const r = rng(options.seed ?? 7);
  const out: PacketSpec[] = [];
  let t = options.start ?? 1_700_000_000;
  const step = () => (t += 0.0005 + r() * 0.001);
  const victims4 = ['203.0.113.10', '203.0.113.11', '203.0.113.12'];
  const victims6 = ['2001:db8:100::10', '2001:db8:100::11'];
  const victims = options.v6 ? victims6 : victims4;
  const source = (i: number) => (options.v6 ? `2001:db8:200::${(i % 250) + 1}` : `198.51.100.${(i % 250) + 1}`);
  // TCP connections to port 443 of the first victim.
  for (let c = 0; c < 40 * k; c++) {
    const src = source(c);
    const sport = 20000 + (c % 40000);
    const n = 3 + Math.floor(r() * 8);
    out.push({
      time: step(),
      src,
      dst: victims[0]!,
      protocol: 'tcp',
      srcPort: sport,
      dstPort: 443,
      payload: 0,
      flags: 0x02,
    });
    for (let k = 0; k < n; k++)
      out.push({
        time: step(),
        src,
        dst: victims[0]!,
        protocol: 'tcp',
        srcPort: sport,
        dstPort: 443,
        payload: Math.floor(r() * 1400),
        flags: 0x18,
      });
    out.push({
      time: step(),
      src,
      dst: victims[0]!,
      protocol: 'tcp',
      srcPort: sport,
      dstPort: 443,
      payload: 0,
      flags: 0x11,
    });
  }
  // UDP "amplification" to the second victim from port 53 of many sources.
  for (let i = 0; i < 600 * k; i++) {
    out.push({
      time: step(),
      src: source(100 + (i % 120)),
      dst: victims[1]!,
      protocol: 'udp',
      srcPort: 53,
      dstPort: 1024 + (i % 7),
      payload: 400 + Math.floor(r() * 1000),
    });
  }
  // ICMP echo to the third victim (IPv4) or second (IPv6).
  for (let i = 0; i < 120 * k; i++) {
    out.push({
      time: step(),
      src: source(i % 30),
      dst: victims[victims.length > 2 ? 2 : 1]!,
      protocol: 'icmp',
      srcPort: 0,
      dstPort: 0,
      payload: 56,
    });
  }
  out.sort((a, b) => a.time - b.time);
  // Filler to a destination nobody counts: pmacctd keeps the last few packets of a capture in its buffers and
  // exits without exporting them, so the counted traffic must not be last.
  // Same family as the rest, so exporters put it in the same templates.
  for (let i = 0; i < 64; i++) {
    out.push({
      time: step(),
      src: options.v6 ? '2001:db8:ffff::1' : '192.0.2.1',
      dst: options.v6 ? FILLER6 : FILLER,
      protocol: 'udp',
      srcPort: 9,
      dstPort: 9,
      payload: 10,
    });
  }
  return out;
}

export const FILLER = '192.0.2.99';
export const FILLER6 = '2001:db8:ffff::99';
