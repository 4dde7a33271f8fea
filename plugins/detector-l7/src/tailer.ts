import type { Stats } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface TailOptions {
  /** Paths; `*` and `?` are allowed in the last path component ("/var/log/nginx/*.access.log"). */
  files: string[];
  /** Where to begin in files that exist when tailing starts; files that appear later are read from their start. */
  startAt: 'end' | 'beginning';
  pollMs: number;
  /** A line longer than this is cut off and reported (memory stays bounded whatever a file holds). */
  maxLineBytes: number;
  /** After a rename, the old file is still read for this long (the server writes there until it reopens its log). */
  drainMs: number;
}

export interface TailEvents {
  /** Complete lines (no newline), in file order, with the path they came from. */
  lines(path: string, lines: string[]): void;
  /** A line over maxLineBytes was dropped. */
  oversize(path: string): void;
  /** Something worth a log line: rotation seen, file gone, file back, read error. */
  note(path: string, what: string): void;
}

interface Open {
  fd: FileHandle;
  ino: number;
  dev: number;
  pos: number;
  /** Bytes of an unfinished line, as latin1 text (binary-safe). */
  partial: string;
  /** Skipping the rest of an over-long line. */
  discarding: boolean;
}

interface Followed {
  path: string;
  current?: Open;
  /** Renamed-away files still being drained, with when to give up on each. */
  retired: { file: Open; until: number }[];
  missingNoted: boolean;
  /** Found by a glob: once gone (and drained) it is dropped rather than waited for. */
  fromGlob: boolean;
  /** The last note for this path: a failure repeating every poll is reported once until something changes. */
  lastNote?: string;
}

const CHUNK = 1 << 20;
/** At most this much per file per poll, so one huge backlog does not starve the others or the event loop. */
const MAX_PER_POLL = 16 << 20;

const hasWildcard = (p: string) => /[*?]/.test(p);

function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (const c of pattern) re += c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${re}$`);
}

/**
 * Follows access logs by polling: rotation by rename (a new inode at the path; the old file is drained first),
 * copytruncate (the file shrinks below what was read: read again from 0), deletion and re-creation. Reads only
 * whole lines; a partial last line waits for its newline. Polling rather than inotify: it sees every rotation
 * style the same way and costs one stat per file per poll.
 */
export class Tailer {
  private readonly followed = new Map<string, Followed>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private first = true;
  private lastGlobAt = 0;
  private stopped = false;

  constructor(
    private readonly options: TailOptions,
    private readonly events: TailEvents,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => {
      if (!this.polling) this.polling = this.poll().finally(() => (this.polling = undefined));
    }, this.options.pollMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
    for (const f of this.followed.values()) {
      for (const o of [f.current, ...f.retired.map((r) => r.file)]) if (o) await o.fd.close().catch(() => undefined);
      f.current = undefined;
      f.retired = [];
    }
  }

  /** Paths currently followed (globs expanded). */
  paths(): string[] {
    return [...this.followed.keys()];
  }

  /** Named files that do not exist right now (waited for). */
  missing(): string[] {
    return [...this.followed.values()].filter((f) => !f.current && f.missingNoted).map((f) => f.path);
  }

  /** One pass over every file; public so tests can drive it without timers. */
  async poll(): Promise<void> {
    if (this.first || this.now() - this.lastGlobAt >= 1000) await this.expand();
    for (const f of this.followed.values()) {
      if (this.stopped) return;
      await this.pollFile(f);
    }
    this.first = false;
  }

  private async expand(): Promise<void> {
    this.lastGlobAt = this.now();
    for (const pattern of this.options.files) {
      if (!hasWildcard(pattern)) {
        if (!this.followed.has(pattern))
          this.followed.set(pattern, { path: pattern, retired: [], missingNoted: false, fromGlob: false });
        continue;
      }
      const dir = dirname(pattern);
      if (hasWildcard(dir)) continue;
      const re = globToRegExp(basename(pattern));
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const n of names) {
        const p = join(dir, n);
        // Rotated copies (access.log.1, .gz) match broad globs like access.log*: they are history, not live logs.
        if (!re.test(n) || /\.(\d+|gz|bz2|xz|zst)$/.test(n) || this.followed.has(p)) continue;
        this.followed.set(p, { path: p, retired: [], missingNoted: false, fromGlob: true });
      }
    }
  }

  private async pollFile(f: Followed): Promise<void> {
    let st: Stats | undefined;
    try {
      st = await stat(f.path);
      if (!st.isFile()) st = undefined;
    } catch {
      st = undefined;
    }
    const cur = f.current;
    if (cur && (!st || st.ino !== cur.ino || st.dev !== cur.dev)) {
      // Renamed or deleted: the server may still be writing to it until it reopens, so keep reading it a while.
      f.retired.push({ file: cur, until: this.now() + this.options.drainMs });
      f.current = undefined;
      this.note(
        f,
        st ? 'rotated (a new file at the path); draining the old one' : 'gone; draining what was written to it',
      );
    }
    for (const r of [...f.retired]) {
      await this.readFrom(f.path, r.file);
      if (this.now() >= r.until) {
        this.flushPartial(f.path, r.file);
        await r.file.fd.close().catch(() => undefined);
        f.retired.splice(f.retired.indexOf(r), 1);
      }
    }
    if (!st) {
      if (f.fromGlob) {
        if (f.retired.length === 0) {
          this.followed.delete(f.path);
          this.events.note(f.path, 'removed; no longer followed (a new file matching the glob will be)');
        }
        return;
      }
      if (!f.missingNoted) this.note(f, 'does not exist (yet); waiting for it');
      f.missingNoted = true;
      return;
    }
    if (!f.current) {
      let fd: FileHandle;
      try {
        fd = await open(f.path, 'r');
      } catch (err) {
        this.note(f, `cannot open: ${(err as Error).message}`);
        return;
      }
      const fst = await fd.stat();
      const atEnd = this.first && this.options.startAt === 'end';
      f.current = { fd, ino: fst.ino, dev: fst.dev, pos: atEnd ? fst.size : 0, partial: '', discarding: false };
      if (f.missingNoted) this.note(f, 'appeared; reading from its start');
      f.missingNoted = false;
      if (f.lastNote?.startsWith('cannot')) f.lastNote = undefined;
    }
    await this.readFrom(f.path, f.current);
  }

  private note(f: Followed, what: string): void {
    if (what === f.lastNote && what.startsWith('cannot')) return;
    f.lastNote = what;
    this.events.note(f.path, what);
  }

  private async readFrom(path: string, o: Open): Promise<void> {
    let size: number;
    try {
      size = (await o.fd.stat()).size;
    } catch (err) {
      this.events.note(path, `cannot stat: ${(err as Error).message}`);
      return;
    }
    if (size < o.pos) {
      // copytruncate: the server kept its file and it was emptied. What was not yet read is in the copy.
      this.events.note(path, `truncated (${o.pos} → ${size} bytes); reading from the start`);
      this.flushPartial(path, o);
      o.pos = 0;
    }
    let budget = MAX_PER_POLL;
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, size - o.pos)));
    while (o.pos < size && budget > 0) {
      let n: number;
      try {
        n = (await o.fd.read(buf, 0, Math.min(buf.length, size - o.pos), o.pos)).bytesRead;
      } catch (err) {
        this.events.note(path, `read failed: ${(err as Error).message}`);
        return;
      }
      if (n <= 0) break;
      o.pos += n;
      budget -= n;
      this.split(path, o, buf.toString('latin1', 0, n));
    }
  }

  private split(path: string, o: Open, text: string): void {
    const out: string[] = [];
    const max = this.options.maxLineBytes;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      if (o.discarding) {
        o.discarding = false;
      } else if (o.partial.length + (nl - start) > max) {
        this.events.oversize(path);
      } else {
        let line = o.partial.length > 0 ? o.partial + text.slice(start, nl) : text.slice(start, nl);
        if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
        out.push(line);
      }
      o.partial = '';
      start = nl + 1;
    }
    if (start < text.length && !o.discarding) {
      const rest = text.length - start;
      if (o.partial.length + rest > max) {
        o.partial = '';
        o.discarding = true;
        this.events.oversize(path);
      } else o.partial += text.slice(start);
    }
    if (out.length > 0) this.events.lines(path, out);
  }

  /** A file given up on (drained or truncated) may end without a newline: its last line is still a line. */
  private flushPartial(path: string, o: Open): void {
    if (o.partial.length > 0) this.events.lines(path, [o.partial]);
    o.partial = '';
    o.discarding = false;
  }
}
