// A real ft run with a real BGP speaker (gobgpd, API on loopback, no BGP port) and a real RTR cache (stayrtr):
// what the NOC must hear about reaches the stream — a FlowSpec rule announced, the VRP change that makes it
// RPKI-Invalid (and its withdrawal under rpki: enforce), the speaker going down and coming back, the cache lost.
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WireEvent } from '../../core/events/index.js';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { freePort, run } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { Stayrtr } from '../rpki/stayrtr.js';
import { Follower } from './follower.js';

const RULE = JSON.stringify({
  kind: 'flowspec',
  target: '203.0.113.40/32',
  match: { destination: '203.0.113.40/32', protocols: [17], sourcePorts: [{ min: 123, max: 123 }] },
  action: { type: 'discard' },
});

const neighbor = (asn: number, o: { passive?: boolean; remotePort?: number }) =>
  [
    '[[neighbors]]',
    '  [neighbors.config]',
    '    neighbor-address = "127.0.0.1"',
    `    peer-as = ${asn}`,
    '  [neighbors.timers.config]',
    '    connect-retry = 1',
    '    hold-time = 9',
    '    keepalive-interval = 3',
    '  [neighbors.transport.config]',
    o.passive ? '    passive-mode = true' : `    remote-port = ${o.remotePort}`,
    '  [[neighbors.afi-safis]]',
    '    [neighbors.afi-safis.config]',
    '      afi-safi-name = "ipv4-flowspec"',
  ].join('\n');

/** A gobgpd with its API on a loopback port (no namespace, no root needed). */
async function startGobgpd(dir: string, name: string, config: string, apiPort: number): Promise<Daemon> {
  writeFileSync(join(dir, `${name}.toml`), config);
  const d = new Daemon([
    'gobgpd',
    '-f',
    join(dir, `${name}.toml`),
    '--api-hosts',
    `127.0.0.1:${apiPort}`,
    '-p',
    '--pprof-disable',
  ]);
  await waitFor(() => d.output.includes('gobgpd started') || !d.running, { timeoutMs: 10_000, what: `gobgpd ${name}` });
  if (!d.running) throw new Error(`gobgpd ${name} exited: ${d.output}`);
  return d;
}

describe('the event stream of a real ft run with gobgpd and stayrtr', function () {
  this.timeout(120_000);
  const cleanups: (() => unknown)[] = [];
  before(function () {
    requireLab(this, { commands: ['gobgpd', 'gobgp', 'stayrtr'] });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('RPKI-Invalid after a VRP change: verdict_changed and withdrawn; the speaker down and up; the RTR cache lost', async () => {
    const env = isolatedHome();
    const dir = env.HOME as string;
    const stateDir = join(dir, 'state');
    const gdir = mkdtempSync(join(tmpdir(), 'ft-ev-gobgpd-'));
    cleanups.push(() => rmSync(gdir, { recursive: true, force: true }));
    // ft's speaker (AS64500) and an edge router (AS64501) that connects to it: the speaker is healthy while that
    // BGP session is up.
    const [gport, bgpPort, edgeApi] = [await freePort(), await freePort(), await freePort()];
    const speaker = await startGobgpd(
      gdir,
      'speaker',
      `[global.config]\n  as = 64500\n  router-id = "192.0.2.1"\n  port = ${bgpPort}\n  local-address-list = ["127.0.0.1"]\n${neighbor(64501, { passive: true })}\n`,
      gport,
    );
    cleanups.push(() => speaker.stop());
    const edgeConfig = `[global.config]\n  as = 64501\n  router-id = "192.0.2.2"\n  port = -1\n${neighbor(64500, { remotePort: bgpPort })}\n`;
    let edge = await startGobgpd(gdir, 'edge', edgeConfig, edgeApi);
    cleanups.push(() => edge.stop());
    const rtr = await Stayrtr.start([{ prefix: '203.0.113.0/24', maxLength: 24, asn: 64500 }]);
    cleanups.push(() => rtr.destroy());
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: lab
mode: enforce
asn: 64500
defaults: { ttl: 10m, rpki: enforce }
protect: [203.0.113.0/24]
rpki:
  caches: ["127.0.0.1:${rtr.port}"]
speakers:
  edge: { adapter: gobgp, address: "127.0.0.1:${gport}" }
`,
    );
    const follow = new Follower(['--state-dir', stateDir], env);
    cleanups.push(() => follow.stop());
    const ft = new Daemon(
      [process.execPath, BIN, 'run', '-p', policy, '--state-dir', stateDir, '--metrics', 'off', '--health-ms', '500'],
      {
        env: { ...env, NO_COLOR: '1' },
        cwd: ROOT,
      },
    );
    cleanups.push(() => ft.stop(5000));
    await waitFor(() => (existsSync(join(stateDir, 'control.sock')) && ft.output.includes('ft run: ')) || !ft.running, {
      timeoutMs: 30_000,
      what: 'ft run to start',
    });
    expect(ft.running, ft.output).to.equal(true);
    const established = () =>
      run(['gobgp', '-u', '127.0.0.1', '-p', String(gport), 'neighbor'], { allowFail: true }).stdout.includes('Establ');
    await waitFor(established, { timeoutMs: 30_000, what: 'the BGP session to the edge' });
    const rib = () =>
      run(['gobgp', '-u', '127.0.0.1', '-p', String(gport), 'global', 'rib', '-a', 'ipv4-flowspec'], {
        allowFail: true,
      }).stdout;

    const applied = await runFt(
      ['mitigate', 'apply', '-p', policy, '--rule', '-', '--via', 'edge', '--yes', '--state-dir', stateDir, '--json'],
      env,
      RULE,
    );
    expect(applied.code, applied.stderr + applied.stdout).to.equal(0);
    const added = await follow.seen((e) => e.type === 'rule.added', 'the FlowSpec rule announced');
    expect(rib()).to.include('203.0.113.40/32');
    expect(added.data).to.deep.include({ kind: 'flowspec', target: '203.0.113.40/32', via: ['edge'] });

    // Someone else's ROA now covers our prefix: our announcement is Invalid, and rpki: enforce takes it down.
    rtr.update([{ prefix: '203.0.113.0/24', maxLength: 24, asn: 64999 }]);
    const changed = (await follow.seen((e) => e.type === 'rpki.verdict_changed', 'the RPKI verdict change')) as Extract<
      WireEvent,
      { type: 'rpki.verdict_changed' }
    >;
    expect(changed.data.verdict.state).to.equal('invalid');
    expect(changed.data.withdrawn).to.equal(true);
    expect(changed.data.announced).to.equal('203.0.113.40/32');
    const withdrawn = await follow.seen(
      (e) => e.type === 'rule.withdrawn' && (e.data as { planned_by?: string }).planned_by === 'rpki',
      'the withdrawal under rpki: enforce',
    );
    expect(withdrawn.seq).to.be.greaterThan(changed.seq);
    await waitFor(() => !rib().includes('203.0.113.40/32'), { what: 'the route gone from gobgpd' });

    // The speaker loses its session to the edge and gets it back: down, then up (health is asked every 500 ms here). A
    // first health check made while the session was still coming up may have said down already: then its up first.
    const early = follow.events.findLast((e) => e.type === 'speaker.down' || e.type === 'speaker.up');
    if (early?.type === 'speaker.down') await follow.seen((e) => e.type === 'speaker.up' && e.seq > early.seq, 'up');
    const mark = follow.events.at(-1)?.seq ?? 0;
    await edge.stop();
    const down = await follow.seen((e) => e.type === 'speaker.down' && e.seq > mark, 'the speaker down');
    expect(down.data).to.deep.include({ speaker: 'edge', adapter: 'gobgp', status: 'down' });
    expect((down.data as { detail: string }).detail).to.match(/127\.0\.0\.1 AS64501/);
    edge = await startGobgpd(gdir, 'edge', edgeConfig, edgeApi);
    const up = await follow.seen((e) => e.type === 'speaker.up' && e.seq > down.seq, 'the speaker up');
    expect((up.data as { down_for_ms: number }).down_for_ms).to.be.greaterThan(0);

    // The RTR cache goes away.
    await rtr.stop();
    const lost = await follow.seen((e) => e.type === 'rtr.down', 'the RTR cache down');
    expect((lost.data as { cache: string }).cache).to.equal(`127.0.0.1:${rtr.port}`);

    // ft audit shows the same story as rows.
    const audit = await runFt(['audit', '--state-dir', stateDir], env);
    expect(audit.stdout).to.match(/rpki\.verdict_changed/);
    expect(audit.stdout).to.match(/speaker\.down/);
  });
});
