// A real stayrtr for tests: a VRP file written with a fresh buildtime, loopback ports, argv only.
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { createConnection } from 'node:net';

export interface Roa {
  prefix: string;
  maxLength: number;
  asn: number | string;
}

export function writeVrpJson(path: string, roas: Roa[], builtAt = new Date()): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify({ metadata: { buildtime: builtAt.toISOString().replace(/\.\d+Z$/, 'Z') }, roas }));
  // Atomic replace: stayrtr must never read a half-written file.
  renameSync(tmp, path);
}

export interface StayrtrOptions {
  protocol?: 0 | 1 | 2;
  refresh?: number;
  expire?: number;
  rtrRefresh?: number;
  retry?: number;
  port?: number;
  /** buildtime written into the file; stayrtr refuses data older than 24 h (error 2 to every query). */
  builtAt?: Date;
  /** Also serve RTR over TLS with this certificate and key (PEM files); the port is `tlsPort`. */
  tls?: { cert: string; key: string };
}

export class Stayrtr {
  tlsPort = 0;
  private constructor(
    readonly daemon: Daemon,
    readonly port: number,
    readonly file: string,
    readonly dir: string,
    private readonly opts: StayrtrOptions,
  ) {}

  static async start(
    roas: Roa[],
    opts: StayrtrOptions = {},
    existing?: { dir: string; file: string },
  ): Promise<Stayrtr> {
    const dir = existing?.dir ?? mkdtempSync(join(tmpdir(), 'ft-stayrtr-'));
    const file = existing?.file ?? join(dir, 'vrps.json');
    if (!existing) writeVrpJson(file, roas, opts.builtAt);
    const port = opts.port ?? (await freePort());
    const metrics = await freePort();
    const argv = [
      'stayrtr',
      '-bind',
      `127.0.0.1:${port}`,
      '-cache',
      file,
      '-metrics.addr',
      `127.0.0.1:${metrics}`,
      '-refresh',
      String(opts.refresh ?? 3600),
      '-rtr.refresh',
      String(opts.rtrRefresh ?? 3600),
      '-rtr.retry',
      String(opts.retry ?? 600),
      '-rtr.expire',
      String(opts.expire ?? 7200),
      '-protocol',
      String(opts.protocol ?? 2),
      '-log.verbose=false',
    ];
    const tlsPort = opts.tls ? await freePort() : 0;
    if (opts.tls) argv.push('-tls.bind', `127.0.0.1:${tlsPort}`, '-tls.cert', opts.tls.cert, '-tls.key', opts.tls.key);
    const daemon = new Daemon(argv);
    const s = new Stayrtr(daemon, port, file, dir, opts);
    s.tlsPort = tlsPort;
    await waitFor(() => canConnect(port), {
      timeoutMs: 60_000,
      what: `stayrtr on 127.0.0.1:${port}: ${daemon.output}`,
    });
    if (opts.tls)
      await waitFor(() => canConnect(tlsPort), {
        timeoutMs: 10_000,
        what: `stayrtr TLS on 127.0.0.1:${tlsPort}: ${daemon.output}`,
      });
    return s;
  }

  /** Rewrites the VRP file and makes stayrtr re-read it now (SIGHUP), instead of waiting for -refresh. */
  update(roas: Roa[]): void {
    writeVrpJson(this.file, roas);
    this.daemon.child.kill('SIGHUP');
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
  }

  /** Same file, same port, new process: a cache restart (new session id). */
  async restart(): Promise<Stayrtr> {
    await this.stop();
    // stayrtr derives its session id from the clock in seconds: a restart within the same second keeps it.
    await new Promise((r) => setTimeout(r, 1100));
    return Stayrtr.start([], { ...this.opts, port: this.port }, { dir: this.dir, file: this.file });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
