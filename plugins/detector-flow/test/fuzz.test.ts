// Property tests: whatever arrives, decoding returns (ok or a located error), never throws, never hangs, and the
// state it keeps stays bounded. CI runs a few thousand cases; lab/bench/flow-fuzz.bench.ts runs a million.
import { expect } from 'chai';
import fc from 'fast-check';
import { requireLab } from '../../../test/helpers/env.js';
import { decodeDatagram, TemplateCache, type DecodeResult } from '../src/decode/index.js';
import { realCorpus, syntheticCorpus } from './helpers/corpus.js';
import { mutation, applyMutations } from './helpers/mutate.js';
import { stopExporters } from './helpers/exporters.js';
import { ipfix, netflow9, set, templateRecord } from './helpers/encode.js';

const RUNS = Number(process.env.FLOW_FUZZ_RUNS ?? 1500);
const PROTOCOLS = ['auto', 'sflow', 'netflow', 'ipfix'] as const;

function wellFormed(r: DecodeResult, length: number): void {
  if (r.ok) {
    for (const rec of r.records) {
      expect(Number.isFinite(rec.packets) && rec.packets >= 0, 'packets').to.equal(true);
      expect(Number.isFinite(rec.bytes) && rec.bytes >= 0, 'bytes').to.equal(true);
      expect(rec.dstAddr).to.be.a('string');
    }
  } else {
    expect(r.offset).to.be.within(0, Math.max(length, 0) + 4);
    expect(r.reason)
      .to.be.a('string')
      .and.not.match(/^internal decoder error/);
  }
}

describe('flow decoders under fuzzing', function () {
  this.timeout(120_000);
  let corpus: Buffer[] = [];

  before(async function () {
    requireLab(this, { commands: ['softflowd', 'pmacctd'] });
    corpus = [...syntheticCorpus(), ...(await realCorpus())];
  });

  after(() => stopExporters());

  it('arbitrary bytes: never throws, errors name an offset inside the datagram', () => {
    const cache = new TemplateCache({ maxTemplates: 256 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.constantFrom(...PROTOCOLS), (bytes, protocol) => {
        const buf = Buffer.from(bytes);
        wellFormed(decodeDatagram(buf, { exporter: '192.0.2.1', now: 0, cache, protocol }), buf.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bodies behind valid headers of each format', () => {
    const cache = new TemplateCache({ maxTemplates: 256 });
    const heads = [Buffer.from([0, 5]), Buffer.from([0, 9]), Buffer.from([0, 10]), Buffer.from([0, 0, 0, 5])];
    fc.assert(
      fc.property(fc.constantFrom(...heads), fc.uint8Array({ maxLength: 1400 }), (head, body) => {
        const buf = Buffer.concat([head, Buffer.from(body)]);
        if (head[1] === 10 && buf.length >= 4) buf.writeUInt16BE(buf.length, 2);
        wellFormed(decodeDatagram(buf, { exporter: '192.0.2.1', now: 0, cache }), buf.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated real datagrams (softflowd, pmacctd) decoded in sequence through one template cache', () => {
    expect(corpus.length).to.be.greaterThan(20);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(corpus.length - 1), fc.array(mutation(), { maxLength: 6 })), {
          minLength: 1,
          maxLength: 8,
        }),
        (steps) => {
          const cache = new TemplateCache({ maxTemplates: 64 });
          for (const [i, muts] of steps) {
            const buf = applyMutations(corpus[i]!, muts);
            wellFormed(decodeDatagram(buf, { exporter: '192.0.2.1', now: 0, cache }), buf.length);
          }
          expect(cache.size).to.be.at.most(64);
        },
      ),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it('keeps the template table within its cap whatever exporters send', () => {
    const cache = new TemplateCache({ maxTemplates: 100 });
    fc.assert(
      fc.property(
        fc.nat(5000),
        fc.integer({ min: 256, max: 65535 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        (exporter, id, fields, isIpfix) => {
          const tpl = templateRecord(
            id,
            Array.from({ length: fields }, (_, k) => [k + 1, 4] as [number, number]),
            isIpfix,
          );
          const dgram = isIpfix ? ipfix([set(2, tpl)], { domain: exporter % 7 }) : netflow9([set(0, tpl)]);
          const r = decodeDatagram(dgram, { exporter: `198.51.100.${exporter % 250}`, now: 0, cache });
          expect(r.ok).to.equal(true);
          expect(cache.size).to.be.at.most(100);
        },
      ),
      { numRuns: RUNS },
    );
    expect(cache.size).to.equal(100);
  });
});
