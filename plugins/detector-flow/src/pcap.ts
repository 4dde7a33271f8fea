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

export interface CaptureContents {
  format: 'pcap' | 'pcapng';
  datagrams: CapturedDatagram[];
  /** Frames that were not IPv4/IPv6 UDP (or were truncated by the snap length), skipped. */
  skipped: number;
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

/** Reads the UDP datagrams out of a pcap or pcapng capture held in memory. Throws CaptureError on a broken file. */
export function readCapture(buf: Buffer): CaptureContents {
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x0a0d0d0a) return readPcapng(buf);
  return readPcap(buf);
}

function readPcap(buf: Buffer): CaptureContents {
  if (buf.length < 24) throw new CaptureError(0, 'pcap global header is truncated');
  const magic = buf.readUInt32BE(0);
  const little = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  if (!little && magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new CaptureError(0, 'not a pcap file');
  const u32 = (o: number) => (little ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const link = u32(20) & 0xffff;
  const out: CaptureContents = { format: 'pcap', datagrams: [], skipped: 0 };
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    if (off + 16 + incl > buf.length)
      throw new CaptureError(off + 8, `packet of ${incl} bytes runs past the end of the file`);
    const time = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
    pushFrame(buf.subarray(off + 16, off + 16 + incl), link, time, little, out);
    off += 16 + incl;
  }
  if (off !== buf.length) throw new CaptureError(off, 'trailing bytes after the last packet');
  return out;
}

function readPcapng(buf: Buffer): CaptureContents {
  const out: CaptureContents = { format: 'pcapng', datagrams: [], skipped: 0 };
  let little = true;
  const links: { link: number; tsDivisor: number }[] = [];
  let off = 0;
  while (off + 12 <= buf.length) {
    const typeBE = buf.readUInt32BE(off);
    if (typeBE === 0x0a0d0d0a) {
      const bom = buf.readUInt32LE(off + 8);
      if (bom === 0x1a2b3c4d) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else throw new CaptureError(off + 8, 'pcapng byte-order magic is wrong');
      links.length = 0;
    }
    const u32 = (o: number) => (little ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const type = u32(off);
    const length = u32(off + 4);
    if (length < 12 || length % 4 !== 0 || off + length > buf.length)
      throw new CaptureError(off + 4, `pcapng block length ${length} is invalid`);
    if (type === 1) {
      // Interface description: link type, then options; only if_tsresol matters to us.
      let tsDivisor = 1000; // default microseconds → ms
      let o = off + 16;
      while (o + 4 <= off + length - 4) {
        const code = little ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
        const olen = little ? buf.readUInt16LE(o + 2) : buf.readUInt16BE(o + 2);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const r = buf[o + 4] as number;
          const units = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
          tsDivisor = units / 1000;
        }
        o += 4 + Math.ceil(olen / 4) * 4;
      }
      links.push({ link: little ? buf.readUInt16LE(off + 8) : buf.readUInt16BE(off + 8), tsDivisor });
    } else if (type === 6) {
      if (length < 32) throw new CaptureError(off, 'enhanced packet block is truncated');
      const iface = links[u32(off + 8)];
      if (iface === undefined) throw new CaptureError(off + 8, 'packet refers to an undeclared interface');
      const ts = u32(off + 12) * 4294967296 + u32(off + 16);
      const incl = u32(off + 20);
      if (28 + incl > length - 4) throw new CaptureError(off + 20, 'packet data runs past its block');
      pushFrame(buf.subarray(off + 28, off + 28 + incl), iface.link, ts / iface.tsDivisor, little, out);
    } else if (type === 3) {
      const iface = links[0];
      if (iface === undefined) throw new CaptureError(off, 'simple packet block before any interface');
      pushFrame(buf.subarray(off + 12, off + length - 4), iface.link, 0, little, out);
    }
    off += length;
  }
  return out;
}

function pushFrame(frame: Buffer, link: number, time: number, little: boolean, out: CaptureContents): void {
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
  void little;
  const d = ip >= 0 ? udpOf(frame, ip) : undefined;
  if (d === undefined) out.skipped++;
  else out.datagrams.push({ time, ...d });
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
