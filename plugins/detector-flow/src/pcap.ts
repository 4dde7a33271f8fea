import { readSync } from 'node:fs';
import { ipv4At, ipv6At } from './decode/addr.js';

/** One UDP datagram found in a capture. */
export interface CapturedDatagram {
  /** Capture time in ms since the epoch. */
  time: number;
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
  payload: Buffer;
}

export class CaptureError extends Error {
  constructor(
    readonly offset: number,
    reason: string,
  ) {
    super(`${reason} (at byte ${offset})`);
  }
}

const LINK_NULL = 0;
const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_RAW_ALT = 12;
const LINK_LINUX_SLL = 113;
const LINK_LINUX_SLL2 = 276;
const LINK_IPV4 = 228;
const LINK_IPV6 = 229;

/** True when the bytes start like a pcap or pcapng file. */
export function isCapture(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const m = buf.readUInt32BE(0);
  return m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1 || m === 0x0a0d0d0a;
}

/**
 * Bytes of a capture by absolute offset, read front to back: `at(off, n)` is valid until the next call, and
 * offsets only grow, so a file is read in chunks and memory stays flat whatever its size.
 */
export interface ByteSource {
  /** Bytes [off, off + n), or fewer when the capture ends sooner. */
  at(off: number, n: number): Buffer;
}

/** A capture file read in 1 MiB chunks (grown for a frame larger than that). */
export class FileSource implements ByteSource {
  private buf = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private base = 0;
  private eof = false;

  constructor(private readonly fd: number) {}

  at(off: number, n: number): Buffer {
    if (off < this.base) throw new Error(`capture read backwards (${off} < ${this.base})`);
    while (off + n > this.base + this.buf.length && !this.eof) this.fill(off, n);
    const start = Math.min(off - this.base, this.buf.length);
    return this.buf.subarray(start, Math.min(start + n, this.buf.length));
  }

  /** Reads on, keeping what is left from `off`. */
  private fill(off: number, n: number): void {
    const end = this.base + this.buf.length;
    const keepFrom = Math.min(off, end);
    const keep = this.buf.subarray(keepFrom - this.base);
    const next = Buffer.allocUnsafe(Math.max(1 << 20, keep.length + n));
    keep.copy(next);
    const got = readSync(this.fd, next, keep.length, next.length - keep.length, null);
    if (got === 0) this.eof = true;
    this.base = keepFrom;
    this.buf = next.subarray(0, keep.length + got);
  }
}

/** A capture already in memory. */
export function bufferSource(buf: Buffer): ByteSource {
  return { at: (off, n) => buf.subarray(off, off + n) };
}

export interface CaptureReader {
  format: 'pcap' | 'pcapng';
  /** The UDP datagrams, one at a time. */
  datagrams(): Generator<CapturedDatagram>;
  /** Frames that were not IPv4/IPv6 UDP (or were truncated by the snap length), so far. */
  readonly skipped: number;
}

/** Reads the UDP datagrams out of a pcap or pcapng capture, front to back. Throws CaptureError on a broken file. */
export function readCapture(src: ByteSource): CaptureReader {
  const head = src.at(0, 4);
  return head.length >= 4 && head.readUInt32BE(0) === 0x0a0d0d0a ? new PcapngReader(src) : new PcapReader(src);
}

class PcapReader implements CaptureReader {
  readonly format = 'pcap' as const;
  skipped = 0;

  constructor(private readonly src: ByteSource) {}

  *datagrams(): Generator<CapturedDatagram> {
    const head = this.src.at(0, 24);
    if (head.length < 24) throw new CaptureError(0, 'pcap global header is truncated');
    const magic = head.readUInt32BE(0);
    const little = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
    const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    if (!little && magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new CaptureError(0, 'not a pcap file');
    const u32 = (b: Buffer, o: number) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const link = u32(head, 20) & 0xffff;
    let off = 24;
    for (;;) {
      const rec = this.src.at(off, 16);
      if (rec.length === 0) return;
      if (rec.length < 16) throw new CaptureError(off, 'trailing bytes after the last packet');
      const sec = u32(rec, 0);
      const frac = u32(rec, 4);
      const incl = u32(rec, 8);
      const time = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
      const frame = this.src.at(off + 16, incl);
      if (frame.length < incl) throw new CaptureError(off + 8, `packet of ${incl} bytes runs past the end of the file`);
      const d = datagramOf(frame, link, time);
      if (d === undefined) this.skipped++;
      else yield d;
      off += 16 + incl;
    }
  }
}

class PcapngReader implements CaptureReader {
  readonly format = 'pcapng' as const;
  skipped = 0;

  constructor(private readonly src: ByteSource) {}

  *datagrams(): Generator<CapturedDatagram> {
    let little = true;
    const links: { link: number; tsDivisor: number }[] = [];
    let off = 0;
    for (;;) {
      const head = this.src.at(off, 12);
      if (head.length < 12) return;
      if (head.readUInt32BE(0) === 0x0a0d0d0a) {
        const bom = head.readUInt32LE(8);
        if (bom === 0x1a2b3c4d) little = true;
        else if (bom === 0x4d3c2b1a) little = false;
        else throw new CaptureError(off + 8, 'pcapng byte-order magic is wrong');
        links.length = 0;
      }
      const u32 = (b: Buffer, o: number) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
      const u16 = (b: Buffer, o: number) => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
      const type = u32(head, 0);
      const length = u32(head, 4);
      if (length < 12 || length % 4 !== 0) throw new CaptureError(off + 4, `pcapng block length ${length} is invalid`);
      const block = this.src.at(off, length);
      if (block.length < length) throw new CaptureError(off + 4, `pcapng block length ${length} is invalid`);
      if (type === 1) {
        // Interface description: link type, then options; only if_tsresol matters to us.
        let tsDivisor = 1000; // default microseconds → ms
        let o = 16;
        while (o + 4 <= length - 4) {
          const code = u16(block, o);
          const olen = u16(block, o + 2);
          if (code === 0) break;
          if (code === 9 && olen >= 1) {
            const r = block[o + 4] as number;
            const units = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
            tsDivisor = units / 1000;
          }
          o += 4 + Math.ceil(olen / 4) * 4;
        }
        links.push({ link: u16(block, 8), tsDivisor });
      } else if (type === 6) {
        if (length < 32) throw new CaptureError(off, 'enhanced packet block is truncated');
        const iface = links[u32(block, 8)];
        if (iface === undefined) throw new CaptureError(off + 8, 'packet refers to an undeclared interface');
        const ts = u32(block, 12) * 4294967296 + u32(block, 16);
        const incl = u32(block, 20);
        if (28 + incl > length - 4) throw new CaptureError(off + 20, 'packet data runs past its block');
        const d = datagramOf(block.subarray(28, 28 + incl), iface.link, ts / iface.tsDivisor);
        if (d === undefined) this.skipped++;
        else yield d;
      } else if (type === 3) {
        const iface = links[0];
        if (iface === undefined) throw new CaptureError(off, 'simple packet block before any interface');
        const d = datagramOf(block.subarray(12, length - 4), iface.link, 0);
        if (d === undefined) this.skipped++;
        else yield d;
      }
      off += length;
    }
  }
}

function datagramOf(frame: Buffer, link: number, time: number): CapturedDatagram | undefined {
  let ip = -1;
  if (link === LINK_ETHERNET) {
    let o = 12;
    let type = frame.length >= 14 ? frame.readUInt16BE(12) : 0;
    while ((type === 0x8100 || type === 0x88a8) && o + 6 <= frame.length) {
      o += 4;
      type = frame.readUInt16BE(o);
    }
    if (type === 0x0800 || type === 0x86dd) ip = o + 2;
  } else if (link === LINK_RAW || link === LINK_RAW_ALT || link === LINK_IPV4 || link === LINK_IPV6) ip = 0;
  else if (link === LINK_NULL) ip = 4;
  else if (link === LINK_LINUX_SLL) ip = 16;
  else if (link === LINK_LINUX_SLL2) ip = 20;
  const d = ip >= 0 ? udpOf(frame, ip) : undefined;
  return d === undefined ? undefined : { time, ...d };
}

function udpOf(frame: Buffer, ip: number): Omit<CapturedDatagram, 'time'> | undefined {
  if (ip >= frame.length) return undefined;
  const version = (frame[ip] as number) >> 4;
  let udp: number;
  let srcAddr: string;
  let dstAddr: string;
  if (version === 4) {
    if (ip + 20 > frame.length) return undefined;
    const ihl = ((frame[ip] as number) & 0x0f) * 4;
    if (frame[ip + 9] !== 17 || (frame.readUInt16BE(ip + 6) & 0x3fff) !== 0) return undefined; // not UDP, or fragmented
    srcAddr = ipv4At(frame, ip + 12);
    dstAddr = ipv4At(frame, ip + 16);
    udp = ip + ihl;
  } else if (version === 6) {
    if (ip + 40 > frame.length || frame[ip + 6] !== 17) return undefined;
    srcAddr = ipv6At(frame, ip + 8);
    dstAddr = ipv6At(frame, ip + 24);
    udp = ip + 40;
  } else return undefined;
  if (udp + 8 > frame.length) return undefined;
  const udpLength = frame.readUInt16BE(udp + 4);
  // Snap-length-truncated datagrams would decode as garbage: skip them rather than report false errors.
  if (udpLength < 8 || udp + udpLength > frame.length) return undefined;
  return {
    srcAddr,
    srcPort: frame.readUInt16BE(udp),
    dstAddr,
    dstPort: frame.readUInt16BE(udp + 2),
    payload: Buffer.from(frame.subarray(udp + 8, udp + udpLength)),
  };
}
