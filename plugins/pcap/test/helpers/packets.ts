// Test-side packet builder: Ethernet frames from plain specs, so expected results come from the specs themselves,
// not from the code under test.
import { isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface Spec {
  /** ms since the epoch. */
  time: number;
  src: string;
  dst: string;
  protocol: 'tcp' | 'udp' | 'icmp';
  ttl?: number;
  srcPort?: number;
  dstPort?: number;
  /** TCP flags byte (default SYN). */
  flags?: number;
  seq?: number;
  payload?: Buffer;
}

const bytes = (a: string) => Buffer.from(ipaddr.parse(a).toByteArray());

function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1]! << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

export function ipPacket(s: Spec): Buffer {
  const v6 = isIPv6(s.dst);
  const payload = s.payload ?? Buffer.alloc(0);
  let l4: Buffer;
  if (s.protocol === 'tcp') {
    l4 = Buffer.alloc(20);
    l4.writeUInt16BE(s.srcPort ?? 40000, 0);
    l4.writeUInt16BE(s.dstPort ?? 80, 2);
    l4.writeUInt32BE((s.seq ?? 1000) >>> 0, 4);
    l4[12] = 5 << 4;
    l4[13] = s.flags ?? 0x02;
    l4.writeUInt16BE(64240, 14);
  } else if (s.protocol === 'udp') {
    l4 = Buffer.alloc(8);
    l4.writeUInt16BE(s.srcPort ?? 40000, 0);
    l4.writeUInt16BE(s.dstPort ?? 53, 2);
    l4.writeUInt16BE(8 + payload.length, 4);
  } else {
    l4 = Buffer.alloc(8);
    l4[0] = v6 ? 128 : 8;
  }
  const body = Buffer.concat([l4, payload]);
  const proto = s.protocol === 'tcp' ? 6 : s.protocol === 'udp' ? 17 : v6 ? 58 : 1;
  if (v6) {
    const ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(body.length, 4);
    ip[6] = proto;
    ip[7] = s.ttl ?? 64;
    bytes(s.src).copy(ip, 8);
    bytes(s.dst).copy(ip, 24);
    return Buffer.concat([ip, body]);
  }
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + body.length, 2);
  ip.writeUInt16BE(0x4000, 6);
  ip[8] = s.ttl ?? 64;
  ip[9] = proto;
  bytes(s.src).copy(ip, 12);
  bytes(s.dst).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  return Buffer.concat([ip, body]);
}

export function ethernet(s: Spec): Buffer {
  const eth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0, 0]);
  eth.writeUInt16BE(isIPv6(s.dst) ? 0x86dd : 0x0800, 12);
  return Buffer.concat([eth, ipPacket(s)]);
}

/** Classic pcap (Ethernet, µs, little-endian) written independently of the code under test. */
export function pcapOf(specs: Spec[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const parts: Buffer[] = [head];
  for (const s of specs) {
    const f = ethernet(s);
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(s.time / 1000), 0);
    h.writeUInt32LE(Math.round((s.time % 1000) * 1000), 4);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    parts.push(h, f);
  }
  return Buffer.concat(parts);
}

/** IPv4 as an unsigned 32-bit number (Mirai puts it in the TCP sequence number). */
export const v4Number = (a: string) => bytes(a).readUInt32BE(0);

// Deterministic pseudo-random numbers: the flow tests' generator.
export { rng } from '../../../detector-flow/test/helpers/pcap-writer.js';
