import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  JournalCorruptError,
  JournalWriter,
  MAGIC,
  MAX_BATCH_BYTES,
  readJournal,
  scanJournal,
} from '../../core/state/journal.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ft-journal-'));

/** Frames a record independently of the code under test: u32 BE length, u32 BE zlib CRC-32 over length ‖ payload. */
async function frame(value: unknown): Promise<Buffer> {
  const { crc32 } = await import('node:zlib');
  const payload = Buffer.from(JSON.stringify(value));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(payload.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([len, payload])) >>> 0);
  return Buffer.concat([len, crc, payload]);
}

describe('journal: framing, torn writes, corruption', () => {
  it('writes the documented format, readable by an independent decoder', async () => {
    const file = join(tmp(), 'j.log');
    const { writer } = await JournalWriter.open(file);
    await writer.append([{ a: 1 }, { b: 'two' }]);
    await writer.close();
    const expected = Buffer.concat([Buffer.from('FTJRNL01'), await frame({ a: 1 }), await frame({ b: 'two' })]);
    expect(readFileSync(file).equals(expected)).to.equal(true);
  });

  it('a torn last record, cut at every byte offset, is skipped and never costs an earlier record', async () => {
    const dir = tmp();
    const earlier = [{ n: 1, rule: 'fs-0000000000000001' }, { n: 2, text: 'ü and 😀' }, { n: 3 }];
    const last = { n: 4, payload: 'x'.repeat(40) };
    const full = Buffer.concat([MAGIC, ...(await Promise.all(earlier.map(frame))), await frame(last)]);
    const lastStart = full.length - (await frame(last)).length;
    for (let cut = lastStart; cut < full.length; cut++) {
      const file = join(dir, `cut-${cut}.log`);
      writeFileSync(file, full.subarray(0, cut));
      // A reader beside the writer tolerates it without touching the file.
      const read = await readJournal(file);
      expect(read.records, `cut at ${cut}`).to.deep.equal(earlier);
      expect(statSync(file).size).to.equal(cut);
      // The writer cuts the tail off (keeping the bytes aside) and appends after the intact records.
      const opened = await JournalWriter.open(file);
      expect(opened.records).to.deep.equal(earlier);
      if (cut > lastStart) {
        expect(opened.torn?.offset).to.equal(lastStart);
        expect(readFileSync(opened.torn!.savedTo).equals(full.subarray(lastStart, cut))).to.equal(true);
      }
      await opened.writer.append([{ n: 5 }]);
      await opened.writer.close();
      expect((await readJournal(file)).records).to.deep.equal([...earlier, { n: 5 }]);
    }
  });

  it('a bit flipped in the last record (complete length, bad checksum) is a torn write, not a crash', async () => {
    const file = join(tmp(), 'flip.log');
    const buf = Buffer.concat([MAGIC, await frame({ n: 1 }), await frame({ n: 2 })]);
    buf.writeUInt8(buf.readUInt8(buf.length - 2) ^ 0x40, buf.length - 2);
    writeFileSync(file, buf);
    const opened = await JournalWriter.open(file);
    expect(opened.records).to.deep.equal([{ n: 1 }]);
    expect(opened.torn?.reason).to.equal('checksum mismatch');
    await opened.writer.close();
  });

  it('a file torn while its header was written opens as an empty journal', async () => {
    const file = join(tmp(), 'hdr.log');
    writeFileSync(file, MAGIC.subarray(0, 3));
    const opened = await JournalWriter.open(file);
    expect(opened.records).to.deep.equal([]);
    await opened.writer.append([{ ok: true }]);
    await opened.writer.close();
    expect((await readJournal(file)).records).to.deep.equal([{ ok: true }]);
  });

  it('damage followed by more than a batch of data is corruption: clear error, file untouched', async () => {
    const file = join(tmp(), 'corrupt.log');
    const good = await frame({ n: 1 });
    const damaged = await frame({ n: 2 });
    damaged.writeUInt8(damaged.readUInt8(10) ^ 0xff, 10);
    const filler: Buffer[] = [];
    const big = await frame({ pad: 'y'.repeat(64 * 1024) });
    for (let size = 0; size <= MAX_BATCH_BYTES; size += big.length) filler.push(big);
    const image = Buffer.concat([MAGIC, good, damaged, ...filler]);
    writeFileSync(file, image);
    let caught: unknown;
    try {
      await JournalWriter.open(file);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(JournalCorruptError);
    const e = caught as JournalCorruptError;
    expect(e.message).to.include(file);
    expect(e.message).to.include(`byte ${MAGIC.length + good.length}`);
    expect(e.message).to.include('--repair-state');
    expect(e.intact).to.deep.equal([{ n: 1 }]);
    expect(readFileSync(file).equals(image)).to.equal(true);
    expect(readdirSync(join(file, '..'))).to.deep.equal(['corrupt.log']);
  });

  it('a file that is not a journal is refused, not overwritten', async () => {
    const file = join(tmp(), 'other.log');
    writeFileSync(file, 'hello, I am a config file\n');
    expect(() => scanJournal(readFileSync(file), file)).to.throw(JournalCorruptError, /not an ft journal/);
    await JournalWriter.open(file).then(
      () => expect.fail('opened a foreign file'),
      (err: Error) => expect(err.message).to.match(/not an ft journal/),
    );
    expect(readFileSync(file, 'utf8')).to.equal('hello, I am a config file\n');
  });

  it('concurrent appends are committed together and all survive, in order', async () => {
    const file = join(tmp(), 'group.log');
    const { writer } = await JournalWriter.open(file);
    await Promise.all(Array.from({ length: 200 }, (_, i) => writer.append([{ i }])));
    await writer.close();
    const { records } = await readJournal(file);
    expect(records).to.deep.equal(Array.from({ length: 200 }, (_, i) => ({ i })));
    expect(existsSync(`${file}.tmp`)).to.equal(false);
    truncateSync(file, statSync(file).size - 1);
    expect((await readJournal(file)).records).to.have.length(199);
  });
});
