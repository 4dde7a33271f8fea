// The proc detector's parsers: a long fuzz run (BENCH_FUZZ_RUNS, default 1,000,000 cases of hostile text and
// mutated real files: nothing may throw, every problem must name a line) and the parse rate of a realistic
// /proc/net/dev (64 interfaces) and /proc/net/snmp. Anchor, same run: splitting the same text into whitespace
// fields (the least a parser does); ratio = parser / anchor.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import {
  parseConntrackStat,
  parseKeyedPairs,
  parseNetDev,
  parseSingleCount,
  parseSnmp6,
  parseSockstat,
} from '../../plugins/detector-proc/src/parse.js';
import { round, writeResult } from './lib.js';

const RUNS = Number(process.env.BENCH_FUZZ_RUNS ?? 1_000_000);
const realDev = readFileSync('/proc/net/dev', 'utf8');
const realSnmp = readFileSync('/proc/net/snmp', 'utf8');
const parsers = [parseNetDev, parseKeyedPairs, parseSnmp6, parseSockstat, parseConntrackStat, parseSingleCount];

// Hostile text, and real files with a slice replaced by junk.
const mutated = fc
  .tuple(fc.constantFrom(realDev, realSnmp), fc.nat(), fc.nat(40), fc.string({ maxLength: 40 }))
  .map(([t, at, len, junk]) => {
    const i = at % (t.length + 1);
    return t.slice(0, i) + junk + t.slice(i + len);
  });
const t0 = performance.now();
let problems = 0;
fc.assert(
  fc.property(
    fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), mutated),
    (text) => {
      for (const p of parsers) {
        const r = p(text) as { problems: { line: number; reason: string }[] };
        for (const x of r.problems) {
          if (!(x.line >= 1) || x.reason.length === 0)
            throw new Error(`problem without a line or reason for ${JSON.stringify(text)}`);
        }
        problems += r.problems.length;
      }
    },
  ),
  { numRuns: RUNS },
);
const fuzzSeconds = (performance.now() - t0) / 1000;

const dev = ['Inter-|   Receive |  Transmit', ' face |bytes packets|bytes packets']
  .concat(
    Array.from(
      { length: 64 },
      (_, i) => `  eth${i}: ${Array.from({ length: 16 }, (_, k) => 1_000_000_000 + i * 7919 + k).join(' ')}`,
    ),
  )
  .join('\n');
function rate(fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < 1000) {
    fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}
const devRate = rate(() => parseNetDev(dev));
const devAnchor = rate(() => dev.split('\n').map((l) => l.trim().split(/\s+/)));
const snmpRate = rate(() => parseKeyedPairs(realSnmp));
const snmpAnchor = rate(() => realSnmp.split('\n').map((l) => l.trim().split(/\s+/)));

writeResult(
  'detect-parse',
  {
    fuzzCases: RUNS,
    fuzzSeconds: round(fuzzSeconds),
    problemsReported: problems,
    netDev64PerSecond: round(devRate, 0),
    netDevAnchorPerSecond: round(devAnchor, 0),
    netDevRatio: round(devRate / devAnchor),
    snmpPerSecond: round(snmpRate, 0),
    snmpAnchorPerSecond: round(snmpAnchor, 0),
    snmpRatio: round(snmpRate / snmpAnchor),
  },
  `detect parsers: ${RUNS} fuzz cases in ${round(fuzzSeconds)} s, none threw; /proc/net/dev with 64 interfaces parsed ${round(devRate, 0)}/s ` +
    `(${round(devRate / devAnchor)}x plain field splitting), /proc/net/snmp ${round(snmpRate, 0)}/s (${round(snmpRate / snmpAnchor)}x)`,
);
