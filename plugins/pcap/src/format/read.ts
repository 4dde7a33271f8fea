/**
 * pcap and pcapng reader: pure functions over a Buffer, no I/O. Formats: draft-ietf-opsawg-pcap (classic pcap,
 * micro- and nanosecond magic, either byte order) and draft-ietf-opsawg-pcapng (sections, interfaces with their
 * own link type and timestamp resolution, enhanced/simple/obsolete packet blocks; unknown blocks skipped).
 *
 * A broken file throws CaptureError naming the byte offset and why. A capture still being written (dumpcap has
 * not flushed its last record) can be read with `partialTail: true`: whole records are returned and where the
 * partial one starts is reported instead of an error.
 *
 * Input is a Buffer or a ByteSource read front to back (FileSource: 1 MiB chunks, so a capture of any size is
 * read in flat memory, as `ft flow decode` does).
 */
import { readSync } from 'node:fs';

export const CAPTURE_ERROR_CODES = {
  malformed: 'FT_E_PCAP_MALFORMED',
  truncated: 'FT_E_PCAP_TRUNCATED',
  unsupported: 'FT_E_PCAP_UNSUPPORTED',
} as const;

export type CaptureErrorCode = (typeof CAPTURE_ERROR_CODES)[keyof typeof CAPTURE_ERROR_CODES];

export class CaptureError extends Error {
  constructor(
    /** Byte offset in the file where the problem is. */
    readonly offset: number,
    readonly reason: string,
    readonly code: CaptureErrorCode = CAPTURE_ERROR_CODES.malformed,
  ) {
    super(`${reason} (at byte ${offset})`);
    this.name = 'CaptureError';
  }
}

/** One captured frame. `data` is a view into the file's buffer (copy it to keep it beyond the buffer). */
export interface Frame {
  /** Capture time, ms since the epoch (fractional: pcapng nanosecond stamps keep sub-ms precision). */
  time: number;
  /** Link type of the frame's interface (1 Ethernet, 101 raw IP, 113 Linux SLL, ...). */
  link: number;
  /** Captured bytes (at most the snap length). */
  data: Buffer;
  /** Length of the packet on the wire; larger than data.length when the snap length cut it. */
  originalLength: number;
  /** Index of the interface in its section (always 0 for classic pcap). */
  interfaceId: number;
  /** Byte offset of the record (pcap) or block (pcapng) in the file. */
  offset: number;
}

export interface CaptureInterface {
  link: number;
  snaplen: number;
  name?: string;
}

export interface CaptureInfo {
  format: 'pcap' | 'pcapng';
  /** Nanosecond (pcap magic 0xA1B23C4D) or microsecond timestamps; pcapng: per interface, not stated here. */
  nanosecond?: boolean;
  interfaces: CaptureInterface[];
  /** Section header comments (shb_comment), in order: ft puts the incident id in one. */
  comments: string[];
  frames: number;
  /** Set when `partialTail` stopped at a record that runs past the end (a capture still being written). */
  partialTailAt?: number;
}

export interface ReadOptions {
  /** A last record that runs past the end is where the file stops, not an error (a file still being written). */
  partialTail?: boolean;
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAP_US_SWAPPED = 0xd4c3b2a1;
const PCAP_NS_SWAPPED = 0x4d3cb2a1;
const PCAPNG_SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;
const BOM_SWAPPED = 0x4d3c2b1a;

/** Largest frame accepted: libpcap's own maximum snap length (anything larger is corruption). */
export const MAX_FRAME = 262_144;
/** Largest pcapng block read (decryption-secret and custom blocks may exceed a frame; a corrupt length must not
 * make the reader buffer gigabytes). */
const MAX_BLOCK = 16 << 20;

/**
 * Bytes of a capture by absolute offset, read front to back: offsets only grow, so a file is read in chunks and
 * memory stays flat whatever its size. A returned view stays valid (each chunk is a new buffer).
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

const sourceOf = (input: Buffer | ByteSource): ByteSource => (Buffer.isBuffer(input) ? bufferSource(input) : input);

/** True when the bytes start like a pcap or pcapng file. */
export function isCapture(buf: Uint8Array): boolean {
  if (buf.length < 4) return false;
  const m = ((buf[0]! << 24) | (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!) >>> 0;
  return m === PCAP_US || m === PCAP_NS || m === PCAP_US_SWAPPED || m === PCAP_NS_SWAPPED || m === PCAPNG_SHB;
}

/** pcapng or (anything else: the pcap reader then says what is wrong) pcap, from the first bytes. */
export function captureFormat(input: Buffer | ByteSource): 'pcap' | 'pcapng' {
  const head = sourceOf(input).at(0, 4);
  return head.length >= 4 && head.readUInt32BE(0) === PCAPNG_SHB ? 'pcapng' : 'pcap';
}

/**
 * The frames in file order, one at a time; the generator's return value is what the file says about itself.
 * Throws CaptureError (with the offset) when the file is broken.
 */
export function frames(
  input: Buffer | ByteSource,
  options: ReadOptions = {},
): Generator<Frame, CaptureInfo, undefined> {
  const src = sourceOf(input);
  return captureFormat(src) === 'pcapng' ? readPcapng(src, options) : readPcap(src, options);
}

/** Calls `visit` for every frame in file order and returns what the file says about itself. */
export function forEachFrame(
  input: Buffer | ByteSource,
  visit: (frame: Frame) => void,
  options: ReadOptions = {},
): CaptureInfo {
  const it = frames(input, options);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
    visit(r.value);
  }
}

/** Every frame of a capture, in file order. */
export function readFrames(
  input: Buffer | ByteSource,
  options: ReadOptions = {},
): { info: CaptureInfo; frames: Frame[] } {
  const out: Frame[] = [];
  const info = forEachFrame(input, (f) => out.push(f), options);
  return { info, frames: out };
}

function* readPcap(src: ByteSource, options: ReadOptions): Generator<Frame, CaptureInfo, undefined> {
  const head = src.at(0, 24);
  if (head.length < 4) throw new CaptureError(0, 'not a capture: shorter than a file header');
  const magic = head.readUInt32BE(0);
  const little = magic === PCAP_US_SWAPPED || magic === PCAP_NS_SWAPPED;
  const nano = magic === PCAP_NS || magic === PCAP_NS_SWAPPED;
  if (!little && magic !== PCAP_US && magic !== PCAP_NS) {
    throw new CaptureError(
      0,
      `not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, '0')})`,
      CAPTURE_ERROR_CODES.unsupported,
    );
  }
  if (head.length < 24) throw new CaptureError(0, 'pcap file header is truncated', CAPTURE_ERROR_CODES.truncated);
  const u16 = (b: Buffer, o: number) => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const major = u16(head, 4);
  if (major !== 2)
    throw new CaptureError(4, `pcap version ${major}.${u16(head, 6)} is not 2.x`, CAPTURE_ERROR_CODES.unsupported);
  const snaplen = u32(head, 16);
  // The upper bits of the link-type field carry FCS information (draft-ietf-opsawg-pcap §4).
  const link = u32(head, 20) & 0x0fffffff;
  const info: CaptureInfo = {
    format: 'pcap',
    nanosecond: nano,
    interfaces: [{ link, snaplen }],
    comments: [],
    frames: 0,
  };
  let off = 24;
  for (;;) {
    const rec = src.at(off, 16);
    if (rec.length === 0) return info;
    if (rec.length < 16) {
      if (options.partialTail) return { ...info, partialTailAt: off };
      throw new CaptureError(off, 'packet record header is truncated', CAPTURE_ERROR_CODES.truncated);
    }
    const sec = u32(rec, 0);
    const frac = u32(rec, 4);
    const incl = u32(rec, 8);
    const orig = u32(rec, 12);
    if (incl > MAX_FRAME)
      throw new CaptureError(off + 8, `packet record claims ${incl} captured bytes (more than ${MAX_FRAME})`);
    const data = src.at(off + 16, incl);
    if (data.length < incl) {
      if (options.partialTail) return { ...info, partialTailAt: off };
      throw new CaptureError(
        off + 8,
        `packet of ${incl} bytes runs past the end of the file`,
        CAPTURE_ERROR_CODES.truncated,
      );
    }
    if (nano ? frac >= 1e9 : frac >= 1e6)
      throw new CaptureError(off + 4, `timestamp fraction ${frac} is not below one second`);
    info.frames++;
    yield {
      time: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3),
      link,
      data,
      originalLength: Math.max(orig, incl),
      interfaceId: 0,
      offset: off,
    };
    off += 16 + incl;
  }
}

interface NgInterface extends CaptureInterface {
  /** Timestamp units per millisecond. */
  unitsPerMs: number;
  /** if_tsoffset, ms. */
  offsetMs: number;
}

function* readPcapng(src: ByteSource, options: ReadOptions): Generator<Frame, CaptureInfo, undefined> {
  const info: CaptureInfo = { format: 'pcapng', interfaces: [], comments: [], frames: 0 };
  let little = true;
  let section: NgInterface[] = [];
  let sawHeader = false;
  let off = 0;
  for (;;) {
    const head = src.at(off, 12);
    if (head.length === 0) break;
    if (head.length < 12) {
      if (options.partialTail) return { ...info, partialTailAt: off };
      throw new CaptureError(off, 'pcapng block header is truncated', CAPTURE_ERROR_CODES.truncated);
    }
    if (head.readUInt32BE(0) === PCAPNG_SHB) {
      // A section header sets the byte order of everything up to the next one.
      const bom = head.readUInt32LE(8);
      if (bom === BOM) little = true;
      else if (bom === BOM_SWAPPED) little = false;
      else throw new CaptureError(off + 8, 'pcapng byte-order magic is wrong');
    } else if (!sawHeader) {
      throw new CaptureError(off, 'pcapng file does not start with a section header block');
    }
    const type = little ? head.readUInt32LE(0) : head.readUInt32BE(0);
    const length = little ? head.readUInt32LE(4) : head.readUInt32BE(4);
    if (length < 12 || length % 4 !== 0)
      throw new CaptureError(off + 4, `pcapng block length ${length} is invalid (at least 12, a multiple of 4)`);
    if (length > MAX_BLOCK)
      throw new CaptureError(off + 4, `pcapng block length ${length} is larger than any block ft reads (16 MiB)`);
    const b = src.at(off, length);
    if (b.length < length) {
      if (options.partialTail) return { ...info, partialTailAt: off };
      throw new CaptureError(
        off + 4,
        `pcapng block of ${length} bytes runs past the end of the file`,
        CAPTURE_ERROR_CODES.truncated,
      );
    }
    const u16 = (o: number) => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (o: number) => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
    if (u32(length - 4) !== length)
      throw new CaptureError(off + length - 4, `pcapng block trailer length differs from its header (${length})`);
    const end = length - 4;
    const at = (o: number) => off + o;
    switch (type) {
      case PCAPNG_SHB: {
        if (length < 28) throw new CaptureError(off, 'pcapng section header block is too short');
        const major = u16(12);
        if (major !== 1)
          throw new CaptureError(at(12), `pcapng version ${major} is not 1.x`, CAPTURE_ERROR_CODES.unsupported);
        sawHeader = true;
        section = [];
        forEachOption(b, 24, end, u16, off, (code, o, len) => {
          if (code === 1) info.comments.push(b.toString('utf8', o, o + len));
        });
        break;
      }
      case 1: {
        if (length < 20) throw new CaptureError(off, 'pcapng interface description block is too short');
        const iface: NgInterface = { link: u16(8), snaplen: u32(12), unitsPerMs: 1000, offsetMs: 0 };
        forEachOption(b, 16, end, u16, off, (code, o, len) => {
          if (code === 2) iface.name = b.toString('utf8', o, o + len);
          else if (code === 9 && len >= 1) {
            const r = b[o] as number;
            const exp = r & 0x7f;
            if (r & 0x80 ? exp > 63 : exp > 18)
              throw new CaptureError(at(o), `if_tsresol ${r} is not a usable resolution`);
            iface.unitsPerMs = (r & 0x80 ? 2 ** exp : 10 ** exp) / 1000;
          } else if (code === 14 && len >= 8) {
            const hi = little ? b.readInt32LE(o + 4) : b.readInt32BE(o);
            const lo = little ? b.readUInt32LE(o) : b.readUInt32BE(o + 4);
            iface.offsetMs = (hi * 4294967296 + lo) * 1000;
          }
        });
        section.push(iface);
        info.interfaces.push({ link: iface.link, snaplen: iface.snaplen, ...(iface.name ? { name: iface.name } : {}) });
        break;
      }
      case 6:
      case 2: {
        // Enhanced packet block (6); the obsolete packet block (2) has a u16 interface id and a u16 drop count.
        if (length < 32) throw new CaptureError(off, 'packet block is too short');
        const id = type === 6 ? u32(8) : u16(8);
        const iface = section[id];
        if (iface === undefined) throw new CaptureError(at(8), `packet names interface ${id}, which is not declared`);
        const ts = u32(12) * 4294967296 + u32(16);
        const incl = u32(20);
        const orig = u32(24);
        if (28 + incl > length - 4) throw new CaptureError(at(20), `packet data of ${incl} bytes runs past its block`);
        info.frames++;
        yield {
          time: ts / iface.unitsPerMs + iface.offsetMs,
          link: iface.link,
          data: b.subarray(28, 28 + incl),
          originalLength: Math.max(orig, incl),
          interfaceId: id,
          offset: off,
        };
        break;
      }
      case 3: {
        // Simple packet block: interface 0, no timestamp; captured length = min(original, snaplen, block).
        const iface = section[0];
        if (iface === undefined) throw new CaptureError(off, 'simple packet block before any interface');
        if (length < 16) throw new CaptureError(off, 'simple packet block is too short');
        const orig = u32(8);
        const room = length - 16;
        const incl = Math.min(orig, iface.snaplen > 0 ? iface.snaplen : room, room);
        info.frames++;
        yield {
          time: 0,
          link: iface.link,
          data: b.subarray(12, 12 + incl),
          originalLength: Math.max(orig, incl),
          interfaceId: 0,
          offset: off,
        };
        break;
      }
      default:
        // Name resolution, statistics, decryption secrets, custom blocks: nothing the analysis needs.
        break;
    }
    off += length;
  }
  if (!sawHeader) throw new CaptureError(0, 'pcapng file has no section header block');
  return info;
}

/** Walks pcapng options (code u16, length u16, value padded to 4) from `start` to `end` of block `b` at `base`. */
function forEachOption(
  b: Buffer,
  start: number,
  end: number,
  u16: (o: number) => number,
  base: number,
  visit: (code: number, valueOffset: number, length: number) => void,
): void {
  let o = start;
  while (o + 4 <= end) {
    const code = u16(o);
    const len = u16(o + 2);
    if (code === 0) return;
    if (o + 4 + len > end) throw new CaptureError(base + o + 2, `option ${code} of ${len} bytes runs past its block`);
    visit(code, o + 4, len);
    o += 4 + Math.ceil(len / 4) * 4;
  }
}
