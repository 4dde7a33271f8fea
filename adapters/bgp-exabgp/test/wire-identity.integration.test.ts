import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../../test/helpers/daemon.js';
import { requireLab } from '../../../test/helpers/env.js';
import { Netns, link } from '../../../test/helpers/net.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { gobgpdConfig } from '../../../lab/ns/topology.js';
import { BirdAction } from '../../bgp-bird/src/action.js';
import { birdConfigSchema } from '../../bgp-bird/src/config.js';
import { GobgpAction } from '../../bgp-gobgp/src/action.js';
import { gobgpConfigSchema } from '../../bgp-gobgp/src/config.js';
import { ExabgpAction } from '../src/action.js';
import { exabgpConfigSchema } from '../src/config.js';
import { context, flow } from './rules.js';
import { BRIDGE, EXABGP_ENV } from './speakers.js';

// One rule is one route, whichever ft speaker announces it. ExaBGP wrote `syn&!ack` with other RFC 8955 operator
// bits than GoBGP and BIRD, so a receiver peered with both held two routes (two NLRIs) for one rule. Here a real
// gobgpd receives the same rules from a real ExaBGP, BIRD and gobgpd, each driven by its ft adapter: every rule
// must be one destination in the receiver's RIB with three paths.
const R = { e: '192.0.2.2', b: '192.0.2.6', g: '192.0.2.10' };
const S = { e: '192.0.2.1', b: '192.0.2.5', g: '192.0.2.9' };
const AS = { r: 65001, e: 65010, b: 65020, g: 65030 };

describe('one rule, one NLRI: ExaBGP, BIRD and GoBGP announce identical FlowSpec routes (real daemons)', function () {
  this.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'ft-wire-'));
  const spaces: Netns[] = [];
  const daemons: Daemon[] = [];
  const closers: (() => Promise<void>)[] = [];
  let recv: Netns;
  let actions: { name: string; apply(rule: ReturnType<typeof flow>): Promise<unknown> }[] = [];

  const rib = (): Record<string, unknown[]> => {
    const r = recv.exec(['gobgp', '-p', '50051', 'global', 'rib', '-a', 'ipv4-flowspec', '-j'], { allowFail: true });
    return r.status === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown[]>) : {};
  };
  const established = () => {
    const r = recv.exec(['gobgp', '-p', '50051', 'neighbor', '-j'], { allowFail: true });
    if (r.status !== 0) return 0;
    const peers = JSON.parse(r.stdout) as { state?: { session_state?: number | string } }[];
    return peers.filter((p) => /^(6|established)$/i.test(String(p.state?.session_state))).length;
  };

  before(async function () {
    requireLab(this, { root: true, commands: ['exabgp', 'bird', 'birdc', 'gobgpd', 'gobgp', 'ip'] });
    recv = Netns.create('wr');
    const e = Netns.create('we');
    const b = Netns.create('wb');
    const g = Netns.create('wg');
    spaces.push(recv, e, b, g);
    link(e, `${S.e}/30`, recv, `${R.e}/30`);
    link(b, `${S.b}/30`, recv, `${R.b}/30`);
    link(g, `${S.g}/30`, recv, `${R.g}/30`);

    writeFileSync(
      join(dir, 'recv.toml'),
      gobgpdConfig({
        asn: AS.r,
        routerId: R.e,
        dir,
        listen: true,
        neighbors: [
          { address: S.e, asn: AS.e, passive: true },
          { address: S.b, asn: AS.b, passive: true },
          { address: S.g, asn: AS.g, passive: true },
        ],
      }),
    );
    daemons.push(
      new Daemon(
        recv.argv(['gobgpd', '-f', join(dir, 'recv.toml'), '--api-hosts', '127.0.0.1:50051', '-p', '--pprof-disable']),
      ),
    );

    // ExaBGP, driven by its ft adapter through the bridge.
    const exaSocket = join(dir, 'exa.sock');
    writeFileSync(
      join(dir, 'exabgp.conf'),
      `process ft { run ${process.execPath} ${BRIDGE} ${exaSocket}; encoder text; }
neighbor ${R.e} {
  router-id ${S.e}; local-address ${S.e}; local-as ${AS.e}; peer-as ${AS.r};
  family { ipv4 flow; }
  api { processes [ ft ]; neighbor-changes; }
}
`,
    );
    daemons.push(new Daemon(e.argv(['exabgp', join(dir, 'exabgp.conf')]), { env: { ...EXABGP_ENV } }));
    const exa = new ExabgpAction(exabgpConfigSchema.parse({ socket: exaSocket, tagAsn: 65000 }), context('exa', dir));
    closers.push(() => exa.close());

    // BIRD 2, driven through its include file and birdc.
    const include = join(dir, 'ft-routes.conf');
    const birdSocket = join(dir, 'bird.ctl');
    writeFileSync(include, '');
    writeFileSync(
      join(dir, 'bird.conf'),
      `router id ${S.b};
flow4 table flowtab4;
flow6 table flowtab6;
include "${include}";
protocol device {}
protocol bgp r {
  local ${S.b} as ${AS.b};
  neighbor ${R.b} as ${AS.r};
  connect delay time 1; connect retry time 1;
  ipv4 { import none; export none; };
  flow4 { table flowtab4; import none; export where proto = "ft_flow4"; };
}
`,
    );
    daemons.push(
      new Daemon(b.argv(['bird', '-f', '-c', join(dir, 'bird.conf'), '-s', birdSocket, '-P', join(dir, 'bird.pid')])),
    );
    const bird = new BirdAction(
      birdConfigSchema.parse({ socket: birdSocket, includeFile: include, tagAsn: 65000 }),
      context('bird', dir),
    );

    // gobgpd as ft's speaker, over its gRPC API.
    writeFileSync(
      join(dir, 'send.toml'),
      gobgpdConfig({ asn: AS.g, routerId: S.g, dir, neighbors: [{ address: R.g, asn: AS.r }] }),
    );
    const gobgpSocket = join(dir, 'gobgp.sock');
    daemons.push(
      new Daemon(
        g.argv([
          'gobgpd',
          '-f',
          join(dir, 'send.toml'),
          '--api-hosts',
          `unix://${gobgpSocket}`,
          '-p',
          '--pprof-disable',
        ]),
      ),
    );
    await waitFor(() => established() === 3, { what: 'three BGP sessions at the receiver', timeoutMs: 30_000 });
    const gobgp = new GobgpAction(
      gobgpConfigSchema.parse({ address: `unix://${gobgpSocket}`, tagAsn: 65000 }),
      context('gobgp', dir),
    );
    closers.push(() => gobgp.close());
    actions = [
      { name: 'exabgp', apply: (r) => exa.apply(r) },
      { name: 'bird', apply: (r) => bird.apply(r) },
      { name: 'gobgp', apply: (r) => gobgp.apply(r) },
    ];
  });
  after(async () => {
    for (const c of closers) await c().catch(() => undefined);
    for (const d of daemons.reverse()) await d.stop();
    for (const ns of spaces) ns.delete();
    rmSync(dir, { recursive: true, force: true });
  });

  const RULES = [
    [
      'SYN flood: tcp-flags syn&!ack',
      flow(
        { destination: '203.0.113.10/32', protocols: [6], tcpFlags: { set: ['syn'], unset: ['ack'] } },
        { type: 'discard' },
      ),
    ],
    [
      'DNS amplification: source port and packet length',
      flow(
        {
          destination: '203.0.113.11/32',
          protocols: [17],
          sourcePorts: [{ min: 53, max: 53 }],
          packetLength: [{ min: 512, max: 65535 }],
        },
        { type: 'discard' },
      ),
    ],
    [
      'HTTP flood: destination ports and a port range',
      flow(
        {
          destination: '203.0.113.12/32',
          protocols: [6],
          destinationPorts: [
            { min: 80, max: 80 },
            { min: 8000, max: 8080 },
          ],
        },
        { type: 'rate-limit', bytesPerSecond: 125000 },
      ),
    ],
  ] as const;

  for (const [what, rule] of RULES) {
    it(`${what}: one destination with a path from each speaker`, async () => {
      for (const a of actions) await a.apply(rule);
      const dst = rule.match.destination.toString();
      await waitFor(
        () =>
          Object.entries(rib())
            .filter(([k]) => k.includes(dst))
            .reduce((n, [, paths]) => n + paths.length, 0) >= 3,
        { what: `three paths for ${dst} at the receiver: ${JSON.stringify(Object.keys(rib()))}` },
      );
      const keys = Object.keys(rib()).filter((k) => k.includes(dst));
      expect(keys, `NLRIs at the receiver: ${JSON.stringify(keys)}`).to.have.length(1);
      expect(rib()[keys[0] as string], 'paths for the one NLRI').to.have.length(3);
    });
  }
});
