import { expect } from 'chai';
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tailer, type TailOptions } from '../src/tailer.js';

/** A tailer driven by hand (poll()) with a controllable clock, collecting what it emits. */
function follow(options: Partial<TailOptions> & { files: string[] }) {
  let now = 1_000_000;
  const got: { path: string; line: string }[] = [];
  const notes: string[] = [];
  let oversize = 0;
  const t = new Tailer(
    { startAt: 'beginning', pollMs: 50, maxLineBytes: 1024, drainMs: 2000, ...options },
    {
      lines: (path, lines) => lines.forEach((line) => got.push({ path, line })),
      oversize: () => void oversize++,
      note: (path, what) => void notes.push(`${path} ${what}`),
    },
    () => now,
  );
  return {
    t,
    got,
    notes,
    lines: () => got.map((g) => g.line),
    oversize: () => oversize,
    advance: (ms: number) => void (now += ms),
  };
}

const numbered = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);
const write = (path: string, lines: string[]) => appendFileSync(path, lines.map((l) => `${l}\n`).join(''));

describe('l7 tailer: follows access logs across rotation', () => {
  let dir: string;
  let stops: (() => Promise<void>)[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ft-l7-tail-'));
    stops = [];
  });
  afterEach(async () => {
    for (const s of stops) await s();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (f: ReturnType<typeof follow>) => {
    stops.push(() => f.t.stop());
    await f.t.poll();
    return f;
  };

  it('starts at the end by default: only lines written after it started', async () => {
    const log = join(dir, 'access.log');
    write(log, numbered(0, 5));
    const f = await start(follow({ files: [log], startAt: 'end' }));
    write(log, numbered(5, 8));
    await f.t.poll();
    expect(f.lines()).to.deep.equal(numbered(5, 8));
  });

  it('rename + create (logrotate create): every line once, including what the server still writes to the old file', async () => {
    const log = join(dir, 'access.log');
    write(log, numbered(0, 100));
    const f = await start(follow({ files: [log] }));
    write(log, numbered(100, 150));
    renameSync(log, `${log}.1`);
    // The server has not reopened yet: it still appends to the renamed file.
    write(`${log}.1`, numbered(150, 160));
    await f.t.poll();
    writeFileSync(log, '');
    write(`${log}.1`, numbered(160, 170));
    await f.t.poll();
    write(log, numbered(170, 300));
    await f.t.poll();
    f.advance(5000);
    await f.t.poll();
    write(log, numbered(300, 310));
    await f.t.poll();
    expect(f.lines()).to.have.members(numbered(0, 310));
    expect(f.lines()).to.have.length(310);
    expect(f.notes.join('\n')).to.match(/rotated|gone/);
  });

  it('copytruncate: the file is copied then emptied in place; nothing lost or read twice', async () => {
    const log = join(dir, 'access.log');
    const f = await start(follow({ files: [log] }));
    write(log, numbered(0, 200));
    await f.t.poll();
    write(log, numbered(200, 220));
    // logrotate copytruncate: copy, then truncate — the tailer reads the tail before it notices the truncation.
    copyFileSync(log, `${log}.1`);
    await f.t.poll();
    truncateSync(log, 0);
    await f.t.poll();
    write(log, numbered(220, 230));
    await f.t.poll();
    expect(f.lines()).to.deep.equal(numbered(0, 230));
    expect(f.notes.join('\n')).to.match(/truncated/);
  });

  it('the file disappears and comes back: waits for it and reads the new one from its start', async () => {
    const log = join(dir, 'access.log');
    write(log, numbered(0, 10));
    const f = await start(follow({ files: [log] }));
    unlinkSync(log);
    await f.t.poll();
    f.advance(3000);
    await f.t.poll();
    await f.t.poll();
    write(log, numbered(10, 20));
    await f.t.poll();
    expect(f.lines()).to.deep.equal(numbered(0, 20));
    expect(f.notes.join('\n'))
      .to.match(/does not exist/)
      .and.match(/appeared/);
  });

  it('a file that does not exist yet at start is picked up, read from its beginning', async () => {
    const log = join(dir, 'late.log');
    const f = await start(follow({ files: [log], startAt: 'end' }));
    write(log, numbered(0, 3));
    await f.t.poll();
    expect(f.lines()).to.deep.equal(numbered(0, 3));
  });

  it('globs in the file name: several logs at once, new matches picked up, rotated copies left alone', async () => {
    write(join(dir, 'a.access.log'), ['a0']);
    write(join(dir, 'a.access.log.1'), ['old']);
    const f = await start(follow({ files: [join(dir, '*.access.log*')] }));
    write(join(dir, 'b.access.log'), ['b0']);
    f.advance(1500);
    await f.t.poll();
    write(join(dir, 'a.access.log'), ['a1']);
    await f.t.poll();
    expect(f.got.map((g) => `${g.path.slice(dir.length + 1)}:${g.line}`).sort()).to.deep.equal([
      'a.access.log:a0',
      'a.access.log:a1',
      'b.access.log:b0',
    ]);
    // A vhost's log removed for good is dropped (not reported missing forever); one created again is picked up.
    unlinkSync(join(dir, 'b.access.log'));
    await f.t.poll();
    f.advance(3000);
    await f.t.poll();
    expect(f.t.paths().map((p) => p.slice(dir.length + 1))).to.deep.equal(['a.access.log']);
    expect(f.notes.join('\n')).to.not.match(/b\.access\.log does not exist/);
    write(join(dir, 'b.access.log'), ['b1']);
    f.advance(1500);
    await f.t.poll();
    expect(f.lines()).to.include('b1');
  });

  it('a partial last line waits for its newline; an over-long line is dropped and counted; memory stays bounded', async () => {
    const log = join(dir, 'access.log');
    const f = await start(follow({ files: [log], maxLineBytes: 100 }));
    appendFileSync(log, 'first half');
    await f.t.poll();
    expect(f.lines()).to.deep.equal([]);
    appendFileSync(log, ' second half\n');
    appendFileSync(log, `${'x'.repeat(5000)}`);
    await f.t.poll();
    appendFileSync(log, `${'x'.repeat(5000)}\nafter\n`);
    await f.t.poll();
    expect(f.lines()).to.deep.equal(['first half second half', 'after']);
    expect(f.oversize()).to.equal(1);
  });
});
