import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import {
  JournalWriter,
  MAGIC,
  encodeRecord,
  fsyncDir,
  readFrames,
  warnTornTail,
  type OpenedJournal,
} from '../state/journal.js';
import {
  publishTo,
  readForward,
  type EventAppender,
  type EventDraft,
  type EventSource,
  type LogCursor,
  type Lost,
  type Publish,
  type EventLogger,
} from './log.js';
import { decodeTrusted, encodeEvent, type FtEvent, type WireEvent } from '@ft/sdk';

export interface JournalEventLogOptions {
  /** The log's directory (`<state dir>/events`). */
  dir: string;
  /** Readers beside the writer (`ft events`, `ft audit`): nothing is written, no lock is needed. */
  readOnly?: boolean;
  /** Tenant for drafts that name none. */
  tenant?: string;
  /** Written into every event (default: this host's name). */
  node?: string;
  /**
   * Archive mode (a fleet controller): seqs come from the fleet's sequence in Redis (`appendStored`), so this log
   * may skip numbers; the events it holds are still strictly increasing. `append` is refused.
   */
  archive?: boolean;
  /**
   * Whose sequence this log holds: "embedded" (default) or the fleet's id. Opening a directory that holds another
   * sequence moves it aside (see claimIdentity).
   */
  identity?: string;
  /** Start a new segment past this size (default 8 MiB). */
  segmentBytes?: number;
  /** Keep at most about this much (default 256 MiB): the oldest segments go first. */
  retainBytes?: number;
  /** Segments last written longer ago than this go (default 90 days). */
  retainDays?: number;
  logger?: EventLogger;
  now?: () => number;
}

const SEGMENT_RE = /^(\d{16})\.log$/;
const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(16, '0')}.log`;
/** One write (and one fdatasync) carries at most this much: well under the journal's torn-write window. */
const BATCH_BYTES = 1024 * 1024;

interface Pending {
  drafts?: readonly EventDraft[];
  stored?: readonly FtEvent[];
  resolve: (events: FtEvent[]) => void;
  reject: (err: Error) => void;
}

/**
 * The embedded event log: segments of the state journal's format (CRC-framed records, fdatasync before an append
 * resolves, a torn tail cut and kept aside at open), each named by the first seq it holds:
 *
 *   <dir>/0000000000000001.log   seqs 1…
 *   <dir>/0000000000052113.log   seqs 52113… (the active segment)
 *
 * One writer loop assigns seqs when it writes, so an append that fails leaves no gap and a restart continues
 * from the last intact record. Retention drops whole segments, oldest first, by total size and by age.
 */
export class JournalEventLog implements EventAppender, EventSource {
  readonly description: string;
  private writer?: JournalWriter;
  private activeFirst = 1;
  private last = 0;
  private pending: Pending[] = [];
  private flushing = false;
  private closed = false;
  private readonly listeners = new Set<Publish>();
  private readonly now: () => number;
  readonly node: string;

  private constructor(private readonly opts: JournalEventLogOptions) {
    this.description = `event journal at ${opts.dir}`;
    this.now = opts.now ?? Date.now;
    this.node = opts.node ?? hostname();
  }

  static async open(opts: JournalEventLogOptions): Promise<JournalEventLog> {
    const log = new JournalEventLog(opts);
    await log.load();
    return log;
  }

  get dir(): string {
    return this.opts.dir;
  }

  private async load(): Promise<void> {
    const { dir } = this.opts;
    if (this.opts.readOnly) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.claimIdentity();
    const segs = await listSegments(dir);
    const first = segs.length > 0 ? (segs[segs.length - 1] as number) : 1;
    const opened = await this.openSegment(first);
    this.writer = opened.writer;
    this.activeFirst = first;
    const lastRec = opened.records[opened.records.length - 1] as WireEvent | undefined;
    // An empty segment is named by the seq it was opened for: the one before it is the last written.
    this.last = lastRec ? lastRec.seq : first - 1;
    await this.prune();
  }

  /**
   * One log holds one sequence: this state directory's own (embedded), or one fleet's (an archive). A directory
   * last written under another sequence (ft run without --redis, then with; another Redis) is moved aside whole,
   * kept beside it for reading, and a fresh log starts: seqs of two sequences never mix in one file.
   */
  private async claimIdentity(): Promise<void> {
    const { dir } = this.opts;
    const want = this.opts.identity ?? 'embedded';
    const file = join(dir, 'identity');
    const had = (await readFile(file, 'utf8').catch(() => undefined))?.trim();
    const segs = await listSegments(dir);
    const current = had ?? (segs.length > 0 ? 'embedded' : undefined);
    if (current !== undefined && current !== want) {
      const aside = `${dir}.${current.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}.${new Date(this.now()).toISOString().replace(/[:.]/g, '-')}`;
      await rename(dir, aside);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      fsyncDir(dirname(dir));
      this.opts.logger?.warn(
        { dir, movedTo: aside, was: current, now: want },
        'the event log here belongs to another sequence (embedded vs a fleet, or another fleet): moved aside (kept) and a new one started',
      );
    }
    if (had !== want) {
      await writeFile(`${file}.tmp`, `${want}\n`, { mode: 0o600 });
      await rename(`${file}.tmp`, file);
      fsyncDir(dir);
    }
  }

  private async openSegment(first: number): Promise<OpenedJournal> {
    const file = join(this.opts.dir, segmentName(first));
    const opened = await JournalWriter.open(file);
    // Nothing in a torn tail was ever published: events are published only once durable.
    if (opened.torn) warnTornTail(this.opts.logger, file, opened.torn, 'event log');
    return opened;
  }

  /** Called with every batch right after it is durable. */
  onPublish(listener: Publish): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async lastSeq(): Promise<number> {
    if (!this.opts.readOnly) return this.last;
    // A reader asks the files (the writer is another process): the newest segment that holds anything.
    const segs = await listSegments(this.opts.dir);
    for (let i = segs.length - 1; i >= 0; i--) {
      let last = 0;
      const segment = { cursor: (from: number) => new JournalCursor(this.opts.dir, from, false, this.opts.logger) };
      for await (const { events } of readForward(segment, segs[i], 4096)) last = events.at(-1)?.seq ?? last;
      if (last > 0) return last;
    }
    return 0;
  }

  /** The oldest seq still held (retention removes older ones), or the next one when the log is empty. */
  async firstSeq(): Promise<number> {
    const segs = await listSegments(this.opts.dir);
    return segs.length > 0 ? (segs[0] as number) : 1;
  }

  async seqAt(ms: number): Promise<number> {
    // A segment last written (its mtime) more than a minute before `ms` holds nothing that new.
    const segs = await listSegments(this.opts.dir);
    for (const first of segs) {
      const st = await stat(join(this.opts.dir, segmentName(first))).catch(() => undefined);
      if (st && st.mtimeMs >= ms - 60_000) return first;
    }
    return segs.length > 0 ? (segs[segs.length - 1] as number) : 1;
  }

  cursor(from: number): LogCursor {
    return new JournalCursor(this.opts.dir, from, !this.opts.archive, this.opts.logger);
  }

  append(drafts: readonly EventDraft[]): Promise<FtEvent[]> {
    if (this.opts.archive)
      return Promise.reject(new Error(`${this.description} is a fleet archive: its seqs come from Redis`));
    return this.enqueue({ drafts });
  }

  /** Archive mode: events that already have their (fleet) seq. Ones at or below the last seq held are skipped. */
  appendStored(events: readonly FtEvent[]): Promise<FtEvent[]> {
    return this.enqueue({ stored: events });
  }

  private enqueue(p: Omit<Pending, 'resolve' | 'reject'>): Promise<FtEvent[]> {
    if (this.opts.readOnly || !this.writer)
      return Promise.reject(new Error(`${this.description} was opened read-only`));
    if (this.closed) return Promise.reject(new Error(`${this.description} is closed`));
    if ((p.drafts ?? p.stored ?? []).length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ ...p, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      // Seqs are given here, in write order: a batch that fails to write gives its numbers back.
      const batch: { p: Pending; events: FtEvent[] }[] = [];
      const frames: Buffer[] = [];
      let bytes = 0;
      let seq = this.last;
      const failed: { p: Pending; err: Error }[] = [];
      while (this.pending.length > 0 && bytes < BATCH_BYTES) {
        const p = this.pending.shift() as Pending;
        const events: FtEvent[] = [];
        const f: Buffer[] = [];
        try {
          if (p.drafts) {
            const at = this.now();
            for (const d of p.drafts) {
              const e = {
                seq: seq + events.length + 1,
                id: randomUUID(),
                at: d.at ?? at,
                tenant: d.tenant ?? this.opts.tenant ?? 'default',
                node: this.node,
                type: d.type,
                data: d.data,
              } as FtEvent;
              f.push(encodeRecord(encodeEvent(e)));
              events.push(e);
            }
          } else {
            let top = seq;
            for (const e of p.stored ?? []) {
              if (e.seq <= top) continue;
              top = e.seq;
              f.push(encodeRecord(encodeEvent(e)));
              events.push(e);
            }
          }
        } catch (err) {
          failed.push({ p, err: err as Error });
          continue;
        }
        if (events.length > 0) seq = (events[events.length - 1] as FtEvent).seq;
        batch.push({ p, events });
        for (const x of f) {
          frames.push(x);
          bytes += x.length;
        }
      }
      for (const x of failed) x.p.reject(x.err);
      if (batch.length === 0) continue;
      try {
        if (frames.length > 0) {
          const firstSeq = (batch.find((b) => b.events.length > 0)?.events[0] as FtEvent).seq;
          if ((this.writer as JournalWriter).size > (this.opts.segmentBytes ?? 8 * 1024 * 1024))
            await this.rotate(firstSeq);
          await (this.writer as JournalWriter).appendFrames(frames);
        }
        this.last = seq;
      } catch (err) {
        for (const b of batch) b.p.reject(err as Error);
        continue;
      }
      const all = batch.flatMap((b) => b.events);
      for (const b of batch) b.p.resolve(b.events);
      if (all.length > 0) this.publish(all);
    }
    this.flushing = false;
  }

  private publish(events: FtEvent[]): void {
    publishTo(this.listeners, events, this.opts.logger);
  }

  private async rotate(firstSeq: number): Promise<void> {
    const old = this.writer;
    const opened = await this.openSegment(firstSeq);
    this.writer = opened.writer;
    this.activeFirst = firstSeq;
    await old?.close();
    await this.prune().catch((err: Error) =>
      this.opts.logger?.warn(
        { err: err.message, dir: this.opts.dir },
        'event log retention failed; will retry at the next segment',
      ),
    );
  }

  /** Drops the oldest segments (never the active one) past the size bound or the age bound. */
  private async prune(): Promise<void> {
    const { dir } = this.opts;
    const segs = await listSegments(dir);
    const info = await Promise.all(
      segs.map(async (first) => {
        const st = await stat(join(dir, segmentName(first))).catch(() => undefined);
        return { first, size: st?.size ?? 0, mtime: st?.mtimeMs ?? 0 };
      }),
    );
    let total = info.reduce((n, s) => n + s.size, 0);
    const maxBytes = this.opts.retainBytes ?? 256 * 1024 * 1024;
    const oldest = this.now() - (this.opts.retainDays ?? 90) * 86400_000;
    let removed = false;
    for (const s of info) {
      if (s.first === this.activeFirst) break;
      if (total <= maxBytes && s.mtime >= oldest) break;
      await unlink(join(dir, segmentName(s.first))).catch(() => undefined);
      total -= s.size;
      removed = true;
      this.opts.logger?.info(
        { dir, segment: segmentName(s.first), bytes: s.size },
        'event log segment removed by retention (size or age bound)',
      );
    }
    if (removed) fsyncDir(dir);
  }

  /** Resolves once everything appended so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.flushing || this.pending.length > 0) await new Promise((r) => setImmediate(r));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.drain();
    this.closed = true;
    this.listeners.clear();
    await this.writer?.close();
  }
}

export async function listSegments(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  return names
    .map((n) => SEGMENT_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The most one read pulls in: any single record fits (records are capped well below this). */
const READ_BYTES = 8 * 1024 * 1024;

/**
 * Reads the segments forward from a seq. Beside a live writer, the active segment may end in a record still being
 * written: the cursor stops before it and picks it up on a later call. A segment removed by retention under the
 * cursor's feet moves it to the oldest one left, and the events it skipped are reported as lost.
 */
export class JournalCursor implements LogCursor {
  private seg?: { first: number; offset: number };

  constructor(
    private readonly dir: string,
    private pos: number,
    /** Seqs have no gaps here (not a fleet archive): a jump is events lost to retention. */
    private readonly contiguous: boolean,
    private readonly logger?: EventLogger,
  ) {}

  get position(): number {
    return this.pos;
  }

  async next(limit: number): Promise<{ events: FtEvent[]; lost?: Lost }> {
    const out: FtEvent[] = [];
    let lost: Lost | undefined;
    let segs = await listSegments(this.dir);
    while (out.length < limit) {
      if (!this.seg) {
        if (segs.length === 0) break;
        let first = segs[0] as number;
        for (const s of segs) if (s <= this.pos) first = s;
        this.seg = { first, offset: MAGIC.length };
      }
      const file = join(this.dir, segmentName(this.seg.first));
      let buf: Buffer;
      try {
        buf = await readAt(file, this.seg.offset, READ_BYTES);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // Removed by retention while we read: start again from the oldest segment left.
        this.seg = undefined;
        segs = await listSegments(this.dir);
        continue;
      }
      const frames = readFrames(buf, 0, file);
      const base = this.seg.offset;
      for (let i = 0; i < frames.values.length && out.length < limit; i++) {
        const w = frames.values[i] as WireEvent;
        this.seg.offset = base + (frames.ends[i] as number);
        if (typeof w?.seq !== 'number' || w.seq < this.pos) continue;
        if (this.contiguous && w.seq > this.pos) {
          const gap = { fromSeq: lost?.fromSeq ?? this.pos, toSeq: w.seq - 1 };
          lost = { ...gap, count: gap.toSeq - gap.fromSeq + 1 };
        }
        try {
          out.push(decodeTrusted(w));
        } catch (err) {
          this.logger?.warn({ file, seq: w.seq, err: (err as Error).message }, 'skipped an event this ft cannot read');
        }
        this.pos = w.seq + 1;
      }
      if (out.length >= limit) break;
      // The read window (READ_BYTES, twice the largest record) cut the buffer: read on from the new offset.
      if (buf.length === READ_BYTES && frames.values.length > 0) continue;
      const current = this.seg.first;
      const newer = segs.find((s) => s > current) ?? (await listSegments(this.dir)).find((s) => s > current);
      if (frames.problem !== undefined) {
        // The active segment's last record is still being written (or was torn and will be cut at the writer's next
        // open): wait for it. In a segment the writer has left, the rest is unreadable: go on with the next one.
        if (newer === undefined) break;
        this.logger?.warn(
          { file, offset: this.seg.offset, reason: frames.problem },
          'event log segment ends in an unreadable record; continuing with the next segment',
        );
      }
      // At the end of this segment: on to the next one, if the writer has started one.
      if (newer === undefined) break;
      segs = await listSegments(this.dir);
      this.seg = { first: newer, offset: MAGIC.length };
    }
    return lost ? { events: out, lost } : { events: out };
  }

  async close(): Promise<void> {}
}

async function readAt(file: string, offset: number, max: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const len = Math.max(0, Math.min(max, size - offset));
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const r = await fh.read(buf, got, len - got, offset + got);
      if (r.bytesRead === 0) break;
      got += r.bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}
