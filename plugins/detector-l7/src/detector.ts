import type { Detector, Health, PluginLogger, Sample } from '@ft/sdk';
import { Aggregator } from './aggregate.js';
import type { L7Config } from './config.js';
import { describeFormat, detectFormat, parserFor, type FormatSpec } from './formats.js';
import type { LineParser, SkipReason } from './record.js';
import { Tailer } from './tailer.js';

type FormatChoice = FormatSpec | 'auto';

interface FileState {
  format: FormatChoice;
  site?: string;
  parser?: LineParser;
  /** Lines held back while auto-detect waits for enough of them (at most AUTO_LINES). */
  pending: string[];
  pendingSince?: number;
}

/** Auto-detect decides on this many lines, or on what it has after AUTO_WAIT_MS. */
const AUTO_LINES = 20;
const AUTO_WAIT_MS = 1000;
const FLUSH_MS = 100;
/** A problem stays in health() this long after it was last seen. */
const PROBLEM_TTL_MS = 30_000;

export interface L7Counters {
  lines: number;
  parsed: number;
  skipped: Record<SkipReason | 'undetected', number>;
}

/**
 * Tails the configured access logs, parses each line with its file's format, and emits one Sample per site per
 * window with `http` filled. Nothing is opened before start(). Bad lines are counted by reason and skipped.
 */
export class L7Detector implements Detector {
  private tailer: Tailer | undefined;
  private aggregator: Aggregator | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sink: ((s: Sample) => void) | undefined;
  private readonly files = new Map<string, FileState>();
  private readonly problems = new Map<string, number>();
  readonly counters: L7Counters = {
    lines: 0,
    parsed: 0,
    skipped: { shape: 0, time: 0, status: 0, client: 0, request: 0, oversize: 0, json: 0, undetected: 0 },
  };

  constructor(
    readonly config: L7Config,
    private readonly name: string,
    private readonly logger?: PluginLogger,
    private readonly now: () => number = Date.now,
  ) {}

  async start(sink: (sample: Sample) => void): Promise<void> {
    if (this.tailer) return;
    this.sink = sink;
    const c = this.config;
    this.aggregator = new Aggregator(
      {
        source: this.name,
        windowMs: c.windowMs,
        graceMs: c.graceMs,
        topN: c.topN,
        maxSites: c.maxSites,
        sites: c.sites,
      },
      this.now(),
    );
    this.tailer = new Tailer(
      {
        files: c.files.map((f) => (typeof f === 'string' ? f : f.path)),
        startAt: c.startAt,
        pollMs: c.pollMs,
        maxLineBytes: c.maxLineBytes,
        drainMs: 5000,
      },
      {
        lines: (path, lines) => this.onLines(path, lines),
        oversize: (path) => {
          this.counters.lines++;
          this.counters.skipped.oversize++;
          this.problem(`${path}: a line over ${c.maxLineBytes} bytes was skipped`);
        },
        note: (path, what) => {
          this.logger?.info({ path }, `l7 ${this.name}: ${path} ${what}`);
          if (/does not exist|cannot|failed/.test(what)) this.problem(`${path} ${what}`);
        },
      },
      this.now,
    );
    await this.tailer.start();
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.tailer?.stop();
    this.tailer = undefined;
  }

  health(): Health {
    const cutoff = this.now() - PROBLEM_TTL_MS;
    for (const [p, at] of this.problems) if (at < cutoff) this.problems.delete(p);
    // A missing log stays a problem for as long as it is missing, not just after it was first noticed.
    const missing = (this.tailer?.missing() ?? []).map((p) => `${p} does not exist (yet); waiting for it`);
    const all = [...new Set([...missing, ...this.problems.keys()])];
    if (all.length > 0) return { status: 'degraded', detail: all.slice(0, 5).join('; ') };
    return { status: 'ok' };
  }

  /** Emits finished windows; public so tests can drive it. */
  flush(): void {
    const now = this.now();
    for (const [path, f] of this.files) {
      if (!f.parser && f.pending.length > 0 && f.pendingSince !== undefined && now - f.pendingSince >= AUTO_WAIT_MS)
        this.decide(path, f);
    }
    for (const s of this.aggregator?.flush(now) ?? []) this.sink?.(s);
  }

  private fileState(path: string): FileState {
    let f = this.files.get(path);
    if (f) return f;
    const entry =
      this.config.files.find((e) => (typeof e === 'string' ? e : e.path) === path) ??
      this.config.files.find((e) => matches(typeof e === 'string' ? e : e.path, path));
    const own = typeof entry === 'object' ? entry : undefined;
    f = { format: own?.format ?? this.config.format, pending: [] };
    if (own?.site) f.site = own.site;
    if (f.format !== 'auto') f.parser = parserFor(f.format);
    this.files.set(path, f);
    return f;
  }

  private onLines(path: string, lines: string[]): void {
    const f = this.fileState(path);
    let from = 0;
    while (!f.parser && from < lines.length) {
      f.pendingSince ??= this.now();
      const take = Math.min(AUTO_LINES - f.pending.length, lines.length - from);
      for (let i = 0; i < take; i++) f.pending.push(lines[from + i]!);
      from += take;
      if (f.pending.length < AUTO_LINES) return;
      // Decided: the rest of the batch is parsed below; not recognised: the next lines are the next sample.
      this.decide(path, f);
    }
    if (from > 0) lines = lines.slice(from);
    this.parse(path, f, lines);
  }

  private decide(path: string, f: FileState): void {
    const pending = f.pending;
    f.pending = [];
    f.pendingSince = undefined;
    const found = detectFormat(pending);
    if (!found) {
      this.counters.lines += pending.length;
      this.counters.skipped.undetected += pending.length;
      this.problem(`${path}: format not recognised from ${pending.length} lines (set "format")`);
      this.logger?.warn(
        { path },
        `l7 ${this.name}: ${path}: no known access-log format parses these lines; set "format" for it`,
      );
      return;
    }
    f.format = found.format;
    f.parser = parserFor(found.format);
    this.logger?.info(
      { path, format: found.format },
      `l7 ${this.name}: ${path}: format auto-detected as ${describeFormat(found.format)} (${found.parsed}/${found.tried} sample lines parsed)`,
    );
    this.parse(path, f, pending);
  }

  /** The format a file is read with (after auto-detect), for logs and tests. */
  formatOf(path: string): string | undefined {
    const f = this.files.get(path);
    return f && f.format !== 'auto' ? describeFormat(f.format) : undefined;
  }

  private parse(path: string, f: FileState, lines: string[]): void {
    const agg = this.aggregator!;
    const parse = f.parser!;
    const now = this.now();
    const fallback = f.site ?? this.config.defaultSite;
    let bad = 0;
    let firstBad: SkipReason | undefined;
    const { stale, ahead } = agg.stats;
    for (const line of lines) {
      if (line.length === 0) continue;
      this.counters.lines++;
      const r = parse(line);
      if (typeof r === 'string') {
        this.counters.skipped[r]++;
        bad++;
        firstBad ??= r;
        continue;
      }
      this.counters.parsed++;
      agg.add(r, f.site ?? r.host ?? fallback, now);
    }
    if (bad > 0) this.problem(`${path}: ${bad} line(s) skipped (${firstBad}${bad > 1 ? ', …' : ''})`);
    // Time stamps far from this machine's clock: history being read, or a server logging in another zone/clock.
    if (agg.stats.stale > stale)
      this.problem(
        `${path}: lines stamped over 10 s in the past are not counted (history, or the server's clock or zone differs)`,
      );
    if (agg.stats.ahead > ahead)
      this.problem(`${path}: lines stamped in the future were counted now (the server's clock or zone differs)`);
  }

  private problem(what: string): void {
    // Keyed without counts so a steady trickle of bad lines is one entry, refreshed.
    const key = what.replace(/\d+ line\(s\)/, 'lines');
    if (!this.problems.has(key) && this.problems.size < 20) this.logger?.warn(`l7 ${this.name}: ${what}`);
    this.problems.set(key, this.now());
  }
}

function matches(pattern: string, path: string): boolean {
  if (!/[*?]/.test(pattern)) return false;
  let re = '^';
  for (const c of pattern) re += c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${re}$`).test(path);
}
