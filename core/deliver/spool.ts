import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Where an item came from (the event seq) and when it happened: what drop reports and lag are made of. */
export interface SpoolMeta {
  seq: number;
  atMs: number;
}

export interface SpoolItem<T> extends SpoolMeta {
  /** Position in this spool: 1, 2, 3, … (never reused). */
  n: number;
  value: T;
}

/** What the size bound cost: the oldest items went, unsent. */
export interface SpoolDrop {
  count: number;
  fromSeq: number;
  toSeq: number;
}

export interface DiskSpoolOptions<T> {
  dir: string;
  /** The bound on the spool's files; past it the oldest segment goes (drop-oldest). */
  maxBytes: number;
  /** Segment size (default maxBytes / 8, between 64 KiB and 8 MiB): the granularity of drop-oldest. */
  segmentBytes?: number;
  metaOf(value: T): SpoolMeta;
  /** Items kept in memory for the sender (the spool's tail); older ones are read back from disk. */
  memoryItems?: number;
}

interface Segment {
  file: string;
  first: number;
  last: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  /** Full: nothing more is appended to it. */
  sealed: boolean;
}

const pad = (n: number) => n.toString().padStart(16, '0');
const HEAD = 'head';

/**
 * A destination's backlog on disk, for deliveries that must survive a long outage and a restart: append-only
 * NDJSON segments, each append fdatasync'd before it resolves (so the caller may acknowledge its source), a
 * `head` file naming the last delivered item, and a size bound: when the files outgrow it, the oldest segment is
 * dropped whole (drop-oldest, counted and reported). A torn last line after a crash is cut at open.
 *
 * One writer per directory (the process that owns the state directory). Export sinks each run one.
 */
export class DiskSpool<T> {
  private segments: Segment[] = [];
  private active?: FileHandle;
  private nextN = 1;
  private head = 0;
  private droppedTotal = 0;
  private mem: SpoolItem<T>[] = [];
  private waiters: (() => void)[] = [];
  private headWrite?: Promise<void>;
  private headWanted = false;
  private closed = false;
  private readonly segmentBytes: number;

  private constructor(private readonly o: DiskSpoolOptions<T>) {
    this.segmentBytes = o.segmentBytes ?? Math.max(64 * 1024, Math.min(8 * 1024 * 1024, Math.floor(o.maxBytes / 8)));
  }

  static async open<T>(o: DiskSpoolOptions<T>): Promise<DiskSpool<T>> {
    const s = new DiskSpool(o);
    await s.load();
    return s;
  }

  /** Items appended and neither delivered nor dropped. */
  get pending(): number {
    return this.nextN - 1 - this.head;
  }

  get bytes(): number {
    return this.segments.reduce((a, s) => a + s.bytes, 0);
  }

  /** Items dropped by the size bound since this spool was created (persisted with the head). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** The last item delivered (or dropped). */
  get delivered(): number {
    return this.head;
  }

  private async load(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    try {
      const h = JSON.parse(await readFile(join(this.o.dir, HEAD), 'utf8')) as { head?: number; dropped?: number };
      this.head = Number.isSafeInteger(h.head) ? (h.head as number) : 0;
      this.droppedTotal = Number.isSafeInteger(h.dropped) ? (h.dropped as number) : 0;
    } catch {
      /* a new spool */
    }
    const files = (await readdir(this.o.dir)).filter((f) => /^\d{16}\.ndjson$/.test(f)).sort();
    for (const file of files) {
      const path = join(this.o.dir, file);
      const text = await readFile(path, 'utf8');
      // A crash mid-append leaves a torn last line: cut it (it was never acknowledged to the source).
      const end = text.lastIndexOf('\n') + 1;
      if (end < text.length) {
        const fh = await open(path, 'r+');
        await fh.truncate(Buffer.byteLength(text.slice(0, end)));
        await fh.close();
      }
      const lines = text.slice(0, end).split('\n').filter(Boolean);
      if (lines.length === 0) {
        await rm(path, { force: true });
        continue;
      }
      const firstLine = JSON.parse(lines[0] as string) as { n: number; s: number };
      const lastLine = JSON.parse(lines[lines.length - 1] as string) as { n: number; s: number };
      this.segments.push({
        file,
        first: firstLine.n,
        last: lastLine.n,
        bytes: Buffer.byteLength(text.slice(0, end)),
        firstSeq: firstLine.s,
        lastSeq: lastLine.s,
        sealed: true,
      });
    }
    const last = this.segments[this.segments.length - 1];
    if (last && last.bytes < this.segmentBytes) last.sealed = false;
    this.nextN = Math.max(this.head, last?.last ?? 0) + 1;
    await this.removeDelivered();
  }

  /** Resolves once the items are on disk (fdatasync'd). The size bound is applied after: drops are returned. */
  async append(values: readonly T[]): Promise<SpoolDrop | undefined> {
    if (this.closed) throw new Error('spool closed');
    if (values.length === 0) return undefined;
    const items: SpoolItem<T>[] = values.map((value) => ({ n: this.nextN++, ...this.o.metaOf(value), value }));
    let chunk: string[] = [];
    let chunkBytes = 0;
    let chunkFirst: SpoolItem<T> | undefined;
    let chunkLast: SpoolItem<T> | undefined;
    const flush = async () => {
      if (!chunkFirst || !chunkLast) return;
      const seg = await this.activeSegment(chunkFirst);
      await (this.active as FileHandle).appendFile(chunk.join(''));
      seg.last = chunkLast.n;
      seg.lastSeq = chunkLast.seq;
      seg.bytes += chunkBytes;
      chunk = [];
      chunkBytes = 0;
      chunkFirst = undefined;
    };
    for (const it of items) {
      const line = `${JSON.stringify({ n: it.n, s: it.seq, t: it.atMs, r: it.value })}\n`;
      const b = Buffer.byteLength(line);
      const seg = this.segments[this.segments.length - 1];
      const open = seg && !seg.sealed ? seg.bytes : 0;
      if (open + chunkBytes > 0 && open + chunkBytes + b > this.segmentBytes) {
        await flush();
        await this.seal();
      }
      chunkFirst ??= it;
      chunkLast = it;
      chunk.push(line);
      chunkBytes += b;
    }
    await flush();
    await this.active?.datasync();
    this.mem.push(...items);
    const max = this.o.memoryItems ?? 10_000;
    if (this.mem.length > max) this.mem.splice(0, this.mem.length - max);
    const drop = await this.bound();
    for (const w of this.waiters.splice(0)) w();
    return drop;
  }

  /** The segment appends go to: the last one while it is open, else a new one starting at `first`. */
  private async activeSegment(first: SpoolItem<T>): Promise<Segment> {
    const seg = this.segments[this.segments.length - 1];
    if (seg && !seg.sealed) {
      this.active ??= await open(join(this.o.dir, seg.file), 'a');
      return seg;
    }
    const file = `${pad(first.n)}.ndjson`;
    this.active = await open(join(this.o.dir, file), 'a', 0o600);
    const s: Segment = {
      file,
      first: first.n,
      last: first.n - 1,
      bytes: 0,
      firstSeq: first.seq,
      lastSeq: first.seq,
      sealed: false,
    };
    this.segments.push(s);
    return s;
  }

  /** The last segment is full: synced and closed; the next append starts a new one. */
  private async seal(): Promise<void> {
    await this.active?.datasync();
    await this.active?.close();
    this.active = undefined;
    const seg = this.segments[this.segments.length - 1];
    if (seg) seg.sealed = true;
  }

  /** Drop-oldest: whole segments go until the files fit the bound again (the active one stays). */
  private async bound(): Promise<SpoolDrop | undefined> {
    let drop: SpoolDrop | undefined;
    while (this.bytes > this.o.maxBytes && this.segments.length > 1) {
      const seg = this.segments.shift() as Segment;
      if (!seg.sealed) {
        this.segments.unshift(seg);
        break;
      }
      await rm(join(this.o.dir, seg.file), { force: true });
      const undelivered = seg.last - Math.max(this.head, seg.first - 1);
      if (undelivered > 0) {
        const fromSeq = this.head >= seg.first ? this.seqAfter(seg) : seg.firstSeq;
        drop = drop
          ? { count: drop.count + undelivered, fromSeq: drop.fromSeq, toSeq: seg.lastSeq }
          : { count: undelivered, fromSeq, toSeq: seg.lastSeq };
        this.droppedTotal += undelivered;
        this.head = seg.last;
      }
    }
    if (this.mem.length > 0 && (this.mem[0] as SpoolItem<T>).n <= this.head)
      this.mem = this.mem.filter((m) => m.n > this.head);
    if (drop) await this.writeHead();
    return drop;
  }

  private seqAfter(seg: Segment): number {
    const m = this.mem.find((x) => x.n === this.head + 1);
    return m?.seq ?? seg.firstSeq;
  }

  /**
   * The oldest undelivered items, up to the limits (at least one item, whatever its size). Waits for an append
   * when there are none, until `signal` aborts (then resolves empty).
   */
  async peek(maxItems: number, maxBytes: number, signal?: AbortSignal): Promise<SpoolItem<T>[]> {
    while (this.pending === 0 && !this.closed && !signal?.aborted) {
      await new Promise<void>((r) => {
        this.waiters.push(r);
        signal?.addEventListener('abort', () => r(), { once: true });
      });
    }
    if (this.pending === 0) return [];
    const from = this.head + 1;
    let source: SpoolItem<T>[];
    if (this.mem.length > 0 && (this.mem[0] as SpoolItem<T>).n <= from) {
      const i = from - (this.mem[0] as SpoolItem<T>).n;
      source = this.mem.slice(i, i + maxItems);
    } else source = await this.readDisk(from, maxItems);
    const out: SpoolItem<T>[] = [];
    let bytes = 0;
    for (const it of source) {
      const b = JSON.stringify(it.value).length;
      if (out.length > 0 && bytes + b > maxBytes) break;
      out.push(it);
      bytes += b;
      if (out.length >= maxItems) break;
    }
    return out;
  }

  private async readDisk(from: number, maxItems: number): Promise<SpoolItem<T>[]> {
    const out: SpoolItem<T>[] = [];
    for (const seg of this.segments) {
      if (seg.last < from) continue;
      const text = await readFile(join(this.o.dir, seg.file), 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        if (!line) continue;
        const l = JSON.parse(line) as { n: number; s: number; t: number; r: T };
        if (l.n < from) continue;
        out.push({ n: l.n, seq: l.s, atMs: l.t, value: l.r });
        if (out.length >= maxItems) return out;
      }
    }
    return out;
  }

  /** The oldest undelivered item's time (lag), if any is in memory or cheaply known. */
  oldestPendingAt(): number | undefined {
    if (this.pending === 0) return undefined;
    const m = this.mem[0];
    if (m && m.n <= this.head + 1) return this.mem.find((x) => x.n === this.head + 1)?.atMs;
    return undefined;
  }

  /** Items up to `n` were delivered: the head moves (persisted soon after); segments fully behind it go. */
  async commit(n: number): Promise<void> {
    if (n <= this.head) return;
    this.head = Math.min(n, this.nextN - 1);
    if (this.mem.length > 0 && (this.mem[0] as SpoolItem<T>).n <= this.head) {
      const i = this.mem.findIndex((m) => m.n > this.head);
      this.mem = i < 0 ? [] : this.mem.slice(i);
    }
    await this.removeDelivered();
    await this.writeHead();
  }

  private async removeDelivered(): Promise<void> {
    while (this.segments.length > 0) {
      const seg = this.segments[0] as Segment;
      // The open segment stays (appends go on into it) until it is sealed.
      if (seg.last > this.head || !seg.sealed) break;
      this.segments.shift();
      await rm(join(this.o.dir, seg.file), { force: true });
    }
  }

  private writeHead(): Promise<void> {
    this.headWanted = true;
    this.headWrite ??= (async () => {
      try {
        while (this.headWanted) {
          this.headWanted = false;
          const tmp = join(this.o.dir, `${HEAD}.tmp`);
          await writeFile(tmp, JSON.stringify({ head: this.head, dropped: this.droppedTotal }), { mode: 0o600 });
          await rename(tmp, join(this.o.dir, HEAD));
        }
      } finally {
        this.headWrite = undefined;
      }
    })();
    return this.headWrite;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
    if (this.headWrite) await this.headWrite;
    await this.active?.close();
    this.active = undefined;
  }
}

/** Bytes a spool directory holds (for `ft export list` beside a running ft). */
export async function spoolBytes(dir: string): Promise<number> {
  try {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ndjson'));
    let total = 0;
    for (const f of files) total += (await stat(join(dir, f))).size;
    return total;
  } catch {
    return 0;
  }
}
