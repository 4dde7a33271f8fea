import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Incident } from '../../core/model/incident.js';
import { createJsonLogger } from '../../core/log/logger.js';
import type { Plan } from '../../core/model/plan.js';
import { Runner } from '../../core/run/runner.js';
import { JournalStore } from '../../core/state/journal-store.js';
import { incident } from '../plan/helpers.js';

describe('runner: re-planning an incident as its state changes', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a new state that arrives just as the previous plan finishes is planned, not dropped', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ft-replan-'));
    const logger = createJsonLogger({
      level: 'error',
      destination: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    const store = await JournalStore.open({ dir: join(dir, 'state'), logger });
    const planned: number[] = [];
    const grown = incident({ bps: 9e9 });
    const emptyPlan = (): Plan => ({ tenant: 'lab', mode: 'enforce', ops: [], refused: [], notes: [] });
    const runner: Runner = new Runner({
      store,
      actions: new Map(),
      logger,
      tenant: 'lab',
      mode: 'enforce',
      maxRules: 200,
      onShutdown: 'keep',
      plan: (input) => {
        planned.push((input.incident as Incident).bps);
        return emptyPlan();
      },
      // The engine reports the attack's growth right after the first plan was made: with nothing to execute, the
      // first chain ends in the same turn, before its promise has settled.
      onPlan: (inc) => {
        if (inc.bps === 1e9) queueMicrotask(() => void runner?.onIncident({ type: 'update', incident: grown }));
      },
      tickMs: 3_600_000,
      reconcileEveryMs: 3_600_000,
    });
    await runner.onIncident({ type: 'open', incident: incident({ bps: 1e9 }) });
    await new Promise((r) => setTimeout(r, 50));
    await runner.idle();
    expect(planned).to.deep.equal([1e9, 9e9]);
    await runner.stop('test', 'keep');
    await store.close();
  });
  it('a late update for an incident already resolved does not re-open it, re-plan it or overwrite what was stored', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ft-replan-'));
    const logger = createJsonLogger({
      level: 'error',
      destination: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    const store = await JournalStore.open({ dir: join(dir, 'state'), logger });
    const planned: string[] = [];
    const runner = new Runner({
      store,
      actions: new Map(),
      logger,
      tenant: 'lab',
      mode: 'enforce',
      maxRules: 200,
      onShutdown: 'keep',
      plan: (input) => {
        if (input.incident) planned.push(`${input.incident.state} ${input.incident.bps}`);
        return { tenant: 'lab', mode: 'enforce', ops: [], refused: [], notes: [] };
      },
      tickMs: 3_600_000,
      reconcileEveryMs: 3_600_000,
    });
    await runner.onIncident({ type: 'open', incident: incident({ bps: 1e9 }) });
    await runner.onIncident({ type: 'resolve', incident: incident({ bps: 1e6, state: 'resolved' }) });
    // From a queue, an update made before the resolve can be delivered after it.
    await runner.onIncident({ type: 'update', incident: incident({ bps: 2e9 }) });
    await runner.tick();
    await runner.idle();
    expect(planned).to.deep.equal(['open 1000000000', 'resolved 1000000']);
    const stored = (await store.incidents()).find((i) => i.id === 'inc-1');
    expect(stored?.state).to.equal('resolved');
    await runner.stop('test', 'keep');
    await store.close();
  });
});
