#!/usr/bin/env node
// Prints the coverage c8 collected (`npm run coverage`) as one row per package: @ft/sdk, each area of core/, each
// plugin and adapter. Child processes count too (the CLI tests run the built dist/, mapped back to src/ through
// the source maps). Informational, not a gate: CI does not run it. coverage/index.html has the per-file detail.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const summary = JSON.parse(readFileSync(join(root, 'coverage', 'coverage-summary.json'), 'utf8'));
const KEYS = ['lines', 'branches', 'functions', 'statements'];

function packageOf(file) {
  const [top, second, third] = relative(root, file).split('/');
  if (top === 'core') return second === 'sdk' ? 'core/sdk (@ft/sdk)' : third === undefined ? 'core' : `core/${second}`;
  return `${top}/${second}`;
}

const rows = new Map();
for (const [file, s] of Object.entries(summary)) {
  if (file === 'total') continue;
  const name = packageOf(file);
  const row = rows.get(name) ?? { files: 0, ...Object.fromEntries(KEYS.map((k) => [k, { covered: 0, total: 0 }])) };
  row.files++;
  for (const k of KEYS) {
    row[k].covered += s[k].covered;
    row[k].total += s[k].total;
  }
  rows.set(name, row);
}

const pct = (c) => (c.total === 0 ? '-' : `${((100 * c.covered) / c.total).toFixed(1)}%`);
const table = [...rows]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([name, r]) => [name, String(r.files), ...KEYS.map((k) => pct(r[k]))]);
const total = summary.total;
table.push(['total', String(Object.keys(summary).length - 1), ...KEYS.map((k) => pct(total[k]))]);
const head = ['package', 'files', ...KEYS];
const width = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
console.log(line(head));
console.log(width.map((w) => '-'.repeat(w)).join('  '));
for (const r of table) console.log(line(r));
console.log('\nPer file: coverage/index.html. Files no test loaded are not listed.');
