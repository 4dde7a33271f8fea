import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { Netns } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

const RULE = (host: string) =>
  JSON.stringify({
    kind: 'host-filter',
    target: `${host}/32`,
    match: { destination: `${host}/32`, protocol: 'udp', sourcePorts: [{ min: 123, max: 123 }] },
    action: { type: 'drop' },
  });

describe('ft run with a real kernel action (nftables in a namespace): SIGTERM withdraws, a TTL that passed while ft was down is withdrawn at the next start', function () {
  this.timeout(90_000);
  let ns: Netns | undefined;
  const daemons: Daemon[] = [];

  before(function () {
    requireLab(this, { root: true, commands: ['ip', 'nft'] });
    ns = Netns.create('run-nft');
  });

  after(async () => {
    for (const d of daemons) await d.stop(3000);
    ns?.delete();
  });

  /** The rule ids ft's nft table in the namespace carries right now. */
  function kernelRuleIds(): string[] {
    const r = ns!.exec(['nft', 'list', 'ruleset'], { allowFail: true });
    return [...new Set(r.stdout.match(/hf-[0-9a-f]{16}/g) ?? [])].sort();
  }

  it('goes through apply, kill -9, expiry while down, reconcile, SIGTERM', async () => {
    const env = isolatedHome();
    const dir = env.HOME as string;
    const stateDir = join(dir, 'state');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: lab
mode: enforce
defaults: { ttl: 5m, rpki: off }
protect: [203.0.113.0/24]
nodeActions:
  host-nft: { adapter: nft, netns: ${ns!.name} }
`,
    );
    const start = async () => {
      const d = new Daemon(
        [process.execPath, BIN, 'run', '-p', policy, '--state-dir', stateDir, '--metrics', 'off', '--json'],
        { env: { ...env, NO_COLOR: '1' }, cwd: ROOT },
      );
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
          'host-nft',
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
      return (JSON.parse(r.stdout) as { report: { ops: { ruleId: string }[] } }).report.ops[0]!.ruleId;
    };

    let d = await start();
    const short = await apply('203.0.113.30', '3s');
    const long = await apply('203.0.113.31', '10m');
    expect(kernelRuleIds()).to.deep.equal([short, long].sort());

    d.child.kill('SIGKILL');
    await d.exited;
    expect(kernelRuleIds(), 'kill -9 leaves the kernel as it was').to.deep.equal([short, long].sort());
    await new Promise((r) => setTimeout(r, 3500)); // the short rule's TTL passes while nobody runs

    const once = await runFt(
      ['run', '-p', policy, '--state-dir', stateDir, '--once', '--metrics', 'off', '--json'],
      env,
    );
    expect(once.code, once.stderr).to.equal(0);
    const res = JSON.parse(once.stdout) as { reconcile: { expired: string[] }; liveAtExit: { id: string }[] };
    expect(res.reconcile.expired).to.deep.equal([short]);
    expect(res.liveAtExit.map((r) => r.id)).to.deep.equal([long]);
    expect(kernelRuleIds()).to.deep.equal([long]);

    d = await start();
    d.child.kill('SIGTERM');
    expect(await d.exited, d.output).to.equal(0);
    expect(kernelRuleIds(), 'onShutdown: withdraw').to.deep.equal([]);
  });
});
