import { expect } from 'chai';
import fc from 'fast-check';
import { appendFileSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JournalEventLog, listSegments, type FtEvent } from '../../core/events/index.js';
import { scanJournal } from '../../core/state/journal.js';
import { allEvents, ruleRefused, speakerDown, tempDir } from './fixtures.js';

const seqs = (events: FtEvent[]) => events.map((e) => e.seq);
const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);

describe('event journal', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => (t = tempDir()));
  afterEach(() => t.cleanup());

  it('gives seqs 1, 2, 3… in append order and reads them back after a restart, each field intact', async () => {
    const log = await JournalEventLog.open({ dir: t.dir, tenant: 'example-isp', node: 'ctl-1' });
    const a = await log.append([speakerDown(1), ruleRefused(2)]);
    const b = await log.append([speakerDown(3)]);
    expect(seqs([...a, ...b])).to.deep.equal([1, 2, 3]);
    await log.close();
    const again = await JournalEventLog.open({ dir: t.dir, tenant: 'example-isp' });
    const { events } = await allEvents(again);
    expect(seqs(events)).to.deep.equal([1, 2, 3]);
    const refused = events[1] as Extract<FtEvent, { type: 'rule.refused' }>;
    expect(refused.type).to.equal('rule.refused');
    expect(refused.tenant).to.equal('example-isp');
    expect(refused.node).to.equal('ctl-1');
    expect(String(refused.data.target)).to.equal('203.0.113.2/32');
    expect(refused.data.rail).to.equal('never-target');
    expect(refused.id).to.equal(a[1]?.id);
    expect((await again.append([speakerDown(4)]))[0]?.seq).to.equal(4);
    await again.close();
  });

  it('many appends at once: every seq once, strictly increasing, each append contiguous', async () => {
    const log = await JournalEventLog.open({ dir: t.dir });
    const results = await Promise.all(
      range(1, 200).map((n) => log.append(range(0, n % 4).map((k) => speakerDown(n * 10 + k)))),
    );
    for (const r of results) expect(seqs(r)).to.deep.equal(range(r[0]?.seq ?? 0, (r[0]?.seq ?? 0) + r.length - 1));
    const all = results
      .flat()
      .map((e) => e.seq)
      .sort((x, y) => x - y);
    expect(all).to.deep.equal(range(1, all.length));
    await log.close();
  });

  it('publishes a batch only after it is durable, in seq order', async () => {
    const log = await JournalEventLog.open({ dir: t.dir });
    const seen: number[] = [];
    const file = join(t.dir, '0000000000000001.log');
    log.onPublish((events) => {
      // What is published is already in the file: another process reading it now finds it.
      const inFile = scanJournal(readFileSync(file), file).records.map((r) => (r as { seq: number }).seq);
      for (const e of events) expect(inFile).to.include(e.seq);
      seen.push(...seqs([...events]));
    });
    const appended = await Promise.all(range(1, 50).map((n) => log.append([speakerDown(n)])));
    expect(seen).to.deep.equal(range(1, 50));
    const reader = await JournalEventLog.open({ dir: t.dir, readOnly: true });
    expect(seqs((await allEvents(reader)).events)).to.deep.equal(range(1, 50));
    expect(appended.flat().length).to.equal(50);
    await log.close();
  });

  it('a torn tail at any byte is cut at open: no error, seqs go on from the last intact record, the cut bytes are kept', async () => {
    const log = await JournalEventLog.open({ dir: t.dir });
    for (let n = 1; n <= 12; n++) await log.append([n % 2 ? speakerDown(n) : ruleRefused(n)]);
    await log.close();
    const file = join(t.dir, '0000000000000001.log');
    const image = readFileSync(file);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 8, max: image.length - 1 }), async (cut) => {
        writeFileSync(file, image.subarray(0, cut));
        for (const n of readdirSync(t.dir)) if (n.includes('.torn-')) unlinkSync(join(t.dir, n));
        const reopened = await JournalEventLog.open({ dir: t.dir });
        const { events, lost } = await allEvents(reopened);
        expect(lost).to.equal(0);
        expect(seqs(events)).to.deep.equal(range(1, events.length));
        const next = await reopened.append([speakerDown(99)]);
        expect(next[0]?.seq).to.equal(events.length + 1);
        await reopened.close();
        const after = await allEvents(await JournalEventLog.open({ dir: t.dir, readOnly: true }));
        expect(seqs(after.events)).to.deep.equal(range(1, events.length + 1));
        expect(readdirSync(t.dir).some((n) => n.startsWith('0000000000000001.log.torn-'))).to.equal(
          cut < image.length && !isFrameBoundary(image, cut),
        );
      }),
      { numRuns: 40 },
    );
  });

  it('a reader beside the writer stops before a record still being written and picks it up once complete', async () => {
    const log = await JournalEventLog.open({ dir: t.dir });
    await log.append([speakerDown(1), speakerDown(2)]);
    await log.close();
    const file = join(t.dir, '0000000000000001.log');
    const before = readFileSync(file);
    const w = await JournalEventLog.open({ dir: t.dir });
    await w.append([ruleRefused(3)]);
    await w.close();
    const full = readFileSync(file);
    const record = full.subarray(before.length);
    writeFileSync(file, Buffer.concat([before, record.subarray(0, 11)]));
    const reader = await JournalEventLog.open({ dir: t.dir, readOnly: true });
    const c = reader.cursor(1);
    expect(seqs((await c.next(10)).events)).to.deep.equal([1, 2]);
    expect((await c.next(10)).events).to.deep.equal([]);
    appendFileSync(file, record.subarray(11));
    expect(seqs((await c.next(10)).events)).to.deep.equal([3]);
  });

  it('rotates segments by size and drops the oldest past the size bound; a reader behind it is told how many it lost', async () => {
    const log = await JournalEventLog.open({ dir: t.dir, segmentBytes: 4096, retainBytes: 16384 });
    for (let n = 1; n <= 300; n++) await log.append([ruleRefused(n)]);
    const segs = await listSegments(t.dir);
    expect(segs.length).to.be.greaterThan(1);
    const total = segs.reduce(
      (s, first) => s + statSync(join(t.dir, `${String(first).padStart(16, '0')}.log`)).size,
      0,
    );
    expect(total).to.be.at.most(16384 + 4096 + 2048);
    const oldest = segs[0] as number;
    expect(oldest).to.be.greaterThan(1);
    const { events, lost } = await allEvents(log, 1);
    expect(lost).to.equal(oldest - 1);
    expect(seqs(events)).to.deep.equal(range(oldest, 300));
    expect(await log.firstSeq()).to.equal(oldest);
    await log.close();
    // The restart continues after the last seq, whatever retention removed.
    const again = await JournalEventLog.open({ dir: t.dir, segmentBytes: 4096, retainBytes: 16384 });
    expect((await again.append([speakerDown(1)]))[0]?.seq).to.equal(301);
    await again.close();
  });

  it("a fleet archive keeps the seqs it is given (gaps are other controllers' events) and refuses to number its own", async () => {
    const archive = await JournalEventLog.open({ dir: t.dir, archive: true });
    const at = Date.now();
    const mk = (seq: number): FtEvent => ({
      seq,
      id: `id-${seq}`,
      at,
      tenant: 'x',
      node: 'ctl-2',
      type: 'speaker.down',
      data: { speaker: 's', status: 'down' },
    });
    await archive.appendStored([mk(5), mk(9)]);
    await archive.appendStored([mk(9), mk(12)]);
    let refused = false;
    await archive.append([speakerDown(1)]).catch(() => (refused = true));
    expect(refused).to.equal(true);
    const { events, lost } = await allEvents(archive, 1);
    expect(seqs(events)).to.deep.equal([5, 9, 12]);
    expect(lost).to.equal(0);
    await archive.close();
  });
});

/** True when `cut` falls exactly between two records (then nothing is torn). */
function isFrameBoundary(image: Buffer, cut: number): boolean {
  let off = 8;
  while (off < cut) off += 8 + image.readUInt32BE(off);
  return off === cut;
}
