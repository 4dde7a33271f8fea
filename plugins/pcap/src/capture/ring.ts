import { link, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PluginLogger } from '@ft/sdk';
import { decodeCapture } from '../analyze/analyze.js';
import type { Packet } from '../format/packet.js';
import { ringArgv, type RingArgs } from './argv.js';
import { KeptRunning } from './supervise.js';

/**
 * The pre-attack ring of one interface: dumpcap with `-b packets:N -b duration:S -b files:F` writing into its own
 * directory, restarted (1 s, 2 s, ... 30 s apart) when it dies. An incident takes a snapshot by hard-linking the
 * ring's files into its work directory: dumpcap deleting the oldest file afterwards no longer loses them.
 */
export class Ring {
  private readonly kept: KeptRunning;
  private learnt = new Set<string>();

  constructor(
    readonly args: RingArgs,
    private readonly o: { pidDir: string; netns?: string; logger?: PluginLogger },
  ) {
    this.kept = new KeptRunning(ringArgv(args), {
      name: `dumpcap on ${args.iface}`,
      pidDir: o.pidDir,
      ...(o.netns ? { netns: o.netns } : {}),
      onProblem: (message) => o.logger?.error({ iface: args.iface, argv: this.argv }, message),
    });
  }

  get iface(): string {
    return this.args.iface;
  }

  get running(): boolean {
    return this.kept.running;
  }

  get pid(): number | undefined {
    return this.kept.pid;
  }

  /** Why the ring is not running, when it is not. */
  get problem(): string | undefined {
    return this.kept.problem;
  }

  get argv(): string[] {
    return ringArgv(this.args);
  }

  async start(): Promise<void> {
    await mkdir(this.args.dir, { recursive: true, mode: 0o700 });
    await this.kept.start();
  }

  /** The ring's files, oldest first (dumpcap numbers them). */
  async files(): Promise<string[]> {
    const names = await readdir(this.args.dir).catch(() => [] as string[]);
    return names
      .filter((n) => n.startsWith('ring_') && n.endsWith('.pcapng'))
      .sort()
      .map((n) => join(this.args.dir, n));
  }

  /** Hard-links the ring's current files into `dir`; returns the links, oldest first. */
  async snapshot(dir: string, tag: string): Promise<string[]> {
    const out: string[] = [];
    for (const f of await this.files()) {
      const to = join(dir, `ring-${tag}-${f.slice(f.lastIndexOf('/') + 1)}`);
      try {
        await link(f, to);
        out.push(to);
      } catch (err) {
        // Rotated away between the listing and the link: it was the oldest, nothing lost that mattered.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return out;
  }

  /**
   * The packets of the newest ring file dumpcap has closed and that was not read before (none: undefined), for
   * peacetime hop-count learning.
   */
  async readClosed(): Promise<Packet[] | undefined> {
    const files = await this.files();
    const newest = files[files.length - 2];
    if (!newest || this.learnt.has(newest)) return undefined;
    this.learnt.add(newest);
    if (this.learnt.size > 64) this.learnt = new Set([...this.learnt].slice(-32));
    let buf: Buffer;
    try {
      buf = await readFile(newest);
    } catch {
      return undefined;
    }
    try {
      return decodeCapture(buf, { partialTail: true }).packets;
    } catch (err) {
      this.o.logger?.warn({ file: newest, err: (err as Error).message }, 'ring file could not be read for learning');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    await this.kept.stop();
  }
}
