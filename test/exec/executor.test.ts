import { expect } from 'chai';
import type { Plan } from '../../core/model/plan.js';
import { Lifecycle } from '../../core/exec/lifecycle.js';
import { reconcile } from '../../core/exec/reconcile.js';
import { MemoryAction, flowspec, handle, hostFilter, op, quiet, setup } from './fixtures.js';

const plan = (ops: Plan['ops'], mode: Plan['mode'] = 'enforce'): Plan => ({
  tenant: 'acme',
  mode,
  ops,
  refused: [],
  notes: [],
  incidentId: 'inc-1',
});

describe('executor: applying plans', () => {
  it('applies an add through every adapter, remembers it live and audits who planned it, what ran and how it went', async () => {
    const a = new MemoryAction('pop1');
    const b = new MemoryAction('pop2');
    const { executor, store, clock } = await setup([a, b]);
    const rule = flowspec(10);
    const report = await executor.execute(plan([op('add', rule, ['pop1', 'pop2'])]), { plannedBy: 'planner' });
    expect(report.ops[0]?.outcome).to.equal('ok');
    expect([...a.installed.keys()]).to.deep.equal([rule.id]);
    expect([...b.installed.keys()]).to.deep.equal([rule.id]);
    const live = await store.rule(rule.id);
    expect(live?.phase).to.equal('live');
    expect(live?.incidentId).to.equal('inc-1');
    expect(live?.expiresAt).to.equal(new Date(clock.t + 300_000).toISOString());
    expect(live?.adapters.pop1?.state).to.equal('installed');
    const audit = await store.queryAudit({ ruleId: rule.id });
    expect(audit.map((r) => r.phase)).to.deep.equal(['start', 'end']);
    expect(audit[0]).to.include({ op: 'add', plannedBy: 'planner', incidentId: 'inc-1', mode: 'enforce' });
    expect(audit[0]?.rendered?.map((c) => c.text)).to.deep.equal([
      `install flowspec ${rule.id} on pop1`,
      `install flowspec ${rule.id} on pop2`,
    ]);
    expect(audit[1]?.outcome).to.equal('ok');
    expect(audit[1]?.results?.map((r) => [r.adapter, r.outcome])).to.deep.equal([
      ['pop1', 'ok'],
      ['pop2', 'ok'],
    ]);
    expect(audit[1]?.id).to.equal(audit[0]?.id);
    await store.close();
  });

  it('is idempotent: the same rule planned again is one rule, applied once, its TTL extended', async () => {
    const a = new MemoryAction('pop1');
    const { executor, store, clock } = await setup([a]);
    const rule = flowspec(11);
    await executor.execute(plan([op('add', rule, ['pop1'])]), { plannedBy: 'planner' });
    clock.advance(120_000);
    await executor.execute(plan([op('add', rule, ['pop1'])]), { plannedBy: 'planner' });
    expect(a.calls.apply).to.equal(1);
    expect((await store.rules()).length).to.equal(1);
    expect((await store.rule(rule.id))?.expiresAt).to.equal(new Date(clock.t + 300_000).toISOString());
    await store.close();
  });

  it('mode preview executes nothing and records what it would have done', async () => {
    const a = new MemoryAction('pop1');
    const { executor, store, clock } = await setup([a]);
    const rule = flowspec(12);
    const report = await executor.execute(plan([op('add', rule, ['pop1'])], 'preview'), { plannedBy: 'planner' });
    expect(report.ops[0]?.outcome).to.equal('skipped');
    expect(a.calls).to.deep.equal({ apply: 0, withdraw: 0, list: 0 });
    expect(await store.rules()).to.have.length(0);
    const audit = await store.queryAudit({ ruleId: rule.id });
    expect(audit).to.have.length(1);
    expect(audit[0]?.op).to.equal('preview');
    // The planner asks again every tick of the attack: recorded once a minute, not every time.
    clock.advance(30_000);
    await executor.execute(plan([op('add', rule, ['pop1'])], 'preview'), { plannedBy: 'planner' });
    expect(await store.queryAudit({ ruleId: rule.id })).to.have.length(1);
    clock.advance(31_000);
    await executor.execute(plan([op('add', rule, ['pop1'])], 'preview'), { plannedBy: 'planner' });
    expect(await store.queryAudit({ ruleId: rule.id })).to.have.length(2);
    expect(a.calls).to.deep.equal({ apply: 0, withdraw: 0, list: 0 });
    await store.close();
  });

  it('a partial failure is recorded, retried with backoff by the lifecycle and never dropped', async () => {
    const a = new MemoryAction('pop1');
    const b = new MemoryAction('pop2');
    b.failApply = 2 + 2; // both attempts of the op, then both attempts of the first retry
    const { executor, store, clock } = await setup([a, b]);
    const life = new Lifecycle({ executor, logger: quiet, clock });
    const rule = flowspec(13);
    const report = await executor.execute(plan([op('add', rule, ['pop1', 'pop2'])]), { plannedBy: 'planner' });
    expect(report.ops[0]?.outcome).to.equal('partial');
    let rec = await store.rule(rule.id);
    expect(rec?.adapters.pop2).to.include({ state: 'failed', failures: 1, error: 'pop2 refused the rule' });
    expect(rec?.adapters.pop2?.retryAt).to.equal(new Date(clock.t + 1000).toISOString());

    await life.tick(); // not due yet
    expect(b.calls.apply).to.equal(2);
    clock.advance(1000);
    await life.tick(); // due, fails again: backoff doubles
    rec = await store.rule(rule.id);
    expect(rec?.adapters.pop2).to.include({ state: 'failed', failures: 2 });
    expect(rec?.adapters.pop2?.retryAt).to.equal(new Date(clock.t + 2000).toISOString());
    clock.advance(2000);
    await life.tick();
    expect((await store.rule(rule.id))?.adapters.pop2?.state).to.equal('installed');
    expect(b.installed.has(rule.id)).to.equal(true);
    const ends = (await store.queryAudit({ ruleId: rule.id })).filter((r) => r.phase === 'end').map((r) => r.outcome);
    expect(ends).to.deep.equal(['partial', 'failed', 'ok']);
    await store.close();
  });

  it('an adapter that hangs times out per attempt instead of stalling the executor', async () => {
    const a = new MemoryAction('slow');
    a.hang = true;
    const { executor, store } = await setup([a], {}, [handle(a, { timeoutMs: 50, retries: 1 })]);
    const t0 = Date.now();
    const report = await executor.execute(plan([op('add', flowspec(14), ['slow'])]), { plannedBy: 'planner' });
    expect(Date.now() - t0).to.be.below(2000);
    expect(report.ops[0]?.results[0]).to.include({ outcome: 'timeout', attempts: 2 });
    expect(report.ops[0]?.results[0]?.error).to.equal(
      'slow: apply ' + flowspec(14).id + ' did not answer within 50 ms',
    );
    await store.close();
  });

  it('refuses an add above the tenant cap, naming the cap', async () => {
    const a = new MemoryAction('pop1');
    const { executor, store } = await setup([a], { maxRules: 2 });
    const report = await executor.execute(plan([1, 2, 3].map((n) => op('add', flowspec(20 + n), ['pop1']))), {
      plannedBy: 'planner',
    });
    const outcomes = report.ops.map((o) => o.outcome).sort();
    expect(outcomes).to.deep.equal(['ok', 'ok', 'skipped']);
    expect(report.ops.find((o) => o.outcome === 'skipped')?.message).to.equal(
      'tenant acme is at its cap of 2 live rules',
    );
    expect(a.installed.size).to.equal(2);
    await store.close();
  });
});

describe('lifecycle: TTL, resolve, collateral damage', () => {
  it('withdraws a rule when its TTL expires, and a refresh while the attack lasts keeps it', async () => {
    const a = new MemoryAction('pop1');
    const { executor, store, clock } = await setup([a]);
    const life = new Lifecycle({ executor, logger: quiet, clock });
    const rule = flowspec(30, 60);
    await executor.execute(plan([op('add', rule, ['pop1'])]), { plannedBy: 'planner' });
    clock.advance(50_000);
    await executor.execute(plan([op('refresh', rule, ['pop1'])]), { plannedBy: 'planner' });
    clock.advance(50_000); // 100 s after apply, 50 s after the refresh
    await life.tick();
    expect(a.installed.has(rule.id)).to.equal(true);
    clock.advance(10_000);
    await life.tick();
    expect(a.installed.has(rule.id)).to.equal(false);
    expect(await store.rules()).to.have.length(0);
    const last = (await store.queryAudit({ ruleId: rule.id })).filter((r) => r.op === 'withdraw');
    expect(last[0]).to.include({ plannedBy: 'lifecycle:ttl' });
    expect(String((last[0]?.reason as { summary: string }).summary)).to.match(/TTL of 60s expired/);
    await store.close();
  });

  it('a withdrawal that fails is retried until the rule is really gone', async () => {
    const a = new MemoryAction('pop1');
    const { executor, store, clock } = await setup([a]);
    const life = new Lifecycle({ executor, logger: quiet, clock });
    const rule = flowspec(31, 10);
    await executor.execute(plan([op('add', rule, ['pop1'])]), { plannedBy: 'planner' });
    a.failWithdraw = 2;
    clock.advance(11_000);
    await life.tick();
    expect((await store.rule(rule.id))?.phase).to.equal('withdrawing');
    expect(a.installed.has(rule.id)).to.equal(true);
    clock.advance(1000);
    await life.tick();
    expect(a.installed.has(rule.id)).to.equal(false);
    expect(await store.rule(rule.id)).to.equal(undefined);
    await store.close();
  });

  it('when an incident resolves its host rules roll back; network rules stay to their TTL', async () => {
    const host = new MemoryAction('iptables');
    const edge = new MemoryAction('pop1');
    const { executor, store, clock } = await setup([host, edge], {}, [handle(host, { reach: 'host' }), handle(edge)]);
    const life = new Lifecycle({ executor, logger: quiet, clock });
    const hf = hostFilter(5);
    const fs = flowspec(5);
    await executor.execute(plan([op('add', hf, ['iptables']), op('add', fs, ['pop1'])]), { plannedBy: 'planner' });
    await life.incidentResolved('inc-1', new Set(['iptables']));
    expect(host.installed.size).to.equal(0);
    expect(edge.installed.has(fs.id)).to.equal(true);
    expect((await store.rules()).map((r) => r.rule.id)).to.deep.equal([fs.id]);
    await store.close();
  });

  it('a host rule asked for again by a new incident (the same attack seen after a restart) follows it and rolls back with it', async () => {
    const host = new MemoryAction('iptables');
    const { executor, store, clock } = await setup([host], {}, [handle(host, { reach: 'host' })]);
    const life = new Lifecycle({ executor, logger: quiet, clock });
    const hf = hostFilter(8);
    await executor.execute(plan([op('add', hf, ['iptables'])]), { plannedBy: 'planner' });
    clock.advance(1000);
    await executor.execute(plan([op('add', hf, ['iptables'])]), { plannedBy: 'planner', incidentId: 'inc-2' });
    expect(host.calls.apply).to.equal(1);
    expect((await store.rule(hf.id))?.incidentId).to.equal('inc-2');
    await life.incidentResolved('inc-1', new Set(['iptables']));
    expect(host.installed.has(hf.id)).to.equal(true);
    await life.incidentResolved('inc-2', new Set(['iptables']));
    expect(host.installed.has(hf.id)).to.equal(false);
    await store.close();
  });

  it('rolls a rule back and alerts when legitimate traffic collapses after it went in, and keeps it out', async () => {
    const a = new MemoryAction('pop1');
    let legit = 1000;
    const probe = { legitRate: async () => legit };
    const alerts: string[] = [];
    const { executor, store, clock } = await setup([a], { probe });
    const life = new Lifecycle({
      executor,
      logger: quiet,
      clock,
      collateral: { probe, drop: 0.9 },
      alert: (m) => alerts.push(m),
    });
    const ok = hostFilter(7);
    await executor.execute(plan([op('add', ok, ['pop1'])]), { plannedBy: 'planner' });
    legit = 150; // -85 %: within the policy's 90 %
    clock.advance(2000);
    await life.tick();
    expect(a.installed.has(ok.id)).to.equal(true);
    legit = 40; // -96 %
    clock.advance(2000);
    await life.tick();
    expect(a.installed.has(ok.id)).to.equal(false);
    expect(alerts).to.have.length(1);
    expect(alerts[0]).to.match(/legitimate traffic to 198\.51\.100\.7\/32 fell 96% \(from 1000 to 40\)/);
    const audit = await store.queryAudit({ ruleId: ok.id });
    expect(audit.some((r) => r.op === 'alert' && r.plannedBy === 'lifecycle:collateral')).to.equal(true);
    // The planner asks for it again on the next tick: refused, not flapped back in.
    const again = await executor.execute(plan([op('add', ok, ['pop1'])]), { plannedBy: 'planner' });
    expect(again.ops[0]?.outcome).to.equal('skipped');
    expect(again.ops[0]?.message).to.match(/rolled back for collateral damage/);
    expect(a.installed.size).to.equal(0);
    await store.close();
  });
});

describe('reconcile', () => {
  it('withdraws orphans tagged as ours, re-applies what should be live, withdraws what expired while down', async () => {
    const a = new MemoryAction('pop1');
    const { executor, store, clock } = await setup([a]);
    const keep = flowspec(40);
    const lost = flowspec(41);
    const stale = flowspec(42, 30);
    await executor.execute(plan([op('add', keep, ['pop1']), op('add', lost, ['pop1']), op('add', stale, ['pop1'])]), {
      plannedBy: 'planner',
    });
    const orphan = flowspec(43);
    a.installed.set(orphan.id, orphan); // installed, tagged, unknown to the store
    a.installed.delete(lost.id); // the router lost it
    clock.advance(60_000);
    const report = await reconcile({ executor, logger: quiet, clock, closeInterrupted: true });
    expect(report.orphansWithdrawn.map((o) => o.ruleId)).to.deep.equal([orphan.id]);
    expect(report.reapplied.map((r) => r.ruleId)).to.deep.equal([lost.id]);
    expect(report.expired).to.deep.equal([stale.id]);
    expect([...a.installed.keys()].sort()).to.deep.equal([keep.id, lost.id].sort());
    expect((await store.rules()).map((r) => r.rule.id).sort()).to.deep.equal([keep.id, lost.id].sort());
    const orphanAudit = await store.queryAudit({ ruleId: orphan.id });
    expect(orphanAudit[0]?.message).to.match(/tagged as ours, but not a live rule/);
    await store.close();
  });

  it('an adapter that cannot read its tags: live rules are recognised by native id, unknown objects still go', async () => {
    const a = new MemoryAction('pop1');
    const { executor, store, clock } = await setup([a]);
    const live = flowspec(45);
    await executor.execute(plan([op('add', live, ['pop1'])]), { plannedBy: 'planner' });
    const stranger = flowspec(46);
    a.installed.set(stranger.id, stranger);
    a.hideTags = true;
    for (let round = 0; round < 2; round++) {
      const report = await reconcile({ executor, logger: quiet, clock });
      expect(report.reapplied, `round ${round}`).to.deep.equal([]);
      expect(report.orphansWithdrawn.map((o) => o.nativeId)).to.deep.equal(round === 0 ? [`n-${stranger.id}`] : []);
    }
    expect([...a.installed.keys()]).to.deep.equal([live.id]);
    expect(a.calls.apply).to.equal(1);
    await store.close();
  });

  it('decides nothing for an adapter whose list() fails', async () => {
    const a = new MemoryAction('pop1');
    const { executor, store, clock } = await setup([a]);
    const rule = flowspec(44);
    await executor.execute(plan([op('add', rule, ['pop1'])]), { plannedBy: 'planner' });
    a.failList = true;
    const report = await reconcile({ executor, logger: quiet, clock });
    expect(report.unreachable).to.deep.equal([{ adapter: 'pop1', error: 'pop1 unreachable' }]);
    expect(a.calls.withdraw).to.equal(0);
    expect(a.calls.apply).to.equal(1);
    await store.close();
  });
});
