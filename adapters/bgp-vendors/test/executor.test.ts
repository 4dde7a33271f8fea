// The Magic Transit adapter under ft's real executor and journal store: a slow advertisement is recorded pending
// (what `ft mitigate list` shows), the executor's retry of a pending rule polls it to installed, withdraw undoes it.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { makeRule, Prefix, type DivertRule } from '@ft/sdk';
import type { Plan } from '../../../core/model/plan.js';
import { MagicTransitAction, magicTransitConfigSchema } from '../src/magic-transit.js';
import { CloudflareFake } from '../../http-vendor/test/cloudflare-fake.js';
import { capturedContext } from '../../http-vendor/test/fake.js';
import { op, setup } from '../../../test/exec/fixtures.js';

const ACCOUNT = '0123456789abcdef0123456789abcdef';
const TOKEN = 'cf-exec-token';

describe('cloudflare-magic-transit under the real executor: pending until advertised', () => {
  let cf: CloudflareFake;
  let captured: ReturnType<typeof capturedContext>;
  let dir = '';

  beforeEach(async () => {
    cf = new CloudflareFake(ACCOUNT, TOKEN);
    cf.addPrefix('203.0.112.0/23', ['203.0.113.0/24']);
    await cf.server.start();
    captured = capturedContext('cf', { CF_TOKEN: TOKEN });
  });
  afterEach(async () => {
    await cf.server.stop();
    captured.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('add → pending in the store → retryDue polls → installed → withdraw un-advertises', async () => {
    const action = new MagicTransitAction(
      magicTransitConfigSchema.parse({ accountId: ACCOUNT, apiToken: 'CF_TOKEN', baseUrl: cf.base }),
      captured.ctx,
    );
    const s = await setup([], {}, [
      {
        name: 'cf',
        kind: 'cloudflare-magic-transit',
        reach: 'network',
        action,
        timeoutMs: 10_000,
        retries: 1,
        backoffMs: 1,
      },
    ]);
    dir = s.dir;
    const rule = makeRule<DivertRule>({
      kind: 'divert',
      tenant: 'acme',
      target: Prefix.parse('203.0.113.0/24'),
      provider: 'cf',
      level: 4,
      ttlSeconds: 300,
    });
    const plan: Plan = { tenant: 'acme', mode: 'enforce', ops: [op('add', rule, ['cf'])], refused: [], notes: [] };

    await s.executor.execute(plan, { plannedBy: 'planner' });
    expect(cf.bgp('203.0.113.0/24')!.on_demand.advertised).to.equal(true);
    expect((await s.store.rule(rule.id))!.adapters.cf!.state).to.equal('pending');

    // Cloudflare's documented propagation time has passed: the executor's next poll finds it installed.
    cf.bgp('203.0.113.0/24')!.on_demand.advertised_modified_at = new Date(Date.now() - 8 * 60_000).toISOString();
    await s.executor.retryDue(rule.id, { plannedBy: 'lifecycle' }, true);
    expect((await s.store.rule(rule.id))!.adapters.cf!.state).to.equal('installed');
    expect(cf.server.count('PATCH', '/')).to.equal(1);

    await s.executor.execute({ ...plan, ops: [op('withdraw', rule, ['cf'])] }, { plannedBy: 'planner' });
    expect(cf.bgp('203.0.113.0/24')!.on_demand.advertised).to.equal(false);
  });
});
