// Test-side encoders: build NetFlow v5/v9, IPFIX and sFlow datagrams field by field from the RFC layouts, so
// decoder tests never use the decoder to make their inputs.
import ipaddr from 'ipaddr.js';

const u8 = (n: number) => Buffer.from([n & 0xff]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const addr = (a: string) => Buffer.from(ipaddr.parse(a).toByteArray());
export { u8, u16, u32, addr };

export interface V5Flow {
  src: string;
  dst: string;
  packets: number;
  bytes: number;
  srcPort?: number;
  dstPort?: number;
  proto?: number;
  flags?: number;
}

export function netflow5(flows: V5Flow[], o: { sequence?: number; sampling?: number; count?: number } = {}): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt16BE(5, 0);
  head.writeUInt16BE(o.count ?? flows.length, 2);
  head.writeUInt32BE(o.sequence ?? 0, 16);
  head.writeUInt16BE(o.sampling ?? 0, 22);
  const recs = flows.map((f) => {
    const r = Buffer.alloc(48);
    addr(f.src).copy(r, 0);
    addr(f.dst).copy(r, 4);
    r.writeUInt32BE(f.packets, 16);
    r.writeUInt32BE(f.bytes, 20);
    r.writeUInt16BE(f.srcPort ?? 0, 32);
    r.writeUInt16BE(f.dstPort ?? 0, 34);
    r[37] = f.flags ?? 0;
    r[38] = f.proto ?? 17;
    return r;
  });
  return Buffer.concat([head, ...recs]);
}

export type Field = [id: number, length: number, enterprise?: number];

/** A set/FlowSet: id, length (header included, optional padding), body. `lengthOverride` forges bad lengths. */
export function set(id: number, body: Buffer, o: { pad?: number; lengthOverride?: number } = {}): Buffer {
  const pad = Buffer.alloc(o.pad ?? 0);
  return Buffer.concat([u16(id), u16(o.lengthOverride ?? 4 + body.length + pad.length), body, pad]);
}

export function templateRecord(id: number, fields: Field[], ipfix: boolean): Buffer {
  const parts = [u16(id), u16(fields.length)];
  for (const [fid, len, ent] of fields) {
    if (ipfix && ent !== undefined) parts.push(u16(fid | 0x8000), u16(len), u32(ent));
    else parts.push(u16(fid), u16(len));
  }
  return Buffer.concat(parts);
}

export function v9OptionsTemplate(id: number, scope: Field[], options: Field[]): Buffer {
  const parts = [u16(id), u16(scope.length * 4), u16(options.length * 4)];
  for (const [fid, len] of [...scope, ...options]) parts.push(u16(fid), u16(len));
  return Buffer.concat(parts);
}

export function ipfixOptionsTemplate(id: number, scope: Field[], options: Field[]): Buffer {
  const parts = [u16(id), u16(scope.length + options.length), u16(scope.length)];
  for (const [fid, len, ent] of [...scope, ...options]) {
    if (ent !== undefined) parts.push(u16(fid | 0x8000), u16(len), u32(ent));
    else parts.push(u16(fid), u16(len));
  }
  return Buffer.concat(parts);
}

export function netflow9(sets: Buffer[], o: { sequence?: number; sourceId?: number } = {}): Buffer {
  const head = Buffer.concat([
    u16(9),
    u16(sets.length),
    u32(1000),
    u32(1_700_000_000),
    u32(o.sequence ?? 0),
    u32(o.sourceId ?? 0),
  ]);
  return Buffer.concat([head, ...sets]);
}

export function ipfix(sets: Buffer[], o: { sequence?: number; domain?: number; lengthOverride?: number } = {}): Buffer {
  const body = Buffer.concat(sets);
  const head = Buffer.concat([
    u16(10),
    u16(o.lengthOverride ?? 16 + body.length),
    u32(1_700_000_000),
    u32(o.sequence ?? 0),
    u32(o.domain ?? 0),
  ]);
  return Buffer.concat([head, body]);
}

/** IPFIX variable-length encoding of a value. */
export function varlen(value: Buffer): Buffer {
  return value.length < 255
    ? Buffer.concat([u8(value.length), value])
    : Buffer.concat([u8(255), u16(value.length), value]);
}

// ── sFlow v5 ──

export function sflow(samples: Buffer[], o: { sequence?: number; agent?: string } = {}): Buffer {
  const agent = o.agent ?? '192.0.2.1';
  const v6 = agent.includes(':');
  return Buffer.concat([
    u32(5),
    u32(v6 ? 2 : 1),
    addr(agent),
    u32(0),
    u32(o.sequence ?? 1),
    u32(1000),
    u32(samples.length),
    ...samples,
  ]);
}

function pad4(b: Buffer): Buffer {
  return b.length % 4 ? Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]) : b;
}

export function record(format: number, body: Buffer): Buffer {
  const padded = pad4(body);
  return Buffer.concat([u32(format), u32(padded.length), padded]);
}

export function rawHeaderRecord(frame: Buffer, o: { frameLength?: number; protocol?: number } = {}): Buffer {
  return record(
    1,
    Buffer.concat([u32(o.protocol ?? 1), u32(o.frameLength ?? frame.length + 4), u32(4), u32(frame.length), frame]),
  );
}

export function flowSample(
  records: Buffer[],
  o: { rate?: number; drops?: number; expanded?: boolean; input?: number } = {},
): Buffer {
  const rate = o.rate ?? 1000;
  const body = o.expanded
    ? Buffer.concat([
        u32(1),
        u32(0),
        u32(3),
        u32(rate),
        u32(rate * 10),
        u32(o.drops ?? 0),
        u32(0),
        u32(o.input ?? 3),
        u32(0),
        u32(4),
        u32(records.length),
        ...records,
      ])
    : Buffer.concat([
        u32(1),
        u32(3),
        u32(rate),
        u32(rate * 10),
        u32(o.drops ?? 0),
        u32(o.input ?? 3),
        u32(4),
        u32(records.length),
        ...records,
      ]);
  return record(o.expanded ? 3 : 1, body);
}

export function ifCountersSample(ifIndex: number, inOctets: number, inPkts: number, speed = 10_000_000_000): Buffer {
  const c = Buffer.alloc(88);
  c.writeUInt32BE(ifIndex, 0);
  c.writeUInt32BE(6, 4);
  c.writeUInt32BE(Math.floor(speed / 2 ** 32), 8);
  c.writeUInt32BE(speed % 2 ** 32, 12);
  c.writeUInt32BE(Math.floor(inOctets / 2 ** 32), 24);
  c.writeUInt32BE(inOctets % 2 ** 32, 28);
  c.writeUInt32BE(inPkts, 32);
  return record(2, Buffer.concat([u32(1), u32(ifIndex), u32(1), record(1, c)]));
}

/** Ethernet + optional VLAN tags / MPLS labels + an IP packet (already built). */
export function ethernet(ip: Buffer, o: { vlans?: number[]; mpls?: number[]; v6?: boolean } = {}): Buffer {
  const parts: Buffer[] = [Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1])];
  for (const v of o.vlans ?? []) parts.push(u16(0x8100), u16(v));
  if (o.mpls?.length) {
    parts.push(u16(0x8847));
    o.mpls.forEach((label, i) => parts.push(u32((label << 12) | (i === o.mpls!.length - 1 ? 0x100 : 0) | 64)));
  } else parts.push(u16(o.v6 ? 0x86dd : 0x0800));
  parts.push(ip);
  return Buffer.concat(parts);
}

export function ipv4Packet(
  src: string,
  dst: string,
  proto: number,
  l4: Buffer,
  o: { ttl?: number; totalLength?: number; fragOffset?: number } = {},
): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(o.totalLength ?? 20 + l4.length, 2);
  h.writeUInt16BE(o.fragOffset ?? 0, 6);
  h[8] = o.ttl ?? 64;
  h[9] = proto;
  addr(src).copy(h, 12);
  addr(dst).copy(h, 16);
  return Buffer.concat([h, l4]);
}

export function ipv6Packet(
  src: string,
  dst: string,
  next: number,
  payload: Buffer,
  o: { hopLimit?: number; payloadLength?: number } = {},
): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(o.payloadLength ?? payload.length, 4);
  h[6] = next;
  h[7] = o.hopLimit ?? 64;
  addr(src).copy(h, 8);
  addr(dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

export function tcpHeader(srcPort: number, dstPort: number, flags: number): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(srcPort, 0);
  t.writeUInt16BE(dstPort, 2);
  t[12] = 0x50;
  t[13] = flags;
  return t;
}

export function udpHeader(srcPort: number, dstPort: number, payload = 0): Buffer {
  const u = Buffer.alloc(8 + payload);
  u.writeUInt16BE(srcPort, 0);
  u.writeUInt16BE(dstPort, 2);
  u.writeUInt16BE(8 + payload, 4);
  return u;
}
