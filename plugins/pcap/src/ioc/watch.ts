import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { PluginLogger } from '@ft/sdk';
import { parseIocFile } from './file.js';
import type { IocMatcher } from './matcher.js';

export interface IocFileState {
  file: string;
  iocs: number;
  loadedAt?: number;
  /** The last reload's problem; the previous good set stays in use. */
  error?: string;
}

/**
 * Keeps the matcher's `file:PATH` set equal to the IOC file: loaded at start (a broken file then is an error),
 * reloaded whenever it changes. The directory is watched, not the file, so editors that save by renaming a new
 * file over the old one are seen too. A broken reload keeps the last good set and says why.
 */
export class IocFileWatcher {
  readonly file: string;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private digest = '';
  private reloading: Promise<void> = Promise.resolve();
  readonly state: IocFileState;
  /** Called after every successful (re)load, with the number of IOCs now in use. */
  onLoad: ((iocs: number) => void) | undefined;

  constructor(
    file: string,
    private readonly matcher: IocMatcher,
    private readonly logger?: PluginLogger,
  ) {
    this.file = resolve(file);
    this.state = { file: this.file, iocs: 0 };
  }

  get source(): string {
    return `file:${this.file}`;
  }

  async start(): Promise<void> {
    await this.load(true);
    const name = basename(this.file);
    this.watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      // Editors write in several steps: reload once they are done.
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), 100);
    });
    this.watcher.on('error', (err) => {
      this.state.error = `watching ${dirname(this.file)} failed: ${err.message}`;
      this.logger?.error({ file: this.file }, this.state.error);
    });
  }

  /** Re-reads the file now (the watcher calls it; tests and `SIGHUP` handlers may too). */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.load(false)).catch(() => undefined);
    return this.reloading;
  }

  private async load(initial: boolean): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      const why = `cannot read IOC file ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      if (initial) throw new Error(why, { cause: err });
      this.state.error = `${why}; still using the ${this.state.iocs} IOC(s) loaded before`;
      this.logger?.error({ file: this.file }, this.state.error);
      return;
    }
    const digest = createHash('sha256').update(text).digest('hex');
    if (digest === this.digest) return;
    try {
      const iocs = parseIocFile(text, this.file);
      this.matcher.set(this.source, iocs);
      this.digest = digest;
      this.state.iocs = iocs.length;
      this.state.loadedAt = Date.now();
      delete this.state.error;
      this.logger?.info({ file: this.file, iocs: iocs.length }, initial ? 'IOC file loaded' : 'IOC file reloaded');
      this.onLoad?.(iocs.length);
    } catch (err) {
      if (initial) throw err;
      this.state.error = `${(err as Error).message}\nstill using the ${this.state.iocs} IOC(s) loaded before`;
      this.logger?.error({ file: this.file }, this.state.error);
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
