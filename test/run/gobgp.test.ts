import { expect } from 'chai';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { run } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { createNode, startGobgpd, type Gobgpd, type Node } from '../../lab/ns/topology.js';

const RULE = (host: string) =>
  JSON.stringify({
    kind: 'flowspec',
    target: `${host}/32`,
    match: { destination: `${host}/32`, protocols: [17], sourcePorts: [{ min: 123, max: 123 }] },
    action: { type: 'discard' },
  });

describe('ft run with a real BGP speaker (gobgpd): no orphaned announcement after kill -9', function () {
  this.timeout(90_000);
  let node: Node | undefined;
  let gobgpd: Gobgpd | undefined;
  const daemons: Daemon[] = [];

  before(async function () {
    requireLab(this, { root: true, commands: ['ip', 'gobgpd', 'gobgp'] });
    node = createNode(`ft-run-bgp-${randomBytes(3).toString('hex')}`);
    gobgpd = await startGobgpd(node, {
      asn: 64500,
      routerId: '192.0.2.1',
      dir: mkdtempSync(join(tmpdir(), 'ft-run-gobgpd-')),
      neighbors: [],
    });
  });

  after(async () => {
    for (const d of daemons) await d.stop(3000);
    await gobgpd?.stop();
    node?.delete();
  });

  /** FlowSpec destinations in gobgpd's global RIB, as its own CLI shows them. */
  function announced(): string[] {
    const r = run(['gobgp', '--target', gobgpd!.api, 'global', 'rib', '-a', 'ipv4-flowspec'], { allowFail: true });
    return [...new Set(r.stdout.match(/203\.0\.113\.\d+\/32/g) ?? [])].sort();
  }

  it('announces through the daemon, survives kill -9 in gobgpd, and the next start withdraws what expired meanwhile', async () => {
    const env = isolatedHome();
    const dir = env.HOME as string;
    const stateDir = join(dir, 'state');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: lab
mode: enforce
asn: 64500
defaults: { ttl: 5m, rpki: off }
protect: [203.0.113.0/24]
speakers:
  edge: { adapter: gobgp, address: ${JSON.stringify(gobgpd!.api)} }
`,
    );
    const start = async () => {
      const d = new Daemon([process.execPath, BIN, 'run', '-p', policy, '--state-dir', stateDir, '--metrics', 'off'], {
        env: { ...env, NO_COLOR: '1' },
        cwd: ROOT,
      });
      daemons.push(d);
      // A socket file left by a killed daemon exists at once: wait for this one's start-up line instead.
      await waitFor(() => (existsSync(join(stateDir, 'control.sock')) && d.output.includes('ft run: ')) || !d.running, {
        timeoutMs: 20_000,
        what: 'ft run to start',
      });
      expect(d.running, d.output).to.equal(true);
      return d;
    };
    const apply = async (host: string, ttl: string) => {
      const r = await runFt(
        [
          'mitigate',
          'apply',
          '-p',
          policy,
          '--rule',
          '-',
          '--via',
          'edge',
          '--ttl',
          ttl,
          '--yes',
          '--state-dir',
          stateDir,
          '--json',
        ],
        env,
        RULE(host),
      );
      expect(r.code, r.stderr + r.stdout).to.equal(0);
    };

    let d = await start();
    await apply('203.0.113.40', '3s');
    await apply('203.0.113.41', '10m');
    expect(announced()).to.deep.equal(['203.0.113.40/32', '203.0.113.41/32']);

    d.child.kill('SIGKILL');
    await d.exited;
    expect(announced(), 'gobgpd keeps announcing after ft dies').to.deep.equal(['203.0.113.40/32', '203.0.113.41/32']);
    await new Promise((r) => setTimeout(r, 3500));

    d = await start(); // reconcile at start: the 3 s rule expired while ft was down
    const audit = await runFt(['audit', '--state-dir', stateDir, '--since', '10m'], env);
    expect(announced(), audit.stdout + d.output).to.deep.equal(['203.0.113.41/32']);
    d.child.kill('SIGTERM');
    expect(await d.exited, d.output).to.equal(0);
    expect(announced(), 'onShutdown: withdraw').to.deep.equal([]);
  });
});
