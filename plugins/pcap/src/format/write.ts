/**
 * pcap and pcapng writers: pure functions, frames in, file bytes out. ft's captures are written by dumpcap; these
 * serve exports of a selection (`ft pcap export --filter`), test fixtures and benchmarks.
 */

export interface WriteFrame {
  /** ms since the epoch (fractional allowed). */
  time: number;
  data: Uint8Array;
  /** Length on the wire; defaults to data.length. */
  originalLength?: number;
}

/** Classic pcap, little-endian; microsecond magic unless `nanosecond`. */
export function writePcap(
  frames: Iterable<WriteFrame>,
  options: { link?: number; snaplen?: number; nanosecond?: boolean } = {},
): Buffer {
  const nano = options.nanosecond ?? false;
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(options.snaplen ?? 262_144, 16);
  head.writeUInt32LE(options.link ?? 1, 20);
  parts.push(head);
  for (const f of frames) {
    const h = Buffer.alloc(16);
    const { sec, frac } = split(f.time, nano ? 1e9 : 1e6);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(frac, 4);
    h.writeUInt32LE(f.data.length, 8);
    h.writeUInt32LE(f.originalLength ?? f.data.length, 12);
    parts.push(h, Buffer.from(f.data.buffer, f.data.byteOffset, f.data.length));
  }
  return Buffer.concat(parts);
}

/** pcapng, little-endian: one section (with optional comments), one interface, enhanced packet blocks (µs). */
export function writePcapng(
  frames: Iterable<WriteFrame>,
  options: { link?: number; snaplen?: number; comments?: string[]; interfaceName?: string } = {},
): Buffer {
  const parts: Buffer[] = [];
  const shbOptions = (options.comments ?? []).map((c) => option(1, Buffer.from(c, 'utf8')));
  parts.push(block(0x0a0d0d0a, [shbBody(), ...shbOptions, ...(shbOptions.length ? [endOfOptions()] : [])]));
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(options.link ?? 1, 0);
  idb.writeUInt32LE(options.snaplen ?? 262_144, 4);
  const idbOptions = [option(9, Buffer.from([6]))];
  if (options.interfaceName) idbOptions.push(option(2, Buffer.from(options.interfaceName, 'utf8')));
  parts.push(block(1, [idb, ...idbOptions, endOfOptions()]));
  for (const f of frames) {
    const h = Buffer.alloc(20);
    const us = BigInt(Math.round(f.time * 1000));
    h.writeUInt32LE(0, 0);
    h.writeUInt32LE(Number(us >> 32n), 4);
    h.writeUInt32LE(Number(us & 0xffffffffn), 8);
    h.writeUInt32LE(f.data.length, 12);
    h.writeUInt32LE(f.originalLength ?? f.data.length, 16);
    parts.push(block(6, [h, pad4(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.length))]));
  }
  return Buffer.concat(parts);
}

function split(ms: number, perSecond: number): { sec: number; frac: number } {
  const units = Math.round((ms / 1000) * perSecond);
  const sec = Math.floor(units / perSecond);
  return { sec, frac: units - sec * perSecond };
}

function shbBody(): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(0x1a2b3c4d, 0);
  b.writeUInt16LE(1, 4);
  b.writeUInt16LE(0, 6);
  // Section length unknown (-1).
  b.writeInt32LE(-1, 8);
  b.writeInt32LE(-1, 12);
  return b;
}

function option(code: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(code, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, pad4(value)]);
}

function endOfOptions(): Buffer {
  return Buffer.alloc(4);
}

function pad4(b: Buffer): Buffer {
  const rest = b.length % 4;
  return rest === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - rest)]);
}

function block(type: number, body: Buffer[]): Buffer {
  const inner = Buffer.concat(body);
  const total = 12 + inner.length;
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(total, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(total, 0);
  return Buffer.concat([head, inner, tail]);
}
