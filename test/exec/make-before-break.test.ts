import { expect } from 'chai';
import { Prefix, makeRule, type FlowSpecRule, type Rule, type RtbhRule } from '@ft/sdk';
import type { Plan } from '../../core/model/plan.js';
import { MemoryAction, flowspec, op, setup } from './fixtures.js';

const plan = (ops: Plan['ops']): Plan => ({
  tenant: 'acme',
  mode: 'enforce',
  ops,
  refused: [],
  notes: [],
  incidentId: 'inc-1',
});
const target = Prefix.parse('203.0.113.40/32');
const match = { destination: target, protocols: [17], sourcePorts: [{ min: 53, max: 53 }] };
const rateLimit = makeRule<FlowSpecRule>({
  kind: 'flowspec',
  tenant: 'acme',
  target,
  match,
  action: { type: 'rate-limit', bytesPerSecond: 125_000 },
  level: 1,
  ttlSeconds: 300,
});
const discard = makeRule<FlowSpecRule>({
  kind: 'flowspec',
  tenant: 'acme',
  target,
  match,
  action: { type: 'discard' },
  level: 2,
  ttlSeconds: 300,
});
const rtbh = makeRule<RtbhRule>({
  kind: 'rtbh',
  tenant: 'acme',
  target,
  communities: ['65535:666'],
  noExport: true,
  level: 3,
  ttlSeconds: 300,
});

/** A router that records, in order, every announcement and withdrawal it sees. */
class RecordingAction extends MemoryAction {
  readonly log: string[] = [];
  override async apply(rule: Rule) {
    this.log.push(`announce ${rule.id}`);
    return super.apply(rule);
  }
  override async withdraw(ref: Parameters<MemoryAction['withdraw']>[0]) {
    this.log.push(`withdraw ${'id' in ref ? ref.id : ref.ruleId}`);
    return super.withdraw(ref);
  }
}

describe('executor: make before break', () => {
  it('escalation announces the stronger rule for a target before withdrawing the one it replaces, at every step', async () => {
    const edge = new RecordingAction('edge');
    const { executor, store } = await setup([edge]);
    await executor.execute(plan([op('add', rateLimit, ['edge'])]), { plannedBy: 'planner' });
    // The planner lists withdrawals last already; the executor must not reorder them first.
    await executor.execute(plan([op('withdraw', rateLimit, ['edge']), op('add', discard, ['edge'])]), {
      plannedBy: 'planner',
    });
    await executor.execute(plan([op('withdraw', discard, ['edge']), op('add', rtbh, ['edge'])]), {
      plannedBy: 'planner',
    });
    expect(edge.log).to.deep.equal([
      `announce ${rateLimit.id}`,
      `announce ${discard.id}`,
      `withdraw ${rateLimit.id}`,
      `announce ${rtbh.id}`,
      `withdraw ${discard.id}`,
    ]);
    expect([...edge.installed.keys()]).to.deep.equal([rtbh.id]);
    expect((await store.rules()).map((r) => r.rule.id)).to.deep.equal([rtbh.id]);
    await store.close();
  });

  it('de-escalation announces the lower level before withdrawing the higher one', async () => {
    const edge = new RecordingAction('edge');
    const { executor, store } = await setup([edge]);
    await executor.execute(plan([op('add', rtbh, ['edge'])]), { plannedBy: 'planner' });
    await executor.execute(plan([op('withdraw', rtbh, ['edge']), op('add', rateLimit, ['edge'])]), {
      plannedBy: 'planner',
    });
    expect(edge.log).to.deep.equal([`announce ${rtbh.id}`, `announce ${rateLimit.id}`, `withdraw ${rtbh.id}`]);
    expect([...edge.installed.keys()]).to.deep.equal([rateLimit.id]);
    await store.close();
  });

  it('at the cap, a replacement for the same target goes in (the rule it replaces still counts) and the cap holds after', async () => {
    const edge = new RecordingAction('edge');
    const { executor, store } = await setup([edge], { maxRules: 2 });
    const other = flowspec(41);
    await executor.execute(plan([op('add', other, ['edge']), op('add', rateLimit, ['edge'])]), {
      plannedBy: 'planner',
    });
    expect(await store.rules()).to.have.length(2);
    const report = await executor.execute(plan([op('withdraw', rateLimit, ['edge']), op('add', discard, ['edge'])]), {
      plannedBy: 'planner',
    });
    expect(report.ops.map((o) => [o.type, o.outcome])).to.deep.equal([
      ['add', 'ok'],
      ['withdraw', 'ok'],
    ]);
    expect(edge.log.slice(2)).to.deep.equal([`announce ${discard.id}`, `withdraw ${rateLimit.id}`]);
    expect((await store.rules()).map((r) => r.rule.id).sort()).to.deep.equal([other.id, discard.id].sort());
    // The allowance is for replacements only: an unrelated new rule at the cap is still refused.
    const third = flowspec(42);
    const refused = await executor.execute(plan([op('add', third, ['edge'])]), { plannedBy: 'planner' });
    expect(refused.ops[0]?.message).to.match(/at its cap of 2/);
    expect(edge.installed.has(third.id)).to.equal(false);
    await store.close();
  });

  it('a replacement that goes in nowhere leaves the old rule in place instead of nothing', async () => {
    const edge = new RecordingAction('edge');
    const { executor, store } = await setup([edge]);
    await executor.execute(plan([op('add', rateLimit, ['edge'])]), { plannedBy: 'planner' });
    edge.failApply = 10;
    const report = await executor.execute(plan([op('withdraw', rateLimit, ['edge']), op('add', discard, ['edge'])]), {
      plannedBy: 'planner',
    });
    expect(report.ops.find((o) => o.type === 'withdraw')?.message).to.match(/kept: its replacement/);
    expect(edge.installed.has(rateLimit.id)).to.equal(true);
    expect((await store.rule(rateLimit.id))?.phase).to.equal('live');
    // Once the replacement is in, the next plan takes the old one out.
    edge.failApply = 0;
    await executor.execute(plan([op('withdraw', rateLimit, ['edge']), op('refresh', discard, ['edge'])]), {
      plannedBy: 'planner',
    });
    await executor.retryDue(discard.id, { plannedBy: 'lifecycle' }, true);
    await executor.execute(plan([op('withdraw', rateLimit, ['edge']), op('refresh', discard, ['edge'])]), {
      plannedBy: 'planner',
    });
    expect([...edge.installed.keys()]).to.deep.equal([discard.id]);
    await store.close();
  });

  it('a de-escalation withdraws the stronger rule even when the weaker one fails: no RTBH kept for want of a rate-limit', async () => {
    const edge = new RecordingAction('edge');
    const { executor, store } = await setup([edge]);
    await executor.execute(plan([op('add', rtbh, ['edge'])]), { plannedBy: 'planner' });
    edge.failApply = 10;
    await executor.execute(plan([op('withdraw', rtbh, ['edge']), op('add', rateLimit, ['edge'])]), {
      plannedBy: 'planner',
    });
    expect(edge.log).to.deep.equal([
      `announce ${rtbh.id}`,
      `announce ${rateLimit.id}`,
      `announce ${rateLimit.id}`,
      `withdraw ${rtbh.id}`,
    ]);
    expect(edge.installed.has(rtbh.id)).to.equal(false);
    await store.close();
  });
});

describe('executor: plans made on a state that is gone', () => {
  it('a refresh planned while the rule was live but executed after its incident resolved and withdrew it announces nothing', async () => {
    const edge = new RecordingAction('edge');
    const { executor, store } = await setup([edge]);
    await executor.execute(plan([op('add', rtbh, ['edge'])]), { plannedBy: 'planner' });
    // A tick planned the open incident (refresh the RTBH) just before the resolve's plan withdrew it.
    const stale = plan([op('refresh', rtbh, ['edge'])]);
    await executor.execute(plan([op('withdraw', rtbh, ['edge'])]), { plannedBy: 'planner' });
    const report = await executor.execute(stale, { plannedBy: 'planner' });
    expect(report.ops[0]?.outcome).to.equal('skipped');
    expect(report.ops[0]?.message).to.match(/no longer live/);
    expect(edge.log).to.deep.equal([`announce ${rtbh.id}`, `withdraw ${rtbh.id}`]);
    expect(edge.installed.size).to.equal(0);
    expect(await store.rules()).to.have.length(0);
    await store.close();
  });
});
