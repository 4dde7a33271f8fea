// The namespace lab: ctl (gobgpd as ft's speaker) peered with edge-linux (gobgpd + ft's FlowSpec enforcer),
// which routes between attacker (198.51.100.0/24) and victim (203.0.113.0/24, nginx). Documentation addresses
// only; no namespace has a default route; all names start with the lab prefix, so `down` finds everything.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createNode, link, Node, p2pAddresses, sh, startGobgpd, type Gobgpd } from './topology.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CTL_ASN = 64500;
export const EDGE_ASN = 64501;
export const VICTIM = '203.0.113.10';
export const VICTIM_WEB2 = '203.0.113.11';
export const ATTACKER = '198.51.100.2';
export const VICTIM6 = '2001:db8:203::10';
export const ATTACKER6 = '2001:db8:198::2';

export interface LabOptions {
  /** Namespace name prefix ("ftlab" for `ft lab`; tests use a random one). */
  prefix: string;
  /** Where configs, sockets, logs and pid files live. */
  dir: string;
  /** Daemons outlive this process (`ft lab up`), or are children stopped by `teardown()` (tests). */
  detached?: boolean;
  /** Start `ft enforcer run` in edge-linux (needs the built CLI). Tests run the library in-process instead. */
  enforcerCommand?: boolean;
}

export interface Lab {
  prefix: string;
  dir: string;
  ctl: Node;
  edge: Node;
  attacker: Node;
  victim: Node;
  ctlGobgp: Gobgpd;
  edgeGobgp: Gobgpd;
  /** ctl's address as the edge sees it: the BGP neighbor the enforcer reads with --peer. */
  ctlAddress: string;
  edgeAddress: string;
  teardown(): Promise<void>;
}

function ifPrefix(prefix: string): string {
  // Interface names are limited to 15 characters: a short stem of the lab prefix.
  return prefix.replace(/[^A-Za-z0-9]/g, '').slice(-7);
}

export function nodeName(prefix: string, role: string): string {
  return `${prefix}-${role}`;
}

export async function labUp(o: LabOptions): Promise<Lab> {
  mkdirSync(o.dir, { recursive: true });
  const stem = ifPrefix(o.prefix);
  const ctl = createNode(nodeName(o.prefix, 'ctl'));
  const edge = createNode(nodeName(o.prefix, 'edge-linux'));
  const attacker = createNode(nodeName(o.prefix, 'attacker'));
  const victim = createNode(nodeName(o.prefix, 'victim'));
  const children: Gobgpd[] = [];
  const lab: Partial<Lab> & { teardown(): Promise<void> } = {
    prefix: o.prefix,
    dir: o.dir,
    ctl,
    edge,
    attacker,
    victim,
    async teardown() {
      for (const c of children) await c.stop();
      labDown(o.prefix, o.dir);
    },
  };
  try {
    const bgp = p2pAddresses(0);
    link(
      { node: ctl, ifname: `${stem}c0`, addresses: [`${bgp.a4}/30`, `${bgp.a6}/64`] },
      { node: edge, ifname: `${stem}e0`, addresses: [`${bgp.b4}/30`, `${bgp.b6}/64`] },
    );
    link(
      { node: attacker, ifname: `${stem}a1`, addresses: [`${ATTACKER}/24`, `${ATTACKER6}/64`] },
      { node: edge, ifname: `${stem}e1`, addresses: ['198.51.100.1/24', '2001:db8:198::1/64'] },
    );
    link(
      { node: victim, ifname: `${stem}v2`, addresses: [`${VICTIM}/24`, `${VICTIM_WEB2}/24`, `${VICTIM6}/64`] },
      { node: edge, ifname: `${stem}e2`, addresses: ['203.0.113.1/24', '2001:db8:203::1/64'] },
    );
    // Only the lab's own prefixes are routed; nothing has a default route.
    attacker.exec(['ip', 'route', 'replace', '203.0.113.0/24', 'via', '198.51.100.1']);
    attacker.exec(['ip', '-6', 'route', 'replace', '2001:db8:203::/64', 'via', '2001:db8:198::1']);
    victim.exec(['ip', 'route', 'replace', '198.51.100.0/24', 'via', '203.0.113.1']);
    victim.exec(['ip', '-6', 'route', 'replace', '2001:db8:198::/64', 'via', '2001:db8:203::1']);
    edge.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    edge.exec(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);

    const edgeGobgp = await startGobgpd(
      edge,
      {
        asn: EDGE_ASN,
        routerId: bgp.b4,
        dir: join(o.dir, 'edge-linux'),
        listen: true,
        neighbors: [{ address: bgp.a4, asn: CTL_ASN, passive: true }],
      },
      { detached: o.detached },
    );
    children.push(edgeGobgp);
    const ctlGobgp = await startGobgpd(
      ctl,
      {
        asn: CTL_ASN,
        routerId: bgp.a4,
        dir: join(o.dir, 'ctl'),
        neighbors: [{ address: bgp.b4, asn: EDGE_ASN }],
      },
      { detached: o.detached },
    );
    children.push(ctlGobgp);
    writeFileSync(join(o.dir, 'ctl', 'pid'), String(ctlGobgp.pid));
    writeFileSync(join(o.dir, 'edge-linux', 'pid'), String(edgeGobgp.pid));
    startNginx(victim, join(o.dir, 'victim'));
    if (o.enforcerCommand) startEnforcerCommand(edge, edgeGobgp.api, bgp.a4, join(o.dir, 'edge-linux'));
    Object.assign(lab, { ctlGobgp, edgeGobgp, ctlAddress: bgp.a4, edgeAddress: bgp.b4 });
    return lab as Lab;
  } catch (err) {
    await lab.teardown();
    throw err;
  }
}

/**
 * An extra edge namespace linked to ctl, for edge-frr / edge-bird: the caller starts its daemon there. With
 * `gobgpPeerAsn`, ctl's gobgpd also gets the edge as a BGP neighbor (IPv4 transport, unicast + FlowSpec v4/v6),
 * so what ft announces through gobgpd reaches that edge too.
 */
export async function addEdge(
  prefix: string,
  role: string,
  linkIndex: number,
  options: { ctlApi?: string; gobgpPeerAsn?: number } = {},
): Promise<{ node: Node; ctlAddress: string; edgeAddress: string; ctlAddress6: string; edgeAddress6: string }> {
  const ctl = new Node(nodeName(prefix, 'ctl'));
  const node = createNode(nodeName(prefix, role));
  const a = p2pAddresses(linkIndex);
  const stem = ifPrefix(prefix);
  link(
    { node: ctl, ifname: `${stem}c${linkIndex}`, addresses: [`${a.a4}/30`, `${a.a6}/64`] },
    { node, ifname: `${stem}x${linkIndex}`, addresses: [`${a.b4}/30`, `${a.b6}/64`] },
  );
  if (options.gobgpPeerAsn !== undefined) {
    const { GobgpClient, FAMILIES } = await import('@ft/bgp-gobgp');
    const client = await GobgpClient.create({
      address: options.ctlApi ?? `unix://${join('/tmp/ft-lab', 'ctl', 'api.sock')}`,
    });
    try {
      await client.addPeer({ address: a.b4, asn: options.gobgpPeerAsn, families: Object.values(FAMILIES) });
    } finally {
      client.close();
    }
  }
  return { node, ctlAddress: a.a4, edgeAddress: a.b4, ctlAddress6: a.a6, edgeAddress6: a.b6 };
}

function startNginx(victim: Node, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')};`,
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
      `  server { listen ${VICTIM}:80; listen ${VICTIM_WEB2}:80; listen [${VICTIM6}]:80; location / { return 200 "ft lab victim\\n"; } }`,
      '}',
      '',
    ].join('\n'),
  );
  // nginx daemonizes itself; its master pid lands in nginx.pid.
  victim.exec(['nginx', '-p', dir, '-c', conf]);
}

function startEnforcerCommand(edge: Node, api: string, peer: string, dir: string): void {
  const bin = join(REPO, 'bin', 'run.js');
  const log = join(dir, 'enforcer.log');
  const out = openSync(log, 'a');
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      edge.name,
      process.execPath,
      bin,
      'enforcer',
      'run',
      '--gobgp',
      api,
      '--peer',
      peer,
      '--resync',
      '5',
    ],
    {
      stdio: ['ignore', out, out],
      detached: true,
    },
  );
  closeSync(out);
  child.unref();
  writeFileSync(join(dir, 'enforcer.pid'), String(child.pid));
}

/** Removes every namespace of the lab (killing what runs inside), even after a crashed run. */
export function labDown(prefix: string, dir?: string): string[] {
  const names = sh(['ip', 'netns', 'list'], { allowFail: true })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] as string)
    .filter((n) => n.startsWith(`${prefix}-`));
  // nginx in the victim daemonized: it is in the namespace, so `ip netns pids` finds it like the rest.
  for (const n of names) new Node(n).delete();
  if (dir && existsSync(dir)) {
    for (const sub of readdirSync(dir)) {
      for (const f of ['pid', 'enforcer.pid']) {
        const p = join(dir, sub, f);
        if (!existsSync(p)) continue;
        const pid = Number(readFileSync(p, 'utf8'));
        if (pid > 1) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone with its namespace
          }
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return names;
}

/** Packets of UDP from `srcPort` the victim received so far (an nft counter in the victim namespace). */
export function victimCounter(lab: Pick<Lab, 'victim'>, srcPort: number): { install(): void; read(): number } {
  return {
    install() {
      lab.victim.exec(['nft', '-f', '-'], {
        input: `add table inet ft_lab_count\ndelete table inet ft_lab_count\ntable inet ft_lab_count {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    udp sport ${srcPort} counter\n  }\n}\n`,
      });
    },
    read() {
      const j = JSON.parse(lab.victim.exec(['nft', '-j', 'list', 'table', 'inet', 'ft_lab_count']).stdout) as {
        nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[];
      };
      for (const item of j.nftables) for (const e of item.rule?.expr ?? []) if (e.counter) return e.counter.packets;
      return 0;
    },
  };
}

/** A bounded UDP flood from the attacker: `count` packets from source port `srcPort`, at most `seconds`. */
export function flood(
  lab: Pick<Lab, 'attacker'>,
  o: { target?: string; srcPort: number; count: number; seconds?: number },
): void {
  const count = Math.min(Math.max(1, Math.floor(o.count)), 100_000);
  lab.attacker.exec(
    [
      'timeout',
      String(o.seconds ?? 10),
      'hping3',
      '--udp',
      '-q',
      '-s',
      String(o.srcPort),
      '-k',
      '-p',
      '9999',
      '-c',
      String(count),
      '-i',
      'u500',
      o.target ?? VICTIM,
    ],
    { allowFail: true, timeoutMs: ((o.seconds ?? 10) + 5) * 1000 },
  );
}

/** A bounded HTTP GET from the attacker side (legitimate traffic must keep working). */
export function httpGet(lab: Pick<Lab, 'attacker'>, target = VICTIM): boolean {
  const r = lab.attacker.exec(
    ['curl', '-sS', '--max-time', '3', `http://${target.includes(':') ? `[${target}]` : target}/`],
    { allowFail: true, timeoutMs: 6000 },
  );
  return r.status === 0 && r.stdout.includes('ft lab victim');
}

/** The enforcer's nft table in the edge, as nft reports it (absent → null). */
export function edgeFlowspecRules(
  lab: Pick<Lab, 'edge'>,
  table = 'ft_flowspec',
): { comment?: string; expr: unknown[] }[] | null {
  const r = lab.edge.exec(['nft', '-j', 'list', 'table', 'inet', table], { allowFail: true });
  if (r.status !== 0) return null;
  const j = JSON.parse(r.stdout) as { nftables: { rule?: { comment?: string; expr: unknown[] } }[] };
  return j.nftables.flatMap((i) => (i.rule ? [i.rule] : []));
}
