import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { JournalEventLog } from '../../core/events/index.js';
import { allEvents, tempDir } from './fixtures.js';

const CHILD = resolve(import.meta.dirname, 'child.ts');

interface Child {
  p: ChildProcess;
  lines: string[];
  /** Resolves once a stdout line satisfies `test`. */
  until(test: (line: string) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

function start(args: string[]): Child {
  const p = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  let err = '';
  const waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  p.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters])
        if (w.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
    }
  });
  p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    p.on('exit', (code, signal) => r({ code, signal })),
  );
  return {
    p,
    lines,
    exited,
    stderr: () => err,
    until: (test) =>
      new Promise((resolveLine, reject) => {
        const hit = lines.find(test);
        if (hit !== undefined) return resolveLine(hit);
        waiters.push({ test, resolve: resolveLine });
        void exited.then(({ code }) => reject(new Error(`child exited (${code}) first: ${err}`)));
      }),
  };
}

describe('event log under kill -9', function () {
  this.timeout(120_000);
  let t: ReturnType<typeof tempDir>;
  const children: Child[] = [];
  beforeEach(() => (t = tempDir()));
  afterEach(() => {
    for (const c of children.splice(0)) c.p.kill('SIGKILL');
    t.cleanup();
  });

  it('killed during appends, three times over: no gap, strictly increasing, nothing acknowledged lost, seqs go on', async () => {
    const events = join(t.dir, 'events');
    let acked = 0;
    for (let round = 0; round < 3; round++) {
      const c = start(['append', t.dir]);
      children.push(c);
      // Killed once it has acknowledged a few hundred more events: 8 appends are in flight at that moment.
      const target = acked + 300;
      await c.until((l) => l.startsWith('ACK ') && Number(l.split(' ')[2]) >= target);
      c.p.kill('SIGKILL');
      const { signal } = await c.exited;
      expect(signal).to.equal('SIGKILL');
      const ackedNow = Math.max(...c.lines.filter((l) => l.startsWith('ACK ')).map((l) => Number(l.split(' ')[2])));
      const all = (await allEvents(await JournalEventLog.open({ dir: events, readOnly: true }))).events;
      const seqs = all.map((e) => e.seq);
      expect(seqs, `round ${round}`).to.deep.equal(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(seqs.length, 'an acknowledged event is missing').to.be.at.least(ackedNow);
      acked = seqs.length;
    }
    const log = await JournalEventLog.open({ dir: events });
    const next = await log.append([{ type: 'speaker.up', data: { speaker: 's0' } }]);
    expect(next[0]?.seq).to.equal(acked + 1);
    await log.close();
  });

  it('a subscriber killed mid-stream resumes from its cursor and sees every event at least once', async () => {
    const out = join(t.dir, 'seen.txt');
    const N = 600;
    const first = start(['subscribe', t.dir, out, String(N)]);
    children.push(first);
    // Killed after it has been handed part of the stream, while the log is still filling.
    await first.until((l) => l.startsWith('GOT ') && Number(l.slice(4)) >= 150);
    first.p.kill('SIGKILL');
    await first.exited;
    const before = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').map(Number) : [];
    expect(before.length).to.be.greaterThan(0);
    const second = start(['subscribe', t.dir, out, String(N)]);
    children.push(second);
    await second.until((l) => l === 'DONE');
    await second.exited;
    const seen = readFileSync(out, 'utf8').trim().split('\n').map(Number);
    const distinct = new Set(seen);
    for (let s = 1; s <= N; s++) expect(distinct.has(s), `seq ${s} never delivered`).to.equal(true);
    // Resumed from its cursor, not from the start: the second run was not handed the first run's events again,
    // beyond the batch whose ack the kill may have beaten to the disk.
    const resumedAt = seen[before.length] as number;
    expect(resumedAt).to.be.greaterThan(Math.max(...before) - 2 * 7);
  });
});
