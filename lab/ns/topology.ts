// The namespace lab's building blocks: namespaces, veth links with documentation addresses, and gobgpd
// instances. Used by `ft lab` (lab/ns/lab.ts) and by integration tests that need a ctl ↔ edge peering.
// Everything runs as argv (no shell); nothing here touches the root namespace beyond creating the veth pairs,
// which move into namespaces at once.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$/;
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

export function sh(
  argv: string[],
  options: { allowFail?: boolean; input?: string; timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
  const [cmd, ...args] = argv as [string, ...string[]];
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: options.input, timeout: options.timeoutMs ?? 30_000 });
  if (!options.allowFail && r.status !== 0) {
    throw new Error(
      `${argv.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout || String(r.error ?? '')).trim()}`,
    );
  }
  return r;
}

/** A network namespace of the lab. */
export class Node {
  constructor(readonly name: string) {
    if (!NAME_RE.test(name)) throw new Error(`namespace name ${JSON.stringify(name)} is not [A-Za-z0-9_.-]{1,30}`);
  }

  argv(cmd: string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...cmd];
  }

  exec(
    cmd: string[],
    options: { allowFail?: boolean; input?: string; timeoutMs?: number } = {},
  ): SpawnSyncReturns<string> {
    return sh(this.argv(cmd), options);
  }

  get exists(): boolean {
    return sh(['ip', 'netns', 'list'], { allowFail: true })
      .stdout.split('\n')
      .some((l) => l.split(' ')[0] === this.name);
  }

  /** Kills what still runs inside, then deletes the namespace (its veth ends go with it). */
  delete(): void {
    const pids = sh(['ip', 'netns', 'pids', this.name], { allowFail: true })
      .stdout.split('\n')
      .filter((p) => /^\d+$/.test(p));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    sh(['ip', 'netns', 'delete', this.name], { allowFail: true });
  }
}

/** Creates (or reuses) a namespace with loopback up and no routes out. */
export function createNode(name: string): Node {
  const node = new Node(name);
  if (!node.exists) sh(['ip', 'netns', 'add', name]);
  node.exec(['ip', 'link', 'set', 'lo', 'up']);
  return node;
}

export interface LinkEnd {
  node: Node;
  ifname: string;
  /** Addresses with prefix length, documentation ranges only. */
  addresses: string[];
}

/** A veth pair between two namespaces. Interface names must be unique per host while the pair is created. */
export function link(a: LinkEnd, b: LinkEnd): void {
  for (const end of [a, b])
    if (!IFNAME_RE.test(end.ifname)) throw new Error(`interface name ${JSON.stringify(end.ifname)} is invalid`);
  const existing = a.node.exec(['ip', '-o', 'link', 'show', 'dev', a.ifname], { allowFail: true });
  if (existing.status !== 0) {
    sh([
      'ip',
      'link',
      'add',
      a.ifname,
      'netns',
      a.node.name,
      'type',
      'veth',
      'peer',
      'name',
      b.ifname,
      'netns',
      b.node.name,
    ]);
  }
  for (const end of [a, b]) {
    for (const addr of end.addresses) {
      const v6 = addr.includes(':');
      // nodad: the address is usable at once (tests peer over it immediately).
      end.node.exec([
        'ip',
        ...(v6 ? ['-6'] : []),
        'addr',
        'replace',
        addr,
        'dev',
        end.ifname,
        ...(v6 ? ['nodad'] : []),
      ]);
    }
    end.node.exec(['ip', 'link', 'set', end.ifname, 'up']);
  }
}

/**
 * Addresses for the n-th point-to-point link of a lab: 192.0.2.(4n)/30 and 2001:db8:ffff:n::/64.
 * Side a gets .1/::1, side b .2/::2.
 */
export function p2pAddresses(n: number): { a4: string; b4: string; a6: string; b6: string } {
  if (!Number.isInteger(n) || n < 0 || n > 63) throw new Error('link index must be 0..63');
  const base = n * 4;
  return {
    a4: `192.0.2.${base + 1}`,
    b4: `192.0.2.${base + 2}`,
    a6: `2001:db8:ffff:${n.toString(16)}::1`,
    b6: `2001:db8:ffff:${n.toString(16)}::2`,
  };
}

export interface GobgpNeighbor {
  address: string;
  asn: number;
  /** Wait for the other side to connect (edges), instead of connecting out. */
  passive?: boolean;
}

export interface GobgpdOptions {
  asn: number;
  routerId: string;
  /** Directory for the config file, the API socket and the log. */
  dir: string;
  neighbors: GobgpNeighbor[];
  /** Listen for BGP on 179 inside the namespace (false: only connect out). */
  listen?: boolean;
}

/** A gobgpd config (TOML) carrying IPv4/IPv6 unicast and FlowSpec to every neighbor, with fast retry timers. */
export function gobgpdConfig(o: GobgpdOptions): string {
  const families = ['ipv4-unicast', 'ipv6-unicast', 'ipv4-flowspec', 'ipv6-flowspec'];
  const lines = [
    '[global.config]',
    `  as = ${o.asn}`,
    `  router-id = "${o.routerId}"`,
    `  port = ${o.listen ? 179 : -1}`,
    '',
  ];
  for (const n of o.neighbors) {
    lines.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${n.address}"`,
      `    peer-as = ${n.asn}`,
    );
    lines.push(
      '  [neighbors.timers.config]',
      '    connect-retry = 1',
      '    hold-time = 9',
      '    keepalive-interval = 3',
      '    idle-hold-time-after-reset = 1',
    );
    if (n.passive) lines.push('  [neighbors.transport.config]', '    passive-mode = true');
    for (const f of families)
      lines.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${f}"`);
    lines.push('');
  }
  return lines.join('\n');
}

export interface Gobgpd {
  node: Node;
  /** gRPC target for ft: unix:///dir/api.sock (a Unix socket reaches into the namespace from anywhere). */
  api: string;
  socket: string;
  log: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts gobgpd inside `node`. Its API listens on a Unix socket in `dir`, so ft in the root namespace can reach
 * it without any route into the namespace. `detached`: survives this process (the lab), else a child (tests).
 */
export async function startGobgpd(node: Node, o: GobgpdOptions, options: { detached?: boolean } = {}): Promise<Gobgpd> {
  mkdirSync(o.dir, { recursive: true });
  const config = join(o.dir, 'gobgpd.toml');
  const socket = join(o.dir, 'api.sock');
  const log = join(o.dir, 'gobgpd.log');
  writeFileSync(config, gobgpdConfig(o));
  rmSync(socket, { force: true });
  const out = openSync(log, 'a');
  const child = spawn(
    'ip',
    node
      .argv(['gobgpd', '-f', config, '--api-hosts', `unix://${socket}`, '-p', '--pprof-disable', '-l', 'info'])
      .slice(1),
    {
      stdio: ['ignore', out, out],
      detached: options.detached ?? false,
    },
  );
  closeSync(out);
  if (options.detached) child.unref();
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`gobgpd in ${node.name} did not start (see ${log})`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    node,
    api: `unix://${socket}`,
    socket,
    log,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
