import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IocMatchReport, PacketEvidenceReport } from '@ft/sdk';

/**
 * Where captures live: one directory (0700, checked at every start), holding per incident `<id>.pcapng` (0600)
 * and `<id>.json` (what was captured, its state, the analysis), plus `.ring/` (the pre-attack rings), `.work/`
 * (captures in progress) and `.pids/` (the capture children). Finished captures are removed oldest first when the
 * quota needs room, and once older than the retention.
 */

export type CaptureState = 'capturing' | 'finishing' | 'ready' | 'failed' | 'skipped';

export interface CaptureSummary {
  spoofing_detected: boolean;
  botnet_detected: boolean;
  packet_evidence: PacketEvidenceReport;
  ioc_matches: IocMatchReport[];
  protocol_breakdown: { tcp: number; udp: number; icmp: number; other: number };
  top_src_ips: { ip: string; packets: number }[];
  top_dst_ports: { port: number; packets: number }[];
}

export interface CaptureRecord {
  /** The incident id (a capture's id is its incident's). */
  id: string;
  target: string;
  interfaces: string[];
  filter: string;
  state: CaptureState;
  /** Why it failed or was skipped; what stopped the attack capture. */
  reason?: string;
  started_at: string;
  /** When the incident opened: packets before it in the file are pre-attack (the ring). */
  attack_start: string;
  finished_at?: string;
  /** The pcapng (absolute path), once ready. */
  file?: string;
  bytes?: number;
  sha256?: string;
  packets?: { pre_attack: number; attack: number };
  summary?: CaptureSummary;
}

/** A finished capture, as another part of ft (the agent API's upload) asks for it. */
export interface FinishedCapture {
  id: string;
  file: string;
  bytes: number;
  sha256: string;
  record: CaptureRecord;
}

export const CAPTURE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class CaptureDirError extends Error {
  readonly code = 'FT_E_PCAP_DIR';
  constructor(
    readonly dir: string,
    reason: string,
  ) {
    super(`capture directory ${dir}: ${reason}`);
    this.name = 'CaptureDirError';
  }
}

/** The capture directory inside a state directory. */
export function captureDir(stateDir: string): string {
  return join(stateDir, 'pcap');
}

/**
 * Creates the directory (0700) or checks the one there: a real directory (not a symlink), ours, and closed to
 * group and others (tightened if it is not). Captures hold other people's packets.
 */
export async function prepareCaptureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  if (st.isSymbolicLink()) throw new CaptureDirError(dir, 'is a symbolic link; give the real directory');
  if (!st.isDirectory()) throw new CaptureDirError(dir, 'exists but is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new CaptureDirError(dir, `belongs to uid ${st.uid}, not to this user (uid ${uid})`);
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
  for (const sub of ['.ring', '.work', '.pids']) await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
}

async function sizeOf(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await sizeOf(join(path, name));
  return total;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class CaptureStore {
  constructor(
    readonly dir: string,
    readonly options: { quotaBytes: number; retentionMs: number } = { quotaBytes: Infinity, retentionMs: Infinity },
  ) {}

  get ringDir(): string {
    return join(this.dir, '.ring');
  }

  get workDir(): string {
    return join(this.dir, '.work');
  }

  get pidDir(): string {
    return join(this.dir, '.pids');
  }

  recordPath(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  capturePath(id: string): string {
    return join(this.dir, `${id}.pcapng`);
  }

  /** Written whole (temp file, then rename), 0600. */
  async write(record: CaptureRecord): Promise<void> {
    if (!CAPTURE_ID.test(record.id)) throw new Error(`capture id ${JSON.stringify(record.id)} is not usable as a name`);
    const tmp = join(this.workDir, `${record.id}.json.tmp`);
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.recordPath(record.id));
  }

  async read(id: string): Promise<CaptureRecord | undefined> {
    if (!CAPTURE_ID.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(this.recordPath(id), 'utf8')) as CaptureRecord;
    } catch {
      return undefined;
    }
  }

  /** Every capture record, oldest first. */
  async list(): Promise<CaptureRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: CaptureRecord[] = [];
    for (const n of names) {
      if (!n.endsWith('.json') || n.startsWith('.')) continue;
      const r = await this.read(n.slice(0, -5));
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.started_at.localeCompare(b.started_at) || a.id.localeCompare(b.id));
  }

  /** The finished capture file for an incident, or undefined while it is still being captured (or never was). */
  async finished(id: string): Promise<FinishedCapture | undefined> {
    const record = await this.read(id);
    if (!record || record.state !== 'ready' || !record.file) return undefined;
    try {
      const st = await stat(record.file);
      return {
        id,
        file: record.file,
        bytes: st.size,
        sha256: record.sha256 ?? (await sha256File(record.file)),
        record,
      };
    } catch {
      return undefined;
    }
  }

  /** Bytes everything in the directory takes now: finished captures, rings, work in progress. */
  usedBytes(): Promise<number> {
    return sizeOf(this.dir);
  }

  /** Removes one capture (file and record). */
  async remove(id: string): Promise<void> {
    await unlink(this.capturePath(id)).catch(() => undefined);
    await unlink(this.recordPath(id)).catch(() => undefined);
    await rm(join(this.workDir, id), { recursive: true, force: true });
  }

  /** Bytes the finished captures and all records take (what the quota is shared with: rings and work in progress). */
  async finishedBytes(): Promise<number> {
    let total = 0;
    for (const n of await readdir(this.dir).catch(() => [] as string[])) {
      if (n.startsWith('.')) continue;
      total += await sizeOf(join(this.dir, n));
    }
    return total;
  }

  /**
   * Retention, then the quota: finished captures older than the retention go; then, oldest first, as many as it
   * takes for `reserve` more bytes to fit beside `reserved` (what rings and captures in progress may still
   * grow to). Captures in progress are never removed. Returns the ids removed and whether `reserve` fits.
   */
  async makeRoom(reserve: number, reserved: number, now = Date.now()): Promise<{ removed: string[]; fits: boolean }> {
    const removed: string[] = [];
    const records = await this.list();
    const busy = (r: CaptureRecord) => r.state === 'capturing' || r.state === 'finishing';
    for (const r of records) {
      if (busy(r)) continue;
      const at = Date.parse(r.finished_at ?? r.started_at);
      if (Number.isFinite(at) && now - at > this.options.retentionMs) {
        await this.remove(r.id);
        removed.push(r.id);
      }
    }
    let used = await this.finishedBytes();
    for (const r of records) {
      if (used + reserved + reserve <= this.options.quotaBytes) break;
      if (removed.includes(r.id) || busy(r)) continue;
      await this.remove(r.id);
      removed.push(r.id);
      used = await this.finishedBytes();
    }
    return { removed, fits: used + reserved + reserve <= this.options.quotaBytes };
  }
}
