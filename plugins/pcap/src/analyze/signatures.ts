import type { Vector } from '@ft/sdk';
import { TCP, type Packet } from '../format/packet.js';

/**
 * Payload and header signatures of known botnets and reflection vectors. Each is a pure test of one packet;
 * a signature is reported once it explains at least `SIGNATURE_MIN.packets` packets and `SIGNATURE_MIN.share` of
 * the attack (one stray DNS answer is not a DNS ANY reflection).
 */
export interface Signature {
  id: string;
  /** botnet: the packets come from a known botnet's code; reflection: a reflector's answers (real hosts, spoofed victim). */
  kind: 'botnet' | 'reflection';
  description: string;
  /** The amplification vector a reflection signature confirms (the planner then matches its source port). */
  vector?: Vector;
  test(p: Packet): boolean;
}

export const SIGNATURE_MIN = { packets: 20, share: 0.1 } as const;

const ascii = (s: string) => Buffer.from(s, 'latin1');
const MEMCACHED_REPLIES = [ascii('STAT '), ascii('VALUE '), ascii('END\r\n')];

function startsWith(buf: Buffer, offset: number, prefix: Buffer): boolean {
  if (buf.length < offset + prefix.length) return false;
  return buf.compare(prefix, 0, prefix.length, offset, offset + prefix.length) === 0;
}

/** QTYPE of the first question of a DNS message, or undefined when the name runs past what was captured. */
export function dnsFirstQtype(msg: Buffer): number | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) === 0) return undefined;
  let o = 12;
  for (let labels = 0; labels < 128; labels++) {
    if (o >= msg.length) return undefined;
    const len = msg[o]!;
    if (len === 0) {
      o += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      o += 2;
      break;
    }
    if (len > 63) return undefined;
    o += 1 + len;
  }
  return o + 2 <= msg.length ? msg.readUInt16BE(o) : undefined;
}

const isUdp = (p: Packet) => p.protocol === 17 && p.l4Offset >= 0;

export const SIGNATURES: readonly Signature[] = [
  {
    id: 'mirai-syn',
    kind: 'botnet',
    description: "TCP SYN whose sequence number is the destination IPv4 address, as Mirai's scanner writes it",
    test: (p) =>
      p.protocol === 6 &&
      p.family === 4 &&
      p.tcpFlags !== undefined &&
      (p.tcpFlags & (TCP.syn | TCP.ack)) === TCP.syn &&
      p.tcpSeq === p.dst4,
  },
  {
    id: 'memcached-reflection',
    kind: 'reflection',
    vector: 'memcached',
    description:
      'UDP from port 11211 carrying a memcached stats/get answer (STAT, VALUE, END after the 8-byte frame header)',
    test: (p) => isUdp(p) && p.srcPort === 11211 && MEMCACHED_REPLIES.some((r) => startsWith(p.payload, 8, r)),
  },
  {
    id: 'ntp-monlist',
    kind: 'reflection',
    vector: 'ntp',
    description: 'NTP mode 7 response to MON_GETLIST (request code 20 or 42) from port 123',
    test: (p) =>
      isUdp(p) &&
      p.srcPort === 123 &&
      p.payload.length >= 4 &&
      (p.payload[0]! & 0x07) === 7 &&
      (p.payload[0]! & 0x80) !== 0 &&
      (p.payload[3] === 42 || p.payload[3] === 20),
  },
  {
    id: 'dns-any-reflection',
    kind: 'reflection',
    vector: 'dns',
    description: 'DNS responses from port 53 to an ANY (type 255) question',
    test: (p) =>
      isUdp(p) &&
      p.srcPort === 53 &&
      p.payload.length >= 12 &&
      (p.payload[2]! & 0x80) !== 0 &&
      dnsFirstQtype(p.payload) === 255,
  },
  {
    id: 'dns-any-query',
    kind: 'botnet',
    description: 'DNS queries for type ANY to port 53 (a query flood, or the spoofed half of a reflection)',
    test: (p) =>
      isUdp(p) &&
      p.dstPort === 53 &&
      p.payload.length >= 12 &&
      (p.payload[2]! & 0x80) === 0 &&
      dnsFirstQtype(p.payload) === 255,
  },
  {
    id: 'ssdp-reflection',
    kind: 'reflection',
    vector: 'ssdp',
    description: 'UDP from port 1900 carrying an SSDP search answer (HTTP/1.1 200 OK)',
    test: (p) => isUdp(p) && p.srcPort === 1900 && startsWith(p.payload, 0, ascii('HTTP/1.1 200 OK')),
  },
];

export interface SignatureHit {
  id: string;
  kind: Signature['kind'];
  vector?: Vector;
  description: string;
  packets: number;
  share: number;
  /** Distinct sources sending it (reflectors, or bots). */
  sources: number;
}

/** Counts every signature over the packets; reports those over the minimums, most packets first. */
export function matchSignatures(
  packets: readonly Packet[],
  signatures: readonly Signature[] = SIGNATURES,
): SignatureHit[] {
  const counts = signatures.map(() => ({ packets: 0, sources: new Set<string>() }));
  for (const p of packets) {
    for (let i = 0; i < signatures.length; i++) {
      if (signatures[i]!.test(p)) {
        const c = counts[i]!;
        c.packets++;
        c.sources.add(p.src);
      }
    }
  }
  const total = packets.length;
  return signatures
    .map((s, i) => ({
      id: s.id,
      kind: s.kind,
      ...(s.vector ? { vector: s.vector } : {}),
      description: s.description,
      packets: counts[i]!.packets,
      share: total > 0 ? Math.round((counts[i]!.packets / total) * 1000) / 1000 : 0,
      sources: counts[i]!.sources.size,
    }))
    .filter((h) => h.packets >= SIGNATURE_MIN.packets && h.share >= SIGNATURE_MIN.share)
    .sort((a, b) => b.packets - a.packets || a.id.localeCompare(b.id));
}
