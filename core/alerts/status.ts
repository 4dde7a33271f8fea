import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What `ft alert list` shows of a channel: written by the running ft, read by any other process. */
export interface ChannelStatus {
  channel: string;
  kind: string;
  /** Where it sends, secrets left out. */
  destination: string;
  state: 'ok' | 'failing' | 'broken' | 'closed' | 'starting';
  since: string;
  pending: number;
  delivered: number;
  rejected: number;
  expired: number;
  retries: number;
  lastDelivery?: { at: string; alert: string; kind: string; attempts: number; ms: number };
  lastError?: string;
  brokenReason?: string;
  updatedAt: string;
}

export const alertsStateDir = (stateDir: string) => join(stateDir, 'alerts');

/** One channel's status file, rewritten atomically; writes in flight are folded into the next. */
export class StatusFile {
  private writing?: Promise<void>;
  private wanted?: ChannelStatus;

  constructor(private readonly file: string) {}

  static async open(stateDir: string, channel: string): Promise<StatusFile> {
    const dir = alertsStateDir(stateDir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new StatusFile(join(dir, `${channel}.json`));
  }

  /** What the previous run wrote, if anything. */
  async read(): Promise<ChannelStatus | undefined> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as ChannelStatus;
    } catch {
      return undefined;
    }
  }

  write(s: ChannelStatus): Promise<void> {
    this.wanted = s;
    this.writing ??= (async () => {
      while (this.wanted) {
        const next = this.wanted;
        this.wanted = undefined;
        const tmp = `${this.file}.tmp`;
        try {
          await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
          await rename(tmp, this.file);
        } catch {
          /* status is advisory: a full disk must not stop alerts */
        }
      }
    })().finally(() => (this.writing = undefined));
    return this.writing;
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }
}

/** Every channel status in a state directory (channels of older policies included: the caller filters). */
export async function readStatuses(stateDir: string): Promise<Map<string, ChannelStatus>> {
  const dir = alertsStateDir(stateDir);
  const out = new Map<string, ChannelStatus>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const n of names.filter((f) => f.endsWith('.json'))) {
    try {
      const s = JSON.parse(await readFile(join(dir, n), 'utf8')) as ChannelStatus;
      if (s && typeof s.channel === 'string') out.set(s.channel, s);
    } catch {
      /* a torn or foreign file: skip it */
    }
  }
  return out;
}
