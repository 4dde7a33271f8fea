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
    const runner = new Runner({ store, actions, logger: quiet, tenant: 'acme', mode: 'enforce', maxRules: 200, onShutdown: 'withdraw', shutdownDeadlineMs: 500, tickMs: 3_600_000, reconcileEveryMs: 3_600_000 });
    await runner.start();
    const a = flowspec(70);
    const b = flowspec(71);
    await runner.execute({ tenant: 'acme', mode: 'enforce', ops: [op('add', a, ['ok']), op('add', b, ['stuck'])], refused: [], notes: [] }, { plannedBy: 'planner' });
    stuck.hang = true;
    const t0 = Date.now();
    await runner.stop('SIGTERM');
    expect(Date.now() - t0).to.be.below(1500);
    expect(ok.installed.size).to.equal(0);
    expect(stuck.installed.has(b.id)).to.equal(true);
    const left = await store.rules();
    expect(left.map((r) => [r.rule.id, r.phase])).to.deep.equal([[b.id, 'withdrawing']]);
    await store.close().catch(() => undefined);
  });
});
