import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuleId } from '@ft/sdk';
import type { Incident } from '../model/incident.js';
import { reviveIncident, reviveRule } from './codec.js';
import {
  JournalCorruptError,
  JournalWriter,
  fileSize,
  fsyncDir,
  readJournal,
  warnTornTail,
  writeJournalFile,
  type ScanResult,
} from './journal.js';
import { lockStateDir, prepareStateDir } from './state-dir.js';
import type { AuditQuery, AuditRecord, RuleRecord, RuleStore } from './store.js';

/** Just the logger methods the store uses (a pino logger or a plugin logger fits). */
export interface StoreLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export interface JournalStoreOptions {
  dir: string;
  /** Readers (`ft mitigate list`, `ft audit`) run beside the daemon: no lock, nothing written. */
  readOnly?: boolean;
  /** Move a corrupt journal aside (kept, renamed *.corrupt-<time>) and continue from its intact records. */
  repair?: boolean;
  /** Compact the state journal into a snapshot once it grows past this (default 1 MiB). */
  compactBytes?: number;
  /** Start a new audit segment past this size (default 8 MiB). */
  auditSegmentBytes?: number;
  /** Audit segments whose newest record is older than this are dropped at rotation (default 90 days). */
  auditRetentionDays?: number;
  /**
   * Incidents resolved (or, if still marked open, last updated) longer ago than this leave the state at compaction;
   * their history stays in the audit trail.
   */
  incidentRetentionHours?: number;
  logger?: StoreLogger;
  now?: () => number;
}

type StateRecord =
  | { k: 'rule'; r: RuleRecord }
  | { k: 'unrule'; id: RuleId }
  | { k: 'incident'; i: Incident }
  | { k: 'snapshot'; gen: number; at: string; records: number };

const STATE_RE = /^state-(\d{8})\.(snap|log)$/;
const AUDIT_RE = /^(\d{8})\.log$/;
const pad = (n: number) => String(n).padStart(8, '0');
const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/**
 * The embedded RuleStore: a state journal (live rules, incidents) compacted into snapshots, and a segmented audit
 * journal, both under one state directory owned by one writer process.
 *
 *   <dir>/lock                    pid of the writer
 *   <dir>/state-<gen>.snap        every live rule and incident at compaction time (written atomically)
 *   <dir>/state-<gen>.log         changes since that snapshot
 *   <dir>/audit/<seq>.log         the audit trail, rotated by size, pruned by age
 */
export class JournalStore implements RuleStore {
  readonly description: string;
  private readonly rulesById = new Map<RuleId, RuleRecord>();
  private readonly incidentsById = new Map<string, Incident>();
  private writer?: JournalWriter;
  private auditWriter?: JournalWriter;
  private gen = 1;
  private auditSeq = 1;
  private compacting?: Promise<void>;
  /** Size of the last snapshot: the log may grow to twice it before the next compaction (never compact in a loop). */
  private snapshotBytes = 0;
  private rotating?: Promise<void>;
  private unlock?: () => Promise<void>;
  private readonly now: () => number;

  private constructor(private readonly opts: JournalStoreOptions) {
    this.description = `journal at ${opts.dir}`;
    this.now = opts.now ?? Date.now;
  }

  static async open(opts: JournalStoreOptions): Promise<JournalStore> {
    const store = new JournalStore(opts);
    await prepareStateDir(opts.dir, { write: !opts.readOnly });
    if (!opts.readOnly) store.unlock = await lockStateDir(opts.dir);
    try {
      await store.load();
    } catch (err) {
      await store.unlock?.();
      throw err;
    }
    return store;
  }

  get stateDir(): string {
    return this.opts.dir;
  }

  // ── loading ────────────────────────────────────────────────────────────────────────────────────────────────────

  private async load(): Promise<void> {
    const { dir } = this.opts;
    const names = await readdir(dir);
    const gens = names
      .map((n) => STATE_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
    this.gen = gens.length > 0 ? Math.max(...gens) : 1;
    const snap = join(dir, `state-${pad(this.gen)}.snap`);
    const log = join(dir, `state-${pad(this.gen)}.log`);
    if (names.includes(`state-${pad(this.gen)}.snap`)) {
      // Snapshots are renamed into place complete: any damage is corruption, never a torn write.
      const scan = await this.readOrRepair(snap, true);
      this.snapshotBytes = await fileSize(snap);
      for (const r of scan.records) this.applyState(r as StateRecord, snap);
    }
    if (this.opts.readOnly) {
      const scan = await this.readOrRepair(log, false).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return { records: [], goodEnd: 0 };
        throw err;
      });
      for (const r of scan.records) this.applyState(r as StateRecord, log);
    } else {
      const opened = await this.openWriter(log);
      this.writer = opened.writer;
      for (const r of opened.records) this.applyState(r as StateRecord, log);
    }
    await this.loadAudit();
  }

  private async readOrRepair(file: string, snapshot: boolean): Promise<ScanResult> {
    try {
      const scan = await readJournal(file);
      if (snapshot && scan.torn)
        throw new JournalCorruptError(
          file,
          scan.torn.offset,
          scan.records.length,
          scan.torn.reason,
          scan.records,
          scan.goodEnd,
        );
      return scan;
    } catch (err) {
      if (!(err instanceof JournalCorruptError) || !this.opts.repair || this.opts.readOnly) throw err;
      await this.moveAside(file, err);
      return { records: err.intact, goodEnd: err.goodEnd };
    }
  }

  private async openWriter(file: string): Promise<Awaited<ReturnType<typeof JournalWriter.open>>> {
    try {
      const opened = await JournalWriter.open(file);
      if (opened.torn) warnTornTail(this.opts.logger, file, opened.torn, 'journal');
      return opened;
    } catch (err) {
      if (!(err instanceof JournalCorruptError) || !this.opts.repair) throw err;
      await this.moveAside(file, err);
      return JournalWriter.open(file);
    }
  }

  /** --repair-state: the damaged file is renamed (never deleted) and a clean one holding its intact records takes its place. */
  private async moveAside(file: string, err: JournalCorruptError): Promise<void> {
    const aside = `${file}.corrupt-${stamp()}`;
    await rename(file, aside);
    await writeJournalFile(file, err.intact);
    this.opts.logger?.warn(
      { file, movedTo: aside, offset: err.offset, keptRecords: err.intact.length, reason: err.reason },
      'corrupt journal moved aside; continuing from its intact records (reconcile will clean up anything they no longer mention)',
    );
  }

  private applyState(rec: StateRecord, where: string): void {
    switch (rec.k) {
      case 'rule': {
        const r = rec.r;
        this.rulesById.set(r.rule.id, { ...r, rule: reviveRule(r.rule, where, false) });
        break;
      }
      case 'unrule':
        this.rulesById.delete(rec.id);
        break;
      case 'incident':
        this.incidentsById.set(rec.i.id, reviveIncident(rec.i));
        break;
      case 'snapshot':
        break;
      default:
        this.opts.logger?.warn(
          { file: where, record: rec },
          'unknown state record kind (written by a newer ft?); ignored',
        );
    }
  }

  private async loadAudit(): Promise<void> {
    const dir = join(this.opts.dir, 'audit');
    if (!this.opts.readOnly) await mkdir(dir, { recursive: true, mode: 0o700 });
    const seqs = await this.auditSegments();
    this.auditSeq = seqs.length > 0 ? Math.max(...seqs) : 1;
    if (!this.opts.readOnly) {
      const opened = await this.openWriter(join(dir, `${pad(this.auditSeq)}.log`));
      this.auditWriter = opened.writer;
    }
  }

  private async auditSegments(): Promise<number[]> {
    const names = await readdir(join(this.opts.dir, 'audit')).catch(() => [] as string[]);
    return names
      .map((n) => AUDIT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  // ── RuleStore ──────────────────────────────────────────────────────────────────────────────────────────────────

  async rules(): Promise<RuleRecord[]> {
    return [...this.rulesById.values()];
  }

  async rule(id: RuleId): Promise<RuleRecord | undefined> {
    return this.rulesById.get(id);
  }

  async putRule(record: RuleRecord): Promise<void> {
    this.rulesById.set(record.rule.id, record);
    await this.writeState([{ k: 'rule', r: record }]);
  }

  async removeRule(id: RuleId): Promise<void> {
    if (!this.rulesById.delete(id)) return;
    await this.writeState([{ k: 'unrule', id }]);
  }

  async putIncident(incident: Incident): Promise<void> {
    this.incidentsById.set(incident.id, incident);
    await this.writeState([{ k: 'incident', i: incident }]);
  }

  async incidents(): Promise<Incident[]> {
    return [...this.incidentsById.values()];
  }

  async claimSlot(tenant: string, ruleId: RuleId, cap: number): Promise<{ granted: boolean; used: number }> {
    let used = 0;
    let holds = false;
    for (const r of this.rulesById.values()) {
      if (r.rule.tenant !== tenant) continue;
      used++;
      if (r.rule.id === ruleId) holds = true;
    }
    return { granted: holds || used < cap, used };
  }

  async appendAudit(records: AuditRecord[]): Promise<void> {
    if (this.opts.readOnly || !this.auditWriter) throw new Error('the store was opened read-only');
    if (this.rotating) await this.rotating;
    const writer = this.auditWriter;
    await writer.append(records);
    if (
      writer.size > (this.opts.auditSegmentBytes ?? 8 * 1024 * 1024) &&
      !this.rotating &&
      writer === this.auditWriter
    ) {
      this.rotating = this.rotateAudit().finally(() => (this.rotating = undefined));
      await this.rotating;
    }
  }

  async queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    const since = query.since?.getTime();
    const until = query.until?.getTime();
    for (const seq of await this.auditSegments()) {
      const file = join(this.opts.dir, 'audit', `${pad(seq)}.log`);
      // A segment last written before `since` holds nothing newer: skip reading it (mtime is its last append).
      if (since !== undefined) {
        const mtime = await stat(file).then(
          (st) => st.mtimeMs,
          () => undefined,
        );
        if (mtime !== undefined && mtime < since - 60_000) continue;
      }
      let scan: ScanResult;
      try {
        scan = await readJournal(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // pruned while we listed
        throw err;
      }
      for (const raw of scan.records) {
        const r = raw as AuditRecord;
        const t = Date.parse(r.at);
        if (since !== undefined && t < since) continue;
        if (until !== undefined && t > until) continue;
        if (query.ruleId && r.ruleId !== query.ruleId) continue;
        if (query.incidentId && r.incidentId !== query.incidentId) continue;
        out.push(r);
      }
    }
    return query.limit !== undefined ? out.slice(Math.max(0, out.length - query.limit)) : out;
  }

  async close(): Promise<void> {
    if (this.compacting) await this.compacting;
    if (this.rotating) await this.rotating;
    await this.writer?.close();
    await this.auditWriter?.close();
    await this.unlock?.();
  }

  // ── compaction ─────────────────────────────────────────────────────────────────────────────────────────────────

  private async writeState(values: StateRecord[]): Promise<void> {
    if (this.opts.readOnly || !this.writer) throw new Error('the store was opened read-only');
    if (this.compacting) await this.compacting;
    const writer = this.writer;
    await writer.append(values);
    if (
      writer.size > Math.max(this.opts.compactBytes ?? 1024 * 1024, 2 * this.snapshotBytes) &&
      !this.compacting &&
      writer === this.writer
    ) {
      this.compacting = this.compact().finally(() => (this.compacting = undefined));
      await this.compacting;
    }
  }

  /** Forces a compaction (tests, and `ft run` at shutdown). */
  async compactNow(): Promise<void> {
    if (this.compacting) return this.compacting;
    this.compacting = this.compact().finally(() => (this.compacting = undefined));
    return this.compacting;
  }

  /**
   * Snapshot + rotate. Order matters for crashes: the new snapshot is renamed into place complete before the new
   * log exists, and the previous generation is kept as a spare until the next compaction.
   */
  private async compact(): Promise<void> {
    const { dir } = this.opts;
    const next = this.gen + 1;
    const keepResolvedMs = (this.opts.incidentRetentionHours ?? 24) * 3600_000;
    const now = this.now();
    for (const [id, i] of this.incidentsById) {
      // Resolved ones after the retention; "open" ones not updated for as long belong to a run that died.
      if (now - (i.resolvedAt ?? i.updatedAt) > keepResolvedMs) this.incidentsById.delete(id);
    }
    const image: StateRecord[] = [
      ...[...this.rulesById.values()].map((r): StateRecord => ({ k: 'rule', r })),
      ...[...this.incidentsById.values()].map((i): StateRecord => ({ k: 'incident', i })),
    ];
    image.push({ k: 'snapshot', gen: next, at: new Date(now).toISOString(), records: image.length });
    const snapFile = join(dir, `state-${pad(next)}.snap`);
    await writeJournalFile(snapFile, image);
    this.snapshotBytes = await fileSize(snapFile);
    const old = this.writer;
    const opened = await JournalWriter.open(join(dir, `state-${pad(next)}.log`));
    this.writer = opened.writer;
    this.gen = next;
    await old?.close();
    for (const ext of ['snap', 'log']) await unlink(join(dir, `state-${pad(next - 2)}.${ext}`)).catch(() => undefined);
    fsyncDir(dir);
  }

  private async rotateAudit(): Promise<void> {
    const dir = join(this.opts.dir, 'audit');
    const old = this.auditWriter;
    this.auditSeq += 1;
    this.auditWriter = (await JournalWriter.open(join(dir, `${pad(this.auditSeq)}.log`))).writer;
    await old?.close();
    const keepMs = (this.opts.auditRetentionDays ?? 90) * 86400_000;
    const now = this.now();
    for (const seq of await this.auditSegments()) {
      if (seq >= this.auditSeq - 1) continue;
      const file = join(dir, `${pad(seq)}.log`);
      const scan = await readJournal(file).catch(() => undefined);
      const last = scan?.records[scan.records.length - 1] as AuditRecord | undefined;
      if (last && now - Date.parse(last.at) > keepMs) {
        await unlink(file);
        this.opts.logger?.info({ file }, 'audit segment older than the retention period removed');
      }
    }
    fsyncDir(dir);
  }
}
