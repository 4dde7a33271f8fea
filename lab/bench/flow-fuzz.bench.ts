// A million fuzz cases against ft's flow decoders (the CI suite runs a few thousand): arbitrary bytes, random
// bodies behind valid headers, and mutated real datagrams (softflowd, pmacctd) through a shared, capped template
// cache. Fails if anything throws, reports an internal error, or the cache outgrows its cap. Anchor: the same
// number of plain Buffer copies, to show the per-case cost. BENCH_FUZZ_CASES overrides the count.
import fc from 'fast-check';
import { decodeDatagram, TemplateCache, type DecodeResult } from '../../plugins/detector-flow/src/decode/index.js';
import { realCorpus, syntheticCorpus } from '../../plugins/detector-flow/test/helpers/corpus.js';
import { applyMutations, mutation } from '../../plugins/detector-flow/test/helpers/mutate.js';
import { round, writeResult } from './lib.js';

const CASES = Number(process.env.BENCH_FUZZ_CASES ?? 1_000_000);
const CAP = 256;

function check(r: DecodeResult, cache: TemplateCache): void {
  if (!r.ok && r.reason.startsWith('internal decoder error')) throw new Error(r.reason);
  if (cache.size > CAP) throw new Error(`template cache grew to ${cache.size}`);
}

const corpus = [...syntheticCorpus(), ...(await realCorpus())];
const cache = new TemplateCache({ maxTemplates: CAP });
const heads = [Buffer.from([0, 5]), Buffer.from([0, 9]), Buffer.from([0, 10]), Buffer.from([0, 0, 0, 5])];
const share = Math.floor(CASES / 3);
const t0 = process.hrtime.bigint();
const runs = [
  fc.check(
    fc.property(fc.uint8Array({ maxLength: 1500 }), (b) =>
      check(decodeDatagram(Buffer.from(b), { exporter: '192.0.2.1', now: 0, cache }), cache),
    ),
    { numRuns: share },
  ),
  fc.check(
    fc.property(fc.constantFrom(...heads), fc.uint8Array({ maxLength: 1400 }), (h, b) => {
      const buf = Buffer.concat([h, Buffer.from(b)]);
      if (h[1] === 10 && buf.length >= 4) buf.writeUInt16BE(buf.length, 2);
      check(decodeDatagram(buf, { exporter: '192.0.2.2', now: 0, cache }), cache);
    }),
    { numRuns: share },
  ),
  fc.check(
    fc.property(fc.nat(corpus.length - 1), fc.array(mutation(), { maxLength: 6 }), fc.nat(7), (i, muts, e) => {
      check(decodeDatagram(applyMutations(corpus[i]!, muts), { exporter: `192.0.2.${10 + e}`, now: 0, cache }), cache);
    }),
    { numRuns: CASES - 2 * share },
  ),
];
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const failed = runs.filter((r) => r.failed);
const a0 = process.hrtime.bigint();
let sink = 0;
for (let i = 0; i < CASES; i++) sink += Buffer.from(corpus[i % corpus.length]!).length;
const anchor = Number(process.hrtime.bigint() - a0) / 1e9;
writeResult(
  'flow-fuzz',
  {
    cases: CASES,
    seconds: round(seconds),
    casesPerSecond: round(CASES / seconds, 0),
    anchorCopySeconds: round(anchor, 3),
    ratio: round(seconds / anchor),
    failures: failed.map((r) => String(r.errorInstance ?? r.counterexample)),
    corpusDatagrams: corpus.length,
    sink: sink > 0,
  },
  `flow fuzz: ${CASES} cases in ${round(seconds)} s (${round(CASES / seconds, 0)}/s, ${round(seconds / anchor)}x a buffer copy per case), ${failed.length} failing properties`,
);
if (failed.length > 0) process.exit(1);
