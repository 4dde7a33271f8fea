// A fleet controller as an operator meets it: `ft mitigate list` / `ft audit` with --redis show what the controller
// holds in Redis, and SIGTERM with Redis gone ends `ft run --redis` in bounded time, saying what it could not do.
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

describe('fleet CLI: reading the fleet store, and shutdown with Redis gone', function () {
  this.timeout(90_000);
  let redis: RedisServer | undefined;
  let dir = '';
  let run: Daemon | undefined;

  before(async function () {
    requireLab(this, { commands: ['redis-server'] });
    redis = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), 'ft-fleet-stop-'));
  });

  after(async () => {
    await run?.stop(2000);
    await redis?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('mitigate list and audit read the rules in Redis; SIGTERM with Redis down exits 1 within bounds, rules left to TTL', async () => {
    const env = { ...isolatedHome(), FT_LOG_LEVEL: 'info' };
    const link = await runFt(['plugins', 'link', FLEET_PLUGIN_DIR, '--no-install'], env);
    expect(link.code, link.stderr).to.equal(0);
    const policy = join(dir, 'policy.yaml');
    // A local (POP-less) instance: the controller drives it itself, its rules still live in the Redis store.
    writeFileSync(
      policy,
      `version: 1
tenant: lab
mode: enforce
asn: 64500
defaults: { ttl: 5m, rpki: off }
protect: [203.0.113.0/24]
speakers:
  edge: { adapter: fleet-log, dir: ${JSON.stringify(dir)} }
`,
    );
    const url = redis!.url;
    const stateDir = join(dir, 'controller');
    run = new Daemon(
      [
        process.execPath,
        BIN,
        'run',
        '-p',
        policy,
        '--redis',
        url,
        '--redis-namespace',
        'lab1',
        '--state-dir',
        stateDir,
        '--metrics',
        'off',
        '--json',
      ],
      { env, cwd: ROOT },
    );
    await waitFor(() => run!.output.includes('ft run: enforcing') || !run!.running, {
      timeoutMs: 30_000,
      what: 'ft run --redis to start',
    });
    expect(run.running, run.output).to.equal(true);

    const rule = JSON.stringify({
      kind: 'flowspec',
      target: '203.0.113.9/32',
      match: { destination: '203.0.113.9/32', protocols: [17] },
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
        'edge',
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
    expect(Object.values(announced(dir, 'edge'))).to.deep.equal(['203.0.113.9/32']);

    // The journal holds no rules on a controller; the fleet store does. FT_REDIS_URL works like --redis.
    const journal = await runFt(['mitigate', 'list', '--state-dir', stateDir, '--json'], env);
    expect((JSON.parse(journal.stdout) as { rules: unknown[] }).rules).to.have.length(0);
    const listed = await runFt(['mitigate', 'list', '--redis-namespace', 'lab1', '--json'], {
      ...env,
      FT_REDIS_URL: url,
    });
    expect(listed.code, listed.stderr).to.equal(0);
    const rules = (
      JSON.parse(listed.stdout) as {
        rules: { id: string; target: string; phase: string; adapters: { name: string; state: string }[] }[];
      }
    ).rules;
    expect(
      rules.map((x) => [x.target, x.phase, x.adapters.map((a) => `${a.name}:${a.state}`).join(' ')]),
    ).to.deep.equal([['203.0.113.9/32', 'live', 'edge:installed']]);
    const table = await runFt(['mitigate', 'list', '--redis', url, '--redis-namespace', 'lab1'], env);
    expect(table.stdout).to.match(/203\.0\.113\.9\/32.*edge:installed/);
    // Another namespace is another deployment: nothing there.
    const other = await runFt(['mitigate', 'list', '--redis', url, '--json'], env);
    expect((JSON.parse(other.stdout) as { rules: unknown[] }).rules).to.have.length(0);
    const audit = await runFt(['audit', '--redis', url, '--redis-namespace', 'lab1', '--json'], env);
    expect(audit.code, audit.stderr).to.equal(0);
    const ends = (
      JSON.parse(audit.stdout) as { records: { op: string; phase: string; outcome?: string; ruleId?: string }[] }
    ).records.filter((x) => x.op === 'add' && x.phase === 'end');
    expect(ends.map((e) => [e.ruleId, e.outcome])).to.deep.equal([[rules[0]!.id, 'ok']]);

    // Redis gone: the readers fail with the (masked) URL in the message, in bounded time; SIGTERM ends ft run.
    await redis!.stop('SIGKILL');
    const down = await runFt(['mitigate', 'list', '--redis', url, '--redis-namespace', 'lab1'], env);
    expect(down.code).to.equal(1);
    expect(down.stderr).to.include(`cannot read the fleet rule store on ${url}`);
    const t0 = Date.now();
    await run.stop(30_000);
    expect(Date.now() - t0).to.be.lessThan(20_000);
    expect(await run.exited, run.output).to.equal(1);
    expect(run.output).to.match(
      /shutdown: the withdrawal failed: .*left in place until their TTL or the next start's reconcile/,
    );
    expect(run.output).to.match(/"shutdownIncomplete": "the withdrawal failed/);
    expect(run.output).to.match(/"liveAtExit": null/);
    // Nothing was taken back behind the store's back: the rule stays on the speaker, and in Redis, for the next start.
    expect(Object.values(announced(dir, 'edge'))).to.deep.equal(['203.0.113.9/32']);
  });
});
