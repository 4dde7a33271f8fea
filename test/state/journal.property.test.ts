import { expect } from 'chai';
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { JournalCorruptError, MAGIC, scanJournal } from '../../core/state/journal.js';

/** Framing written here from the format's description, independently of encodeRecord. */
function frame(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value));
  const head = Buffer.alloc(8);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt32BE(crc32(Buffer.concat([head.subarray(0, 4), payload])) >>> 0, 4);
  return Buffer.concat([head, payload]);
}

const records = fc.array(
  fc.jsonValue({ maxDepth: 2 }).filter((v) => v !== undefined && JSON.stringify(v) !== undefined),
  { minLength: 1, maxLength: 12 },
);
const image = (values: unknown[]) => Buffer.concat([MAGIC, ...values.map(frame)]);
const normalise = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

describe('journal scanner: properties over hostile input', () => {
  it('cut anywhere: exactly the records that fit completely come back, the rest is a torn tail', () => {
    fc.assert(
      fc.property(records, fc.nat(), (values, cutSeed) => {
        const full = image(values);
        const cut = cutSeed % (full.length + 1);
        const scan = scanJournal(full.subarray(0, cut), 'prop');
        let end = MAGIC.length;
        let complete = 0;
        for (const v of values) {
          const next = end + frame(v).length;
          if (next > cut) break;
          end = next;
          complete++;
        }
        expect(scan.records).to.deep.equal(values.slice(0, complete).map(normalise));
        if (cut >= MAGIC.length) expect(scan.goodEnd).to.equal(end);
        expect(scan.torn === undefined).to.equal(cut === end || cut === 0);
      }),
      { numRuns: 300 },
    );
  });

  it('a flipped byte never yields a record that was not written: a prefix of the originals, or an error', () => {
    fc.assert(
      fc.property(records, fc.nat(), fc.integer({ min: 1, max: 255 }), (values, posSeed, mask) => {
        const buf = image(values);
        const pos = posSeed % buf.length;
        buf.writeUInt8(buf.readUInt8(pos) ^ mask, pos);
        let scan;
        try {
          scan = scanJournal(buf, 'prop');
        } catch (err) {
          expect(err).to.be.instanceOf(JournalCorruptError);
          return;
        }
        const originals = values.map(normalise);
        expect(scan.records).to.deep.equal(originals.slice(0, scan.records.length));
        // Every record that ends before the flipped byte survives.
        let end = MAGIC.length;
        let before = 0;
        for (const v of values) {
          end += frame(v).length;
          if (end > pos) break;
          before++;
        }
        expect(scan.records.length).to.be.at.least(before);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes after the magic are never taken for records: a torn tail, not a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (junk) => {
        const scan = scanJournal(Buffer.concat([MAGIC, Buffer.from(junk)]), 'prop');
        // Taking junk for a record needs a CRC-32 match (2^-32 per position): never in 300 runs.
        expect(scan.records).to.deep.equal([]);
        expect(scan.goodEnd).to.equal(MAGIC.length);
        expect(scan.torn?.bytes ?? 0).to.equal(junk.length);
      }),
      { numRuns: 300 },
    );
  });
});
