// Cold start of the CLI, so start-up stays honest as plugins are added. Anchor: a bare `node -e ""` in the same
// run, on the same machine; ratio = ft / bare node. Goal: `ft --help` and `ft registry` under 300 ms.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, round, writeResult } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const home = mkdtempSync(join(tmpdir(), 'ft-bench-'));
const env = {
  ...process.env,
  FT_DATA_DIR: join(home, 'd'),
  FT_CONFIG_DIR: join(home, 'c'),
  FT_CACHE_DIR: join(home, 'k'),
};

function time(args: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env, stdio: 'ignore' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
    if (i > 0) out.push(ms); // the first run warms the page cache
  }
  return out;
}

const anchor = median(time(['-e', '']));
const help = median(time(['bin/run.js', '--help']));
const registry = median(time(['bin/run.js', 'registry']));
writeResult(
  'cold-start',
  {
    runs: RUNS,
    anchorNodeMs: round(anchor),
    helpMs: round(help),
    registryMs: round(registry),
    helpRatio: round(help / anchor),
    registryRatio: round(registry / anchor),
    goalMs: 300,
  },
  `cold start (median of ${RUNS}): ft --help ${round(help)} ms (${round(help / anchor)}x bare node ${round(anchor)} ms), ` +
    `ft registry ${round(registry)} ms (${round(registry / anchor)}x); goal < 300 ms`,
);
