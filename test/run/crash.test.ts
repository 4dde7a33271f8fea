import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createJsonLogger } from '../../core/log/logger.js';
import type { JournalStore } from '../../core/state/journal-store.js';
import { SCENARIO_END, openRun, runScenario, scenarioRule } from './scenario.js';
import { waitFor } from '../helpers/wait.js';

const CHILD = join(import.meta.dirname, 'crash-child.ts');
const silent = createJsonLogger({
  level: 'error',
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});

function child(stateDir: string, recordFile: string, mode: string, env: Record<string, string>) {
  const p = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', CHILD, stateDir, recordFile, mode], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    p.on('exit', (code, signal) => resolve({ code, signal, out })),
  );
  return { p, done, out: () => out };
}

/** What the record-file action really holds: the rule ids "installed on the router". */
function installed(recordFile: string): string[] {
  if (!existsSync(recordFile)) return [];
  return Object.keys(JSON.parse(readFileSync(recordFile, 'utf8')) as Record<string, unknown>).sort();
}

async function liveIds(store: JournalStore): Promise<string[]> {
  return (await store.rules())
    .filter((r) => r.phase === 'live')
    .map((r) => r.rule.id)
    .sort();
}

/** Every op that started has exactly one end; no op id ends twice. */
async function assertAuditComplete(store: JournalStore, where: string): Promise<void> {
  const records = await store.queryAudit({});
  const starts = new Map<string, number>();
  const ends = new Map<string, number>();
  for (const r of records) {
    if (r.phase === 'start') starts.set(r.id, (starts.get(r.id) ?? 0) + 1);
    if (r.phase === 'end') ends.set(r.id, (ends.get(r.id) ?? 0) + 1);
  }
  for (const [id, n] of starts) {
    expect(n, `${where}: op ${id} started twice`).to.equal(1);
    expect(ends.get(id), `${where}: op ${id} has no end record`).to.equal(1);
  }
  for (const id of ends.keys()) expect(starts.has(id), `${where}: end without start ${id}`).to.equal(true);
}

describe('ft run survives kill -9 at every durable step of an apply/withdraw sequence', function () {
  this.timeout(180_000);
  let points = 0;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-crash-'));
    const c = child(join(dir, 'state'), join(dir, 'rules.json'), 'scenario', { ON_SHUTDOWN: 'keep' });
    const r = await c.done;
    expect(r.code, r.out).to.equal(0);
    points = Number(/DONE (\d+)/.exec(r.out)?.[1]);
    expect(points).to.be.greaterThan(40);
    expect(installed(join(dir, 'rules.json'))).to.deep.equal(SCENARIO_END.map((n) => scenarioRule(n).id).sort());
  });

  it('after each crash a restart leaves no orphan, no duplicate, a complete audit trail, and converges', async () => {
    // Every odd step, and every step of the last op (a withdrawal and an add at once): both kinds of op at every
    // phase, in about two thirds of the time. FT_CRASH_EVERY=1 crashes at every single step.
    const every = process.env.FT_CRASH_EVERY === '1';
    const crashes = Array.from({ length: points }, (_, i) => i + 1).filter(
      (k) => every || k % 2 === 1 || k > points - 16,
    );
    const failures: string[] = [];
    const check = async (k: number) => {
      const dir = mkdtempSync(join(tmpdir(), `ft-crash-${k}-`));
      const stateDir = join(dir, 'state');
      const recordFile = join(dir, 'rules.json');
      const c = child(stateDir, recordFile, 'scenario', { CRASH_AT: String(k), ON_SHUTDOWN: 'keep' });
      const r = await c.done;
      expect(r.signal, `crash point ${k} did not kill: ${r.out}`).to.equal('SIGKILL');
      const where = `crash at step ${k} (${/CRASH \d+ (.*)/.exec(r.out)?.[1]})`;

      // Restart: reconcile runs first.
      const { store, runner } = await openRun({ stateDir, recordFile, logger: silent, onShutdown: 'keep' });
      await runner.start();
      const live = await liveIds(store);
      expect(installed(recordFile), `${where}: installed vs live after restart`).to.deep.equal(live);
      expect(
        (await store.rules()).filter((x) => x.phase === 'withdrawing'),
        `${where}: stuck withdrawals`,
      ).to.deep.equal([]);
      await assertAuditComplete(store, where);
      for (const id of live) {
        const adds = (await store.queryAudit({ ruleId: id })).filter((a) => a.op === 'add' && a.phase === 'start');
        expect(adds.length, `${where}: live rule ${id} has no audited add`).to.be.greaterThan(0);
      }
      // The planner asks again after the restart: the world ends exactly where an uninterrupted run ends.
      await runScenario(runner);
      await runner.stop('test');
      expect(installed(recordFile), `${where}: after re-running`).to.deep.equal(
        SCENARIO_END.map((n) => scenarioRule(n).id).sort(),
      );
      expect(await liveIds(store)).to.deep.equal(installed(recordFile));
      await assertAuditComplete(store, `${where}, after re-running`);
      await store.close();
    };
    // Four children at a time keeps the whole sweep to a few seconds.
    for (let i = 0; i < crashes.length; i += 4) {
      await Promise.all(crashes.slice(i, i + 4).map((k) => check(k).catch((err: Error) => failures.push(err.message))));
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('SIGTERM withdraws everything it announced (policy onShutdown: withdraw) and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-term-'));
    const recordFile = join(dir, 'rules.json');
    const c = child(join(dir, 'state'), recordFile, 'serve', {});
    try {
      await waitFor(() => c.out().includes('READY'), { what: 'child ready', timeoutMs: 15_000 });
      expect(installed(recordFile)).to.have.length(3);
      c.p.kill('SIGTERM');
      const r = await c.done;
      expect(r.code, r.out).to.equal(0);
      expect(installed(recordFile)).to.deep.equal([]);
      const { store } = await openRun({ stateDir: join(dir, 'state'), recordFile, logger: silent, onShutdown: 'keep' });
      expect(await store.rules()).to.deep.equal([]);
      const withdrawals = (await store.queryAudit({})).filter((a) => a.op === 'withdraw' && a.phase === 'start');
      expect(withdrawals.map((w) => w.plannedBy)).to.deep.equal(['shutdown', 'shutdown', 'shutdown']);
      await store.close();
    } finally {
      c.p.kill('SIGKILL');
    }
  });

  it('SIGTERM with onShutdown: keep leaves the rules to their TTL, and the next start picks them up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-keep-'));
    const recordFile = join(dir, 'rules.json');
    const c = child(join(dir, 'state'), recordFile, 'serve', { ON_SHUTDOWN: 'keep' });
    try {
      await waitFor(() => c.out().includes('READY'), { what: 'child ready', timeoutMs: 15_000 });
      c.p.kill('SIGINT');
      const r = await c.done;
      expect(r.code, r.out).to.equal(0);
      expect(installed(recordFile)).to.have.length(3);
      const { store, runner } = await openRun({
        stateDir: join(dir, 'state'),
        recordFile,
        logger: silent,
        onShutdown: 'keep',
      });
      const report = await runner.start();
      expect(report.orphansWithdrawn).to.deep.equal([]);
      expect(await liveIds(store)).to.deep.equal(installed(recordFile));
      await runner.stop('test');
      await store.close();
    } finally {
      c.p.kill('SIGKILL');
    }
  });
});
