#!/usr/bin/env node
// Rewrites the results table in docs/e2e.md from lab/bench/results/e2e.json (written by e2e.bench.ts), between
// the <!-- e2e-table:start --> and <!-- e2e-table:end --> markers. `node lab/bench/e2e.table.mjs [--check]`.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const result = JSON.parse(readFileSync(join(root, 'lab', 'bench', 'results', 'e2e.json'), 'utf8'));
const doc = join(root, 'docs', 'e2e.md');

const ms = (v) => (typeof v === 'number' ? `${Math.round(v)} ms` : '—');
const x = (v) => (typeof v === 'number' ? `${v.toFixed(2)}×` : '—');
const label = {
  netflow5: 'NetFlow v5, ~270 kpps vs 10 kpps threshold',
  ipfix: 'IPFIX, ~270 kpps vs 10 kpps',
  sflow: 'sFlow 1:1000, ~200 kpps vs 10 kpps',
  'netflow5-1.6x': 'NetFlow v5 at 1.6× threshold (16 vs 10 kpps)',
};

const rows = [
  '| case | ft detect | ft announce | ft (100 ms windows) detect | ft (100 ms windows) announce | FastNetMon ban | ratio ft/fnm detect (default / 100 ms) | ratio ft/fnm announce (default / 100 ms) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...result.cases.map(
    (c) =>
      `| ${label[c.case] ?? c.case} | ${ms(c.median.ftDetectMs)} | ${ms(c.median.ftAnnounceMs)} | ${ms(c.median.ft100DetectMs)} | ${ms(c.median.ft100AnnounceMs)} | ${ms(c.median.fnmDetectMs)} | ${x(c.ratio.detect)} / ${x(c.ratio.detect100ms)} | ${x(c.ratio.announce)} / ${x(c.ratio.announce100ms)} |`,
  ),
  '',
  `Medians of ${result.reps} runs per case, measured ${result.at.slice(0, 16).replace('T', ' ')} UTC, Node ${result.node}. Times from the first datagram sent; ratio < 1: ft is faster.`,
];
const text = readFileSync(doc, 'utf8');
const start = '<!-- e2e-table:start -->';
const end = '<!-- e2e-table:end -->';
const a = text.indexOf(start);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error(`${doc}: no ${start} … ${end} block`);
const next = `${text.slice(0, a + start.length)}\n${rows.join('\n')}\n${text.slice(b)}`;
if (process.argv.includes('--check')) {
  if (next !== text) {
    console.error('docs/e2e.md is not the table of lab/bench/results/e2e.json: run node lab/bench/e2e.table.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(doc, next);
  console.log(`docs/e2e.md: table of ${result.cases.length} cases`);
}
