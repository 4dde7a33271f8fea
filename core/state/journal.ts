import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { open, readFile, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The on-disk journal: an 8-byte magic, then records framed as
 *   u32 BE payload length | u32 BE CRC-32 over (length bytes ‖ payload) | payload (UTF-8 JSON).
 * Appends are fsync'd (fdatasync) before they are acknowledged; concurrent appends are committed together.
 */
export const MAGIC = Buffer.from('FTJRNL01', 'latin1');
export const HEADER_BYTES = 8;
/**
 * A bad record that starts within this many bytes of the end of the file is a torn write (the tail of the last,
 * unacknowledged batch: writeback may persist a later page before an earlier one). Further back it is corruption.
 * Batches are capped at this size so the rule always holds.
 */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export class JournalCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly recordIndex: number,
    readonly reason: string,
    /** The intact records before the damage, and where they end (what --repair-state keeps). */
    readonly intact: unknown[] = [],
    readonly goodEnd = 0,
  ) {
    super(
      `journal ${file} is corrupt at byte ${offset} (record #${recordIndex}): ${reason}. ` +
        `The ${recordIndex} records before it are intact. Nothing was changed or deleted; ` +
        `run with --repair-state to move the file aside (kept next to it) and continue from the intact records.`,
    );
    this.name = 'JournalCorruptError';
  }
}

export function encodeRecord(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  if (payload.length === 0 || payload.length > MAX_BATCH_BYTES - HEADER_BYTES) {
    throw new RangeError(`journal record of ${payload.length} bytes is outside 1..${MAX_BATCH_BYTES - HEADER_BYTES}`);
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload, crc32(frame.subarray(0, 4))), 4);
  payload.copy(frame, HEADER_BYTES);
  return frame;
}

export interface TornTail {
  offset: number;
  bytes: number;
  reason: string;
}

export interface ScanResult {
  records: unknown[];
  /** Offset just past the last intact record: where the next append goes. */
  goodEnd: number;
  torn?: TornTail;
}

/**
 * Reads every intact record of a journal image. A damaged record near the end is a torn write: reported in
 * `torn`, never fatal. A damaged record with more than MAX_BATCH_BYTES after it throws JournalCorruptError.
 */
export function scanJournal(buf: Buffer, file: string): ScanResult {
  if (buf.length < MAGIC.length) {
    // A file torn while its header was written holds a prefix of the magic (or nothing).
    if (MAGIC.subarray(0, buf.length).equals(buf)) {
      return {
        records: [],
        goodEnd: 0,
        ...(buf.length > 0 ? { torn: { offset: 0, bytes: buf.length, reason: 'incomplete header' } } : {}),
      };
    }
    throw new JournalCorruptError(file, 0, 0, 'not an ft journal (bad magic)');
  }
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC))
    throw new JournalCorruptError(file, 0, 0, 'not an ft journal (bad magic)');
  const frames = readFrames(buf, MAGIC.length, file);
  if (frames.problem === undefined) return { records: frames.values, goodEnd: frames.end };
  if (buf.length - frames.end <= MAX_BATCH_BYTES)
    return {
      records: frames.values,
      goodEnd: frames.end,
      torn: { offset: frames.end, bytes: buf.length - frames.end, reason: frames.problem },
    };
  throw new JournalCorruptError(file, frames.end, frames.values.length, frames.problem, frames.values, frames.end);
}

export interface Frames {
  values: unknown[];
  /** Where each value's frame ends (the offset of the next frame). */
  ends: number[];
  /** Offset just past the last intact frame. */
  end: number;
  /** Why reading stopped before the end of `buf`: an incomplete or damaged frame starts at `end`. */
  problem?: string;
}

/**
 * The frames of a journal image from `start` (just past the magic, or a frame boundary found earlier), up to the
 * first incomplete or damaged one. Whether that is a torn write, a write still in progress (a reader beside the
 * writer) or corruption is the caller's call: it depends on where in the file it is. A frame that passes its
 * checksum but is not JSON is never skipped: it throws JournalCorruptError.
 */
export function readFrames(buf: Buffer, start: number, file: string, recordBase = 0): Frames {
  const values: unknown[] = [];
  const ends: number[] = [];
  let off = start;
  const stop = (problem: string): Frames => ({ values, ends, end: off, problem });
  while (off < buf.length) {
    if (buf.length - off < HEADER_BYTES) return stop('incomplete record header');
    const len = buf.readUInt32BE(off);
    if (len === 0 || len > MAX_BATCH_BYTES - HEADER_BYTES) return stop(`impossible record length ${len}`);
    if (off + HEADER_BYTES + len > buf.length) return stop(`record of ${len} bytes runs past the end of the file`);
    const payload = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len);
    const expected = buf.readUInt32BE(off + 4);
    if (crc32(payload, crc32(buf.subarray(off, off + 4))) !== expected) return stop('checksum mismatch');
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      // The checksum matched, so these are the bytes we wrote: a bug, not a torn write. Never skip silently.
      throw new JournalCorruptError(
        file,
        off,
        recordBase + values.length,
        'record passes its checksum but is not JSON',
        values,
        off,
      );
    }
    values.push(value);
    off += HEADER_BYTES + len;
    ends.push(off);
  }
  return { values, ends, end: off };
}

/** Reads a journal without changing it (readers run beside the writer: a torn tail may be a write in progress). */
export async function readJournal(file: string): Promise<ScanResult> {
  return scanJournal(await readFile(file), file);
}

/** fsync of a directory, so a created, renamed or removed entry survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a complete journal file (header + records) atomically: temp file, fsync, rename, fsync dir. */
export async function writeJournalFile(file: string, values: unknown[]): Promise<void> {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, MAGIC);
    for (const v of values) writeSync(fd, encodeRecord(v));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const { rename } = await import('node:fs/promises');
  await rename(tmp, file);
  fsyncDir(dirname(file));
}

interface Pending {
  frames: Buffer[];
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface OpenedJournal {
  writer: JournalWriter;
  records: unknown[];
  /** Set when a torn tail was cut off; the cut bytes are kept in `savedTo`. */
  torn?: TornTail & { savedTo: string };
}

/** The single writer of one journal file. */
export class JournalWriter {
  private pending: Pending[] = [];
  private flushing = false;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private sizeBytes: number,
  ) {}

  /**
   * Opens (creating if absent) a journal for appending. A torn tail is copied to `<file>.torn-<time>` and cut off,
   * so new records never follow garbage; corruption further back throws JournalCorruptError and changes nothing.
   */
  static async open(file: string): Promise<OpenedJournal> {
    let image: Buffer;
    try {
      image = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      image = Buffer.alloc(0);
    }
    const scan = scanJournal(image, file);
    let torn: OpenedJournal['torn'];
    if (scan.torn) {
      const savedTo = `${file}.torn-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await writeFile(savedTo, image.subarray(scan.torn.offset), { mode: 0o600 });
      torn = { ...scan.torn, savedTo };
    }
    const fh = await open(file, image.length === 0 ? 'w' : 'r+', 0o600);
    try {
      if (scan.goodEnd === 0) {
        await fh.truncate(0);
        await fh.write(MAGIC, 0, MAGIC.length, 0);
        await fh.datasync();
        fsyncDir(dirname(file));
      } else if (scan.goodEnd < image.length) {
        await fh.truncate(scan.goodEnd);
        await fh.datasync();
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    const size = Math.max(scan.goodEnd, MAGIC.length);
    return { writer: new JournalWriter(file, fh, size), records: scan.records, ...(torn ? { torn } : {}) };
  }

  get size(): number {
    return this.sizeBytes;
  }

  /** Resolves once every record is on disk (written and fdatasync'd). */
  append(values: unknown[]): Promise<void> {
    let frames: Buffer[];
    try {
      frames = values.map(encodeRecord);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.appendFrames(frames);
  }

  /** `append` for frames the caller encoded itself (with encodeRecord): it needed their size first. */
  appendFrames(frames: Buffer[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`journal ${this.file} is closed`));
    if (frames.length === 0) return Promise.resolve();
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    return new Promise((resolve, reject) => {
      this.pending.push({ frames, bytes, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      // Group commit: every append waiting now shares one write and one fdatasync, up to the batch cap.
      const batch: Pending[] = [];
      let bytes = 0;
      while (this.pending.length > 0) {
        const next = this.pending[0] as Pending;
        if (batch.length > 0 && bytes + next.bytes > MAX_BATCH_BYTES) break;
        batch.push(this.pending.shift() as Pending);
        bytes += next.bytes;
      }
      const buf = Buffer.concat(
        batch.flatMap((p) => p.frames),
        bytes,
      );
      try {
        let written = 0;
        while (written < buf.length) {
          const r = await this.fh.write(buf, written, buf.length - written, this.sizeBytes + written);
          written += r.bytesWritten;
        }
        await this.fh.datasync();
        this.sizeBytes += buf.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        // What reached the file is an unacknowledged tail: cut it so the next batch does not follow it.
        await this.fh.truncate(this.sizeBytes).catch(() => undefined);
        for (const p of batch) p.reject(err as Error);
      }
    }
    this.flushing = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing || this.pending.length > 0) await new Promise((r) => setImmediate(r));
    this.closed = true;
    await this.fh.close();
  }
}

/** The one log line for a torn tail cut at open (the state journal and the event log say it alike). */
export function warnTornTail(
  logger: { warn(obj: object, msg?: string): void } | undefined,
  file: string,
  torn: NonNullable<OpenedJournal['torn']>,
  what: string,
): void {
  logger?.warn(
    { file, offset: torn.offset, bytes: torn.bytes, reason: torn.reason, savedTo: torn.savedTo },
    `${what} ended in a torn write (a crash during an append); the unacknowledged tail was cut off and kept aside`,
  );
}

export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
