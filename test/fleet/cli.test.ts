// The real CLI end to end: `ft run --redis` as the controller, `ft worker` per POP, `ft mitigate apply` handing a
// rule to the running controller, and the default onShutdown (withdraw) taking it back through the POPs.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { FLEET_PLUGIN_DIR, announced } from './fixture-plugin.js';
import { RedisServer } from './redis.js';

describe('fleet CLI: ft run --redis with ft worker per POP', function () {
  this.timeout(90_000);
  let redis: RedisServer | undefined;
  let dir = '';
  const daemons: Daemon[] = [];
  const workers: Daemon[] = [];

  before(async function () {
    requireLab(this, { commands: ['redis-server'] });
    redis = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), 'ft-fleet-cli-'));
  });

  after(async () => {
    await Promise.all(daemons.map((d) => d.stop(5000)));
    await redis?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a rule applied on the controller lands on each POP once; SIGTERM withdraws it everywhere', async () => {
    const env = { ...isolatedHome(), FT_LOG_LEVEL: 'info' };
    const link = await runFt(['plugins', 'link', FLEET_PLUGIN_DIR, '--no-install'], env);
    expect(link.code, link.stderr).to.equal(0);
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
  ams-rr: { adapter: fleet-log, pop: ams, dir: ${JSON.stringify(dir)} }
  fra-rr: { adapter: fleet-log, pop: fra, dir: ${JSON.stringify(dir)} }
`,
    );
    const url = redis!.url;
    for (const pop of ['ams', 'fra']) {
      const w = new Daemon(
        [
          process.execPath,
          BIN,
          'worker',
          '--pop',
          pop,
          '--redis',
          url,
          '-p',
          policy,
          '--state-dir',
          join(dir, `w-${pop}`),
          '--close-timeout',
          '2',
          '--json',
        ],
        { env, cwd: ROOT },
      );
      daemons.push(w);
      workers.push(w);
      await waitFor(() => w.output.includes(`serving POP ${pop}`) || !w.running, {
        timeoutMs: 20_000,
        what: `ft worker ${pop}`,
      });
      expect(w.running, w.output).to.equal(true);
    }
    const stateDir = join(dir, 'controller');
    const run = new Daemon(
      [
        process.execPath,
        BIN,
        'run',
        '-p',
        policy,
        '--redis',
        url,
        '--state-dir',
        stateDir,
        '--metrics',
        'off',
        '--json',
      ],
      { env, cwd: ROOT },
    );
    daemons.push(run);
    await waitFor(() => run.output.includes('ft run: enforcing') || !run.running, {
      timeoutMs: 30_000,
      what: 'ft run --redis to start',
    });
    expect(run.running, run.output).to.equal(true);
    expect(run.output).to.include('fleet controller on redis://127.0.0.1');

    const rule = JSON.stringify({
      kind: 'flowspec',
      target: '203.0.113.7/32',
      match: { destination: '203.0.113.7/32', protocols: [17] },
      action: { type: 'discard' },
    });
    const r = await runFt(
      [
        'mitigate',
        'apply',
        '-p',
        policy,
        '--rule',
        '-',
        '--via',
        'ams-rr',
        '--via',
        'fra-rr',
        '--ttl',
        '5m',
        '--yes',
        '--state-dir',
        stateDir,
        '--json',
      ],
      env,
      rule,
    );
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const [ams, fra] = [announced(dir, 'ams-rr'), announced(dir, 'fra-rr')];
    expect(Object.values(ams)).to.deep.equal(['203.0.113.7/32']);
    expect(Object.values(fra)).to.deep.equal(['203.0.113.7/32']);

    // The controller's journal is the long-term audit archive: the per-POP confirmations are in it.
    const audit = await runFt(['audit', '--state-dir', stateDir, '--json'], env);
    const ends = (
      JSON.parse(audit.stdout) as {
        records: { phase: string; op: string; results?: { adapter: string; detail?: string }[] }[];
      }
    ).records.filter((x) => x.phase === 'end' && x.op === 'add');
    expect(
      ends
        .flatMap((e) => e.results ?? [])
        .map((x) => `${x.adapter} ${x.detail?.slice(0, 17)}`)
        .sort(),
    ).to.deep.equal(['ams-rr POP ams confirmed', 'fra-rr POP fra confirmed']);
    const status = await runFt(['fleet', 'status', '--redis', url, '--json'], env);
    const s = JSON.parse(status.stdout) as {
      pops: { pop: string; workers: unknown[]; rules: { installed: number } }[];
    };
    expect(s.pops.map((p) => [p.pop, p.workers.length, p.rules.installed])).to.deep.equal([
      ['ams', 1, 1],
      ['fra', 1, 1],
    ]);
    expect(status.code).to.equal(0);

    await run.stop(20_000);
    expect(await run.exited).to.equal(0);
    expect(announced(dir, 'ams-rr')).to.deep.equal({});
    expect(announced(dir, 'fra-rr')).to.deep.equal({});
    const c = redis!.client();
    expect(await c.hlen('ft:rules')).to.equal(0);
    c.disconnect();

    // Redis gone, then SIGTERM: each worker still exits on its own, in bounded time, with its report.
    await redis!.stop('SIGKILL');
    const t0 = Date.now();
    await Promise.all(workers.map((w) => w.stop(20_000)));
    expect(Date.now() - t0).to.be.lessThan(15_000);
    for (const w of workers) {
      expect(await w.exited, w.output).to.equal(0);
      expect(w.output).to.match(/"stoppedBy": "SIGTERM"/);
      expect(w.output).to.not.match(/"completed": 0,/); // each did its POP's jobs (list, apply, withdraw)
    }
  });
});
