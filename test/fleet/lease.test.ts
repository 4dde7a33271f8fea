// Several `ft run --redis` controllers on one fleet: one holds the controller lease and acts, the others wait as
// standbys, and one takes over when the leader dies; a leader that finds the lease taken stops acting at once.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { BIN, ROOT, isolatedHome } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { RedisServer } from './redis.js';

const LEADS = "holds the fleet's controller lease";
const ACTING = 'ft run: enforcing';

describe('fleet: one controller acts, the others stand by (controller lease in Redis)', function () {
  this.timeout(90_000);
  let redis: RedisServer | undefined;
  let dir = '';
  const daemons: Daemon[] = [];

  before(async function () {
    requireLab(this, { commands: ['redis-server'] });
    redis = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), 'ft-fleet-lease-'));
    writeFileSync(
      join(dir, 'policy.yaml'),
      'version: 1\ntenant: lab\nmode: enforce\ndefaults: { rpki: off }\nprotect: [203.0.113.0/24]\n',
    );
  });

  after(async () => {
    await Promise.all(daemons.map((d) => d.stop(5000)));
    await redis?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const controller = (name: string) => {
    const d = new Daemon(
      [
        process.execPath,
        BIN,
        'run',
        '-p',
        join(dir, 'policy.yaml'),
        '--redis',
        redis!.url,
        '--lease',
        '2',
        '--state-dir',
        join(dir, name),
        '--metrics',
        'off',
        '--json',
      ],
      { env: { ...isolatedHome(), FT_LOG_LEVEL: 'info' }, cwd: ROOT },
    );
    daemons.push(d);
    return d;
  };

  it('a standby waits while the leader runs, takes over within the lease after kill -9, and stops at once on SIGTERM', async () => {
    const a = controller('a');
    await waitFor(() => a.output.includes(ACTING) || !a.running, { timeoutMs: 30_000, what: 'controller a to start' });
    expect(a.output).to.include(LEADS);
    const b = controller('b');
    await waitFor(() => b.output.includes('standby: controller') || !b.running, {
      timeoutMs: 30_000,
      what: 'controller b to stand by',
    });
    // Three lease periods with a live leader: b never starts acting.
    await new Promise((r) => setTimeout(r, 6000));
    expect(b.running, b.output).to.equal(true);
    expect(b.output).to.not.include(ACTING);

    a.child.kill('SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    await waitFor(() => b.output.includes(ACTING) || !b.running, {
      timeoutMs: 20_000,
      what: 'controller b to take over',
    });
    expect(b.output).to.include(LEADS);
    // The lease is 2 s, checked every ~0.7 s; start-up after taking it is quick with nothing to reconcile.
    expect(Date.now() - killedAt).to.be.below(10_000);

    const c = controller('c');
    await waitFor(() => c.output.includes('standby: controller') || !c.running, {
      timeoutMs: 30_000,
      what: 'controller c to stand by',
    });
    const t0 = Date.now();
    c.child.kill('SIGTERM');
    expect(await c.exited).to.equal(0);
    expect(Date.now() - t0).to.be.below(5000);
    expect(c.output).to.include('standby stopped before it took the controller lease');
    expect(c.output).to.not.include(ACTING);
  });

  it('a leader that finds its lease held by another controller stops acting, withdraws nothing, and exits 1', async () => {
    const leader = daemons.find((d) => d.running && d.output.includes(ACTING));
    expect(leader, 'a running leader from the previous test').to.not.equal(undefined);
    const conn = new Redis(redis!.url);
    try {
      // What a paused leader meets when it wakes: its lease expired and another controller took it.
      await conn.set('ft:controller:lease', 'other-host:1:abcdef', 'PX', 60_000);
      expect(await leader!.exited).to.equal(1);
      expect(leader!.output).to.include(
        'the controller lease is held by other-host:1:abcdef now: another controller took over; stopping without withdrawing anything',
      );
      expect(await conn.get('ft:controller:lease')).to.equal('other-host:1:abcdef');
    } finally {
      conn.disconnect();
    }
  });
});
