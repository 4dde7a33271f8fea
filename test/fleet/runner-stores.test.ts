// ft run's start-up reconcile and onShutdown: withdraw behave the same whichever store holds the rules: the
// embedded journal, or the fleet's Redis (a real redis-server). The RuleStore contract checks the store alone; this
// checks the run loop on top of each.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner } from '../../core/run/runner.js';
import { JournalStore } from '../../core/state/journal-store.js';
import { connectRedis, parseRedisUrl } from '../../core/state/redis/connect.js';
import { RedisRuleStore } from '../../core/state/redis/redis-store.js';
import type { RuleStore } from '../../core/state/store.js';
import { requireLab } from '../helpers/env.js';
import { FakeClock, MemoryAction, flowspec, handle, op, quiet } from '../exec/fixtures.js';
import { RedisServer } from './redis.js';

interface Outcome {
  reconcile: { orphans: string[]; reapplied: string[]; expired: string[] };
  afterStart: { installed: string[]; stored: string[] };
  stop: { complete: boolean; installed: string[]; stored: string[] };
}

/** One life of ft run over `open()`'s store: apply, crash, drift on the speaker, restart, SIGTERM. */
async function scenario(open: () => Promise<RuleStore>): Promise<Outcome> {
  const clock = new FakeClock();
  const speaker = new MemoryAction('edge');
  const actions = new Map([[speaker.name, handle(speaker)]]);
  const runner = (store: RuleStore) =>
    new Runner({
      store,
      actions,
      logger: quiet,
      clock,
      tenant: 'acme',
      mode: 'enforce',
      maxRules: 200,
      onShutdown: 'withdraw',
      tickMs: 3_600_000,
      reconcileEveryMs: 3_600_000,
    });
  const stays = flowspec(80, 3600);
  const lapses = flowspec(81, 60);
  const orphan = flowspec(82, 3600);

  const first = await open();
  const r1 = runner(first);
  await r1.start();
  await r1.execute(
    {
      tenant: 'acme',
      mode: 'enforce',
      ops: [op('add', stays, ['edge']), op('add', lapses, ['edge'])],
      refused: [],
      notes: [],
    },
    { plannedBy: 'planner' },
  );
  await r1.stop('crash', 'keep');
  await first.close();

  // While ft was down: the router lost one rule, something tagged as ours appeared, and a TTL passed.
  speaker.installed.delete(stays.id);
  speaker.installed.set(orphan.id, orphan);
  clock.advance(5 * 60_000);

  const second = await open();
  const r2 = runner(second);
  const report = await r2.start();
  const ids = (xs: { rule: { id: string } }[]) => xs.map((x) => x.rule.id).sort();
  const afterStart = { installed: [...speaker.installed.keys()].sort(), stored: ids(await second.rules()) };
  const stop = await r2.stop('SIGTERM');
  const outcome: Outcome = {
    reconcile: {
      orphans: report.orphansWithdrawn.map((o) => o.ruleId ?? o.nativeId).sort(),
      reapplied: report.reapplied.map((r) => r.ruleId).sort(),
      expired: [...report.expired].sort(),
    },
    afterStart,
    stop: { complete: stop.complete, installed: [...speaker.installed.keys()], stored: ids(await second.rules()) },
  };
  await second.close();
  return outcome;
}

describe('ft run over the embedded and the Redis store: reconcile and shutdown withdraw alike', function () {
  this.timeout(30_000);
  let redis: RedisServer | undefined;
  const dirs: string[] = [];

  before(async function () {
    requireLab(this, { commands: ['redis-server'] });
    redis = await RedisServer.start();
  });

  after(async () => {
    await redis?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('orphans withdrawn, a lost rule re-applied, a lapsed TTL withdrawn; SIGTERM takes back the rest, on both stores', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-runner-stores-'));
    dirs.push(dir);
    const journal = await scenario(() => JournalStore.open({ dir }));
    const target = parseRedisUrl(redis!.url);
    const fleet = await scenario(
      async () => new RedisRuleStore({ conn: await connectRedis(target, 'test', false), namespace: 'stores' }),
    );

    const [stays, lapses, orphan] = [flowspec(80, 3600).id, flowspec(81, 60).id, flowspec(82, 3600).id];
    const expected: Outcome = {
      reconcile: { orphans: [orphan], reapplied: [stays], expired: [lapses] },
      afterStart: { installed: [stays], stored: [stays] },
      stop: { complete: true, installed: [], stored: [] },
    };
    expect(journal).to.deep.equal(expected);
    expect(fleet).to.deep.equal(expected);
  });
});
