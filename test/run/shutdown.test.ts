import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalStore } from '../../core/state/journal-store.js';
import { Runner } from '../../core/run/runner.js';
import { MemoryAction, flowspec, handle, op, quiet } from '../exec/fixtures.js';

describe('shutdown with onShutdown: withdraw', () => {
  it('gives up after its deadline when a speaker does not answer, leaving the rest recorded for the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-shutdown-'));
    const store = await JournalStore.open({ dir });
    const ok = new MemoryAction('ok');
    const stuck = new MemoryAction('stuck');
    const actions = new Map([ok, stuck].map((a) => [a.name, handle(a, { timeoutMs: 2000, retries: 2 })]));
    const runner = new Runner({
      store,
      actions,
      logger: quiet,
      tenant: 'acme',
      mode: 'enforce',
      maxRules: 200,
      onShutdown: 'withdraw',
      shutdownDeadlineMs: 500,
      tickMs: 3_600_000,
      reconcileEveryMs: 3_600_000,
    });
    await runner.start();
    const a = flowspec(70);
    const b = flowspec(71);
    await runner.execute(
      { tenant: 'acme', mode: 'enforce', ops: [op('add', a, ['ok']), op('add', b, ['stuck'])], refused: [], notes: [] },
      { plannedBy: 'planner' },
    );
    stuck.hang = true;
    const t0 = Date.now();
    const report = await runner.stop('SIGTERM');
    expect(Date.now() - t0).to.be.below(1500);
    expect(report.complete).to.equal(false);
    expect(ok.installed.size).to.equal(0);
    expect(stuck.installed.has(b.id)).to.equal(true);
    const left = await store.rules();
    expect(left.map((r) => [r.rule.id, r.phase])).to.deep.equal([[b.id, 'withdrawing']]);
    await store.close().catch(() => undefined);
  });

  it('a withdraw that hangs is cut by the adapter timeout (no deadline needed): stop reports which rule is left and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-shutdown-'));
    const store = await JournalStore.open({ dir });
    const stuck = new MemoryAction('stuck');
    const actions = new Map([[stuck.name, handle(stuck, { timeoutMs: 200, retries: 0 })]]);
    const runner = new Runner({
      store,
      actions,
      logger: quiet,
      tenant: 'acme',
      mode: 'enforce',
      maxRules: 200,
      onShutdown: 'withdraw',
      tickMs: 3_600_000,
      reconcileEveryMs: 3_600_000,
    });
    await runner.start();
    const a = flowspec(72);
    await runner.execute(
      { tenant: 'acme', mode: 'enforce', ops: [op('add', a, ['stuck'])], refused: [], notes: [] },
      { plannedBy: 'planner' },
    );
    stuck.hang = true;
    const t0 = Date.now();
    const report = await runner.stop('SIGTERM');
    expect(Date.now() - t0).to.be.below(3000);
    expect(report.complete).to.equal(false);
    expect(report.reason).to.include(a.id).and.include('stuck: timeout');
    expect((await store.rules()).map((r) => [r.rule.id, r.phase])).to.deep.equal([[a.id, 'withdrawing']]);
    await store.close().catch(() => undefined);
  });

  it('a rule store that cannot be read: stop still resolves, says so, and closes the actions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-shutdown-'));
    const journal = await JournalStore.open({ dir });
    let down = false;
    // The journal, except that reads fail once "the store is down" (as the fleet's Redis does).
    const store = new Proxy(journal, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown;
        if (key === 'rules' || key === 'rule')
          return (...args: unknown[]) =>
            down
              ? Promise.reject(new Error('connection refused'))
              : (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const ok = new (class extends MemoryAction {
      closed = false;
      async close(): Promise<void> {
        this.closed = true;
      }
    })('ok');
    const runner = new Runner({
      store,
      actions: new Map([[ok.name, handle(ok)]]),
      logger: quiet,
      tenant: 'acme',
      mode: 'enforce',
      maxRules: 200,
      onShutdown: 'withdraw',
      tickMs: 3_600_000,
      reconcileEveryMs: 3_600_000,
    });
    await runner.start();
    const a = flowspec(73);
    await runner.execute(
      { tenant: 'acme', mode: 'enforce', ops: [op('add', a, ['ok'])], refused: [], notes: [] },
      { plannedBy: 'planner' },
    );
    down = true;
    const report = await runner.stop('SIGTERM');
    expect(report).to.deep.equal({ complete: false, reason: 'the withdrawal failed: connection refused' });
    expect(ok.installed.has(a.id)).to.equal(true); // left to its TTL / the next start, not half-withdrawn
    expect(ok.closed).to.equal(true);
    await journal.close().catch(() => undefined);
  });
});
