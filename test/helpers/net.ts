import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

/** A free TCP port on loopback (the OS picks it; the caller binds it right after). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs argv (never a shell); throws with stderr on a non-zero exit unless `allowFail`. */
export function run(
  argv: string[],
  options: { allowFail?: boolean; input?: string; timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
  const [cmd, ...args] = argv as [string, ...string[]];
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: options.input, timeout: options.timeoutMs ?? 30_000 });
  if (!options.allowFail && r.status !== 0) {
    throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr || r.stdout}`);
  }
  return r;
}

/** A network namespace with a unique name; `exec` runs argv inside it. Always `await ns.delete()` in `after`. */
export class Netns {
  readonly name: string;
  private constructor(name: string) {
    this.name = name;
  }

  static create(label: string): Netns {
    const name = `ft-${label}-${randomBytes(3).toString('hex')}`.slice(0, 30);
    run(['ip', 'netns', 'add', name]);
    const ns = new Netns(name);
    ns.exec(['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** argv for running a command in this namespace (for spawn). */
  argv(cmd: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...cmd];
  }

  exec(
    cmd: string[],
    options: { allowFail?: boolean; input?: string; timeoutMs?: number } = {},
  ): SpawnSyncReturns<string> {
    return run(this.argv(cmd), options);
  }

  delete(): void {
    // Killing what still runs inside first, so the namespace really goes away.
    const pids = run(['ip', 'netns', 'pids', this.name], { allowFail: true }).stdout.split('\n').filter(Boolean);
    for (const pid of pids) run(['kill', '-9', pid], { allowFail: true });
    run(['ip', 'netns', 'delete', this.name], { allowFail: true });
  }
}

/**
 * Joins two namespaces with a veth pair and addresses (documentation ranges only), no default route.
 * Interface names are derived from the namespace names so parallel tests never collide.
 */
export function link(a: Netns, aAddr: string, b: Netns, bAddr: string): { aIf: string; bIf: string } {
  const tag = randomBytes(3).toString('hex');
  const aIf = `va${tag}`;
  const bIf = `vb${tag}`;
  run(['ip', 'link', 'add', aIf, 'netns', a.name, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name]);
  a.exec(['ip', 'addr', 'add', aAddr, 'dev', aIf]);
  b.exec(['ip', 'addr', 'add', bAddr, 'dev', bIf]);
  a.exec(['ip', 'link', 'set', aIf, 'up']);
  b.exec(['ip', 'link', 'set', bIf, 'up']);
  return { aIf, bIf };
}
