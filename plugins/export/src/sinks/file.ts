import { mkdirSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { defineExportSink, type ExportOutcome, type ExportRecord, type ExportSink } from '@ft/sdk';
import { z } from 'zod';
import { toEve } from '../format/eve.js';
import { zeekClose, zeekHeader, zeekRow } from '../format/zeek.js';
import { absolutePath } from '../options.js';
import { parseByteSize } from '@ft/sdk';

export const fileConfigSchema = z
  .object({
    path: absolutePath('The file ft writes (e.g. /var/log/ft/eve.json); rotated files get .1, .2, …'),
    format: z
      .enum(['eve', 'zeek', 'json'])
      .describe(
        'eve: Suricata EVE JSON lines; zeek: a Zeek ASCII log (ft.log); json: one export record per line (Wazuh, Filebeat, Vector).',
      ),
    rotate: z
      .object({
        maxSize: z
          .union([z.string(), z.number()])
          .transform((v) => parseByteSize(v))
          .default(100 * 1024 * 1024),
        keep: z.number().int().min(0).max(100).default(5),
      })
      .strict()
      .default({ maxSize: 100 * 1024 * 1024, keep: 5 }),
    mode: z.number().int().min(0).max(0o777).default(0o640),
  })
  .strict();
export type FileConfig = z.output<typeof fileConfigSchema>;

/** The lines one record becomes in this format. */
export function fileLine(r: ExportRecord, format: FileConfig['format']): string {
  if (format === 'eve') return JSON.stringify(toEve(r));
  if (format === 'zeek') return zeekRow(r);
  return JSON.stringify(r);
}

/**
 * Appends records to a file and rotates it by size (path → path.1 → … → path.KEEP), as logrotate would; every
 * batch is fdatasync'd before it counts as delivered. Zeek logs get their header at the top of each file and a
 * #close line when rotated.
 */
class FileSink implements ExportSink {
  private fh?: FileHandle;
  private size = 0;

  constructor(private readonly c: FileConfig) {
    mkdirSync(dirname(c.path), { recursive: true });
  }

  describe() {
    return `${this.c.path} (${this.c.format}, rotated at ${Math.round(this.c.rotate.maxSize / 1024 / 1024)} MiB, ${this.c.rotate.keep} kept)`;
  }

  private async file(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    this.fh = await open(this.c.path, 'a', this.c.mode);
    this.size = (await this.fh.stat()).size;
    if (this.c.format === 'zeek' && this.size === 0) {
      const h = `${zeekHeader(basename(this.c.path).replace(/\.log$/, ''), Date.now())}\n`;
      await this.fh.appendFile(h);
      this.size += Buffer.byteLength(h);
    }
    return this.fh;
  }

  private async rotate(): Promise<void> {
    if (this.fh) {
      if (this.c.format === 'zeek') await this.fh.appendFile(`${zeekClose(Date.now())}\n`);
      await this.fh.datasync();
      await this.fh.close();
      this.fh = undefined;
    }
    const keep = this.c.rotate.keep;
    if (keep === 0) {
      await rm(this.c.path, { force: true });
      return;
    }
    await rm(`${this.c.path}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--)
      await rename(`${this.c.path}.${i}`, `${this.c.path}.${i + 1}`).catch(() => undefined);
    await rename(this.c.path, `${this.c.path}.1`).catch(() => undefined);
  }

  async send(records: readonly ExportRecord[]): Promise<ExportOutcome> {
    try {
      // Someone else rotated or removed it (logrotate with create): start a new file.
      if (this.fh) {
        const st = await stat(this.c.path).catch(() => undefined);
        if (!st || st.ino !== (await this.fh.stat()).ino) {
          await this.fh.close();
          this.fh = undefined;
        }
      }
      let fh = await this.file();
      let chunk = '';
      for (const r of records) {
        const line = `${fileLine(r, this.c.format)}\n`;
        const b = Buffer.byteLength(line);
        if (this.size + Buffer.byteLength(chunk) + b > this.c.rotate.maxSize && this.size + chunk.length > 0) {
          if (chunk) await fh.appendFile(chunk);
          chunk = '';
          await this.rotate();
          fh = await this.file();
        }
        chunk += line;
      }
      if (chunk) {
        await fh.appendFile(chunk);
        this.size += Buffer.byteLength(chunk);
      }
      await fh.datasync();
      return { result: 'delivered' };
    } catch (err) {
      const e = err as Error & { code?: string };
      if (this.fh) await this.fh.close().catch(() => undefined);
      this.fh = undefined;
      // A full disk or a permission problem may be fixed while ft runs: retried.
      return { result: 'retry', reason: `${e.code ? `${e.code}: ` : ''}${e.message}` };
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}

export const file = defineExportSink<FileConfig>({
  kind: 'file',
  description:
    'A local file: Suricata EVE JSON, a Zeek ASCII log, or JSON lines (Wazuh agent, Filebeat), rotated by size.',
  configSchema: fileConfigSchema,
  batch: { maxRecords: 1000, maxBytes: 1024 * 1024 },
  rateLimit: { perSecond: 1000, burst: 1000 },
  repeats: 'a second line with the same id',
  async create(config) {
    return new FileSink(config);
  },
});
