import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { JournalWriter, readJournal, writeJournalFile } from '../state/journal.js';
import type { CursorStore } from './log.js';

/**
 * Subscriber cursors in the state directory: a small journal of `{n: name, s: seq}` records (same framing and
 * fsync as every other journal), folded at open and rewritten whole when it grows.
 */
export class JournalCursorStore implements CursorStore {
  private readonly seqs = new Map<string, number>();
  private writer?: JournalWriter;
  private records = 0;
  private compacting?: Promise<void>;

  private constructor(
    readonly file: string,
    private readonly readOnly: boolean,
  ) {}

  static async open(dir: string, options: { readOnly?: boolean } = {}): Promise<JournalCursorStore> {
    const store = new JournalCursorStore(join(dir, 'cursors.log'), options.readOnly ?? false);
    if (store.readOnly) {
      const scan = await readJournal(store.file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return { records: [] as unknown[] };
        throw err;
      });
      store.fold(scan.records);
    } else {
      const opened = await JournalWriter.open(store.file);
      store.writer = opened.writer;
      store.fold(opened.records);
    }
    return store;
  }

  private fold(records: unknown[]): void {
    for (const r of records) {
      const { n, s } = r as { n?: unknown; s?: unknown };
      if (typeof n === 'string' && typeof s === 'number' && s > (this.seqs.get(n) ?? -1)) this.seqs.set(n, s);
    }
    this.records = records.length;
  }

  async get(name: string): Promise<number | undefined> {
    return this.seqs.get(name);
  }

  /** Every stored cursor (for `ft events --subscribers`). */
  all(): Map<string, number> {
    return new Map(this.seqs);
  }

  async set(name: string, seq: number): Promise<void> {
    if (this.readOnly || !this.writer) throw new Error(`${this.file} was opened read-only`);
    if (seq <= (this.seqs.get(name) ?? -1)) return;
    if (this.compacting) await this.compacting;
    this.seqs.set(name, seq);
    await this.writer.append([{ n: name, s: seq }]);
    this.records++;
    // Rewritten whole once it holds many more records than cursors (acks come often; names are few).
    if (this.records > 4096 + 4 * this.seqs.size && !this.compacting) {
      this.compacting = this.compact().finally(() => (this.compacting = undefined));
      await this.compacting;
    }
  }

  private async compact(): Promise<void> {
    const old = this.writer as JournalWriter;
    await old.close();
    const entries = [...this.seqs].map(([n, s]) => ({ n, s }));
    await writeJournalFile(this.file, entries);
    this.writer = (await JournalWriter.open(this.file)).writer;
    this.records = entries.length;
  }

  async close(): Promise<void> {
    if (this.compacting) await this.compacting;
    await this.writer?.close();
  }
}

/** KEYS[1] cursors hash; ARGV name, seq. Only forward: a late ack of an older seq changes nothing. */
const SET_CURSOR = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
local seq = tonumber(ARGV[2])
if seq > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0
`;

/** Subscriber cursors of the fleet: one hash, so a subscriber moved to another controller resumes where it was. */
export class RedisCursorStore implements CursorStore {
  constructor(
    private readonly conn: Redis,
    readonly key: string,
  ) {
    conn.defineCommand('ftSetCursor', { numberOfKeys: 1, lua: SET_CURSOR });
  }

  async get(name: string): Promise<number | undefined> {
    const v = await this.conn.hget(this.key, name);
    return v === null ? undefined : Number(v);
  }

  async all(): Promise<Map<string, number>> {
    const h = await this.conn.hgetall(this.key);
    return new Map(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }

  async set(name: string, seq: number): Promise<void> {
    await (this.conn as unknown as { ftSetCursor(k: string, n: string, s: number): Promise<number> }).ftSetCursor(
      this.key,
      name,
      seq,
    );
  }

  async close(): Promise<void> {}
}
