// Two POPs with two `ft worker` processes each, a controller in this process (the real Runner on the Redis store
// with POP handles), and a real redis-server with AOF on.
import { expect } from 'chai';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefix, makeRule, type FlowSpecRule } from '@ft/sdk';
import { createJsonLogger } from '../../core/log/logger.js';
import { loadPolicy } from '../../core/policy/index.js';
import type { Policy } from '../../core/policy/types.js';
import type { Plan } from '../../core/model/plan.js';
import { Runner } from '../../core/run/runner.js';
import { openController, type FleetController } from '../../core/fleet/setup.js';
import { connectRedis, parseRedisUrl } from '../../core/state/redis/connect.js';
import { FleetDispatcher } from '../../core/fleet/dispatch.js';
import { jobBase } from '../../core/fleet/names.js';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import type { FleetStatus } from '../../core/fleet/status.js';
import { waitFor } from '../helpers/wait.js';
import { announced, fixtureRegistry, logLines } from './fixture-plugin.js';
import { RedisServer } from './redis.js';

function rule(n: number, ttlSeconds = 300): FlowSpecRule {
  return makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant: 'lab',
    target: Prefix.parse(`203.0.113.${n}/32`),
    match: { destination: Prefix.parse(`203.0.113.${n}/32`), protocols: [17] },
    action: { type: 'discard' },
    level: 1,
    ttlSeconds,
  });
}
const plan = (ops: Plan['ops']): Plan => ({ tenant: 'lab', mode: 'enforce', ops, refused: [], notes: [] });
const add = (r: FlowSpecRule, via = ['ams-rr', 'fra-rr']) => ({
  type: 'add' as const,
  rule: r,
  via,
  reason: { summary: 'fleet test' },
  rendered: [],
});
const applies = (dir: string, inst: string, id: string) =>
  logLines(dir, inst).filter((l) => l.op === 'apply' && l.id === id);

describe('fleet: two POPs, two workers each', function () {
  this.timeout(60_000);
  let redis: RedisServer | undefined;
  let dir = '';
  let policyFile = '';
  let policy: Policy;
  const workers: Daemon[] = [];
  let controller: FleetController | undefined;
  let runner: Runner | undefined;
  const logger = createJsonLogger({ level: 'silent' });

  const startWorker = async (pop: string) => {
    const d = new Daemon([process.execPath, '--import', 'tsx', join(ROOT, 'test', 'fleet', 'worker-child.ts')], {
      cwd: ROOT,
      env: {
        FT_LOG_LEVEL: 'warn',
        FLEET_CHILD: JSON.stringify({
          url: redis!.url,
          pop,
          policy: policyFile,
          stateDir: join(dir, `state-${pop}-${workers.length}`),
          concurrency: 4,
          lockMs: 1000,
          stalledMs: 500,
        }),
      },
    });
    workers.push(d);
    await waitFor(() => d.output.includes('READY') || !d.running, { timeoutMs: 20_000, what: `worker for ${pop}` });
    expect(d.running, d.output).to.equal(true);
    return d;
  };

  const startController = async () => {
    const registry = await fixtureRegistry();
    controller = await openController({
      target: parseRedisUrl(redis!.url),
      policy,
      registry,
      stateDir: join(dir, 'controller'),
      logger,
      attempts: 3,
      backoffMs: 100,
      confirmTimeoutMs: 15_000,
    });
    runner = new Runner({
      store: controller.store,
      actions: controller.actions,
      logger,
      tenant: 'lab',
      mode: 'enforce',
      maxRules: 200,
      onShutdown: 'keep',
      tickMs: 200,
      reconcileEveryMs: 3_600_000,
    });
    return runner.start();
  };

  const stopController = async () => {
    await runner?.stop('test', 'keep');
    await controller?.close();
    runner = undefined;
    controller = undefined;
  };

  before(async function () {
    requireLab(this, { commands: ['redis-server'] });
    redis = await RedisServer.start({ aof: true });
    dir = mkdtempSync(join(tmpdir(), 'ft-fleet-'));
    policyFile = join(dir, 'policy.yaml');
    writeFileSync(
      policyFile,
      `version: 1
tenant: lab
mode: enforce
asn: 64500
defaults: { ttl: 5m, rpki: off }
protect: [203.0.113.0/24]
speakers:
  ams-rr: { adapter: fleet-log, pop: ams, dir: ${JSON.stringify(dir)}, delayMs: 600 }
  fra-rr: { adapter: fleet-log, pop: fra, dir: ${JSON.stringify(dir)} }
`,
    );
    policy = await loadPolicy(policyFile, await fixtureRegistry());
    for (const pop of ['ams', 'ams', 'fra', 'fra']) await startWorker(pop);
    await startController();
  });

  after(async () => {
    await stopController().catch(() => undefined);
    await Promise.all(workers.map((w) => w.stop(3000)));
    await redis?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a rule announced fleet-wide lands once per POP, each POP confirming for itself', async () => {
    const r = rule(1);
    const report = await runner!.execute(plan([add(r)]), { plannedBy: 'test' });
    const op = report.ops[0]!;
    expect(op.outcome, JSON.stringify(op)).to.equal('ok');
    expect(op.results.map((x) => [x.adapter, x.outcome]).sort()).to.deep.equal([
      ['ams-rr', 'ok'],
      ['fra-rr', 'ok'],
    ]);
    expect(op.results.find((x) => x.adapter === 'ams-rr')?.detail).to.match(/^POP ams confirmed/);
    expect(op.results.find((x) => x.adapter === 'fra-rr')?.detail).to.match(/^POP fra confirmed/);
    expect(announced(dir, 'ams-rr')).to.have.property(r.id, '203.0.113.1/32');
    expect(announced(dir, 'fra-rr')).to.have.property(r.id, '203.0.113.1/32');
    expect(applies(dir, 'ams-rr', r.id)).to.have.length(1);
    expect(applies(dir, 'fra-rr', r.id)).to.have.length(1);
    // Asked again (another controller, a re-plan): a refresh, nothing re-announced.
    await runner!.execute(plan([add(r)]), { plannedBy: 'test' });
    expect(applies(dir, 'ams-rr', r.id)).to.have.length(1);
    const rec = await controller!.store.rule(r.id);
    expect(rec?.adapters['ams-rr']?.state).to.equal('installed');
    expect(rec?.adapters['fra-rr']?.state).to.equal('installed');
  });

  it('two controllers asking for the same apply at once: one job, one announcement; after a withdraw a re-add runs anew', async () => {
    const r = rule(6);
    const other = await FleetDispatcher.open({
      pops: ['ams'],
      connect: (role, blocking) => connectRedis(parseRedisUrl(redis!.url), role, blocking),
    });
    try {
      const data = { op: 'apply' as const, adapter: 'ams-rr', rule: r, by: 'test' };
      const base = jobBase('apply', r.id, 'ams-rr');
      const [a, b] = await Promise.all([
        controller!.dispatcher.run<{ worker: string }>('ams', base, data),
        other.run<{ worker: string }>('ams', base, data),
      ]);
      expect(a.worker).to.equal(b.worker);
      expect(applies(dir, 'ams-rr', r.id)).to.have.length(1);
    } finally {
      await other.close();
    }
    // Through the executor: withdraw, then the same rule again. The finished apply job keeps its id for an hour,
    // so the re-add must move to the next epoch to be carried out at all.
    const w = await runner!.execute(
      plan([{ type: 'withdraw', rule: r, via: ['ams-rr'], reason: { summary: 'test' }, rendered: [] }]),
      { plannedBy: 'test' },
    );
    expect(w.ops[0]!.outcome).to.equal('ok');
    expect(announced(dir, 'ams-rr')).to.not.have.property(r.id);
    const again = await runner!.execute(plan([add(r, ['ams-rr'])]), { plannedBy: 'test' });
    expect(again.ops[0]!.outcome).to.equal('ok');
    expect(applies(dir, 'ams-rr', r.id)).to.have.length(2);
    expect(announced(dir, 'ams-rr')).to.have.property(r.id);
  });

  it('kill -9 of the worker holding a job: another worker of the POP completes it, announced once', async () => {
    const r = rule(2);
    const done = runner!.execute(plan([add(r, ['ams-rr'])]), { plannedBy: 'test' });
    const started = await waitFor(() => logLines(dir, 'ams-rr').find((l) => l.op === 'start' && l.id === r.id), {
      timeoutMs: 10_000,
      what: 'ams to start the apply',
    });
    const holder = workers.find((w) => w.child.pid === started.pid);
    expect(holder, 'the pid that started the apply is one of our workers').to.not.equal(undefined);
    holder!.child.kill('SIGKILL');
    await holder!.exited;
    const report = await done;
    expect(report.ops[0]!.outcome, JSON.stringify(report.ops[0])).to.equal('ok');
    const done1 = applies(dir, 'ams-rr', r.id);
    expect(done1).to.have.length(1);
    expect(done1[0]!.pid).to.not.equal(started.pid);
    expect(announced(dir, 'ams-rr')).to.have.property(r.id);
    await startWorker('ams'); // back to two for the next tests
  });

  it('SIGTERM to the worker holding a job: it finishes that job, then exits', async () => {
    const r = rule(7);
    const done = runner!.execute(plan([add(r, ['ams-rr'])]), { plannedBy: 'test' });
    const started = await waitFor(() => logLines(dir, 'ams-rr').find((l) => l.op === 'start' && l.id === r.id), {
      timeoutMs: 10_000,
      what: 'ams to start the apply',
    });
    const holder = workers.find((w) => w.child.pid === started.pid)!;
    holder.child.kill('SIGTERM');
    expect(await holder.exited, holder.output).to.equal(0);
    const report = await done;
    expect(report.ops[0]!.outcome).to.equal('ok');
    expect(applies(dir, 'ams-rr', r.id).map((l) => l.pid)).to.deep.equal([started.pid]);
    await startWorker('ams');
  });

  it('a worker whose speaker is down retries, the controller reports the POP failed, and the lifecycle gets it in later', async () => {
    const r = rule(3);
    writeFileSync(join(dir, 'fra-rr.down'), '');
    const report = await runner!.execute(plan([add(r)]), { plannedBy: 'test' });
    const op = report.ops[0]!;
    expect(op.outcome).to.equal('partial');
    const fra = op.results.find((x) => x.adapter === 'fra-rr')!;
    expect(fra.outcome).to.equal('failed');
    expect(fra.error).to.match(/POP fra: .*BGP session down/);
    expect(op.results.find((x) => x.adapter === 'ams-rr')?.outcome).to.equal('ok');
    expect((await controller!.store.rule(r.id))?.adapters['fra-rr']?.state).to.equal('failed');
    const failed = await controller!.dispatcher.queue('fra').getFailedCount();
    expect(failed).to.be.greaterThan(0);
    unlinkSync(join(dir, 'fra-rr.down'));
    await waitFor(async () => (await controller!.store.rule(r.id))?.adapters['fra-rr']?.state === 'installed', {
      timeoutMs: 15_000,
      what: 'the lifecycle to retry fra',
    });
    expect(announced(dir, 'fra-rr')).to.have.property(r.id);
  });

  it('ft fleet status shows both POPs, their workers, queue depths, the failed job and rules per POP', async () => {
    const env = isolatedHome();
    const r = await runFt(['fleet', 'status', '--redis', redis!.url, '-p', policyFile, '--json'], env);
    expect(r.stderr).to.not.match(/Error/);
    const status = JSON.parse(r.stdout) as FleetStatus;
    expect(status.pops.map((p) => p.pop)).to.deep.equal(['ams', 'fra']);
    const ams = status.pops.find((p) => p.pop === 'ams')!;
    const fra = status.pops.find((p) => p.pop === 'fra')!;
    expect(ams.workers).to.have.length(2);
    expect(fra.workers).to.have.length(2);
    expect(ams.speakers).to.deep.equal(['ams-rr']);
    expect(fra.queue.failed).to.be.greaterThan(0);
    expect(fra.failedJobs[0]!.reason).to.match(/BGP session down/);
    expect(fra.failedJobs[0]!.adapter).to.equal('fra-rr');
    expect(ams.rules.installed).to.equal(5);
    expect(fra.rules.installed).to.equal(2);
    expect(status.slots.lab).to.equal(5);
    expect(r.code, 'a POP with failed jobs makes the check fail').to.equal(1);
    const text = await runFt(['fleet', 'status', '--redis', redis!.url], env);
    expect(text.stdout).to.match(/^ams\s+2\s+ams-rr/m);
  });

  it('ft worker refuses a POP the policy does not have, and a bad URL without showing its password', async () => {
    const env = isolatedHome();
    const none = await runFt(['worker', '--pop', 'lon', '--redis', redis!.url, '-p', policyFile], env);
    expect(none.code).to.equal(1);
    expect(none.stderr.replace(/\s*\n\s*›?\s*/g, ' ')).to.match(
      /no speaker or scrubber with pop: lon \(POPs in it: ams, fra\)/,
    );
    const bad = await runFt(
      ['worker', '--pop', 'ams', '--redis', 'http://ft:hunter2@127.0.0.1:1', '-p', policyFile],
      env,
    );
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/redis:\/\/ or rediss:\/\//);
    expect(bad.stderr).to.not.include('hunter2');
    const colon = await runFt(['worker', '--pop', 'a:b', '--redis', redis!.url, '-p', policyFile], env);
    expect(colon.code).to.equal(2);
  });

  it('TTL: the POPs withdraw at expiry while no controller runs; the restarted controller finds it done', async () => {
    const r = rule(4, 3);
    const report = await runner!.execute(plan([add(r)]), { plannedBy: 'test' });
    expect(report.ops[0]!.outcome).to.equal('ok');
    await stopController();
    await waitFor(() => !(r.id in announced(dir, 'ams-rr')) && !(r.id in announced(dir, 'fra-rr')), {
      timeoutMs: 15_000,
      what: 'delayed TTL withdraws on both POPs',
    });
    await startController();
    await waitFor(async () => (await controller!.store.rule(r.id)) === undefined, {
      timeoutMs: 10_000,
      what: 'the controller to drop the expired rule',
    });
    expect(announced(dir, 'ams-rr')).to.have.property(rule(1).id); // the long-lived ones stay
  });

  it('Redis killed and restarted with AOF: nothing lost, the fleet carries on', async () => {
    const before = (await controller!.store.rules()).map((x) => x.rule.id).sort();
    expect(before.length).to.be.greaterThan(0);
    await redis!.stop('SIGKILL');
    await redis!.launch();
    const c = redis!.client();
    const after = Object.keys(await c.hgetall('ft:rules')).sort();
    c.disconnect();
    expect(after).to.deep.equal(before);
    const r = rule(5);
    const report = await waitFor(
      async () => {
        const rep = await runner!.execute(plan([add(r)]), { plannedBy: 'test' });
        return rep.ops[0]!.outcome === 'ok' ? rep : undefined;
      },
      { timeoutMs: 20_000, what: 'an add to go through after the restart' },
    );
    expect(report.ops[0]!.results.map((x) => x.outcome)).to.deep.equal(['ok', 'ok']);
    expect(applies(dir, 'fra-rr', r.id)).to.have.length(1);
  });
});
