#!/usr/bin/env node
// Runs every benchmark in lab/bench (files named *.bench.ts or *.bench.mjs), or those whose name contains an
// argument: `npm run bench -- cold-start`. Each writes lab/bench/results/<name>.json and prints its ratio.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => /\.bench\.(ts|mjs)$/.test(f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
let failed = 0;
for (const file of benches) {
  console.log(`\n== ${file}`);
  const args = file.endsWith('.ts') ? ['--import', 'tsx', '--no-warnings', join(here, file)] : [join(here, file)];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: join(here, '..', '..') });
  if (r.status !== 0) {
    failed++;
    console.error(`${file}: exit ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
