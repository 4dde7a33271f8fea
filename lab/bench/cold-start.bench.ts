// Cold start of the CLI, so start-up stays honest as plugins and dependencies are added. Goal: `ft --help` and
// `ft registry` under 300 ms. Anchors, measured in the same run and interleaved with ft (so a busy machine slows
// both alike): a bare `node -e ""`, and ft as it was at BENCH_ANCHOR_REF (default 5e29467, the tree before the
// Node 24 / oclif 5 / TypeScript 7 move), built beside this checkout in lab/bench/.anchor/<commit> (kept for the
// next run; delete it to rebuild). Both run on the same Node (this one) with their launcher's Node flags.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { launcherNodeFlags } from '../../core/service/launcher.js';
import { median, round, writeResult } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const ANCHOR_REF = process.env.BENCH_ANCHOR_REF ?? '5e29467';
const ROOT = join(import.meta.dirname, '..', '..');

/** The anchor commit exported (git archive: no worktree left registered), installed and built once. */
function anchorRoot(): { dir: string; commit: string } {
  const commit = execFileSync('git', ['rev-parse', `${ANCHOR_REF}^{commit}`], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = join(ROOT, 'lab', 'bench', '.anchor', commit.slice(0, 12));
  if (!existsSync(join(dir, 'oclif.manifest.json'))) {
    console.log(`cold-start: building the anchor ${commit.slice(0, 12)} in ${dir} (once; a minute or two)`);
    mkdirSync(dir, { recursive: true });
    const archive = spawnSync('git', ['archive', commit], { cwd: ROOT, maxBuffer: 1 << 30 });
    if (archive.status !== 0) throw new Error(`git archive ${commit} failed: ${archive.stderr.toString()}`);
    execFileSync('tar', ['-x', '-C', dir], { input: archive.stdout });
    const run = (args: string[]) => execFileSync('npm', args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    run(['ci', '--no-audit', '--no-fund', '--loglevel=error']);
    run(['run', 'build']);
  }
  return { dir, commit };
}

const home = mkdtempSync(join(tmpdir(), 'ft-bench-'));
const env = {
  ...process.env,
  FT_DATA_DIR: join(home, 'd'),
  FT_CONFIG_DIR: join(home, 'c'),
  FT_CACHE_DIR: join(home, 'k'),
};

function once(args: string[], cwd: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, cwd, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} (in ${cwd}) exited ${r.status}`);
  return ms;
}

const anchor = anchorRoot();
const ft = (root: string) => [...launcherNodeFlags(root), join(root, 'bin', 'run.js')];
const cases = {
  node: { args: ['-e', ''], cwd: ROOT },
  help: { args: [...ft(ROOT), '--help'], cwd: ROOT },
  anchorHelp: { args: [...ft(anchor.dir), '--help'], cwd: anchor.dir },
  registry: { args: [...ft(ROOT), 'registry'], cwd: ROOT },
  anchorRegistry: { args: [...ft(anchor.dir), 'registry'], cwd: anchor.dir },
};
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, [] as number[]])) as Record<
  keyof typeof cases,
  number[]
>;
const loadStart = loadavg()[0]!;
for (let i = 0; i < RUNS + 1; i++)
  for (const [name, c] of Object.entries(cases) as [keyof typeof cases, (typeof cases)['node']][]) {
    const ms = once(c.args, c.cwd);
    if (i > 0) times[name].push(ms); // the first round warms the page cache
  }
const loadEnd = loadavg()[0]!;
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<
  keyof typeof cases,
  number
>;
const anchorVersion = (JSON.parse(readFileSync(join(anchor.dir, 'package.json'), 'utf8')) as { version: string })
  .version;
writeResult(
  'cold-start',
  {
    runs: RUNS,
    anchor: { ref: ANCHOR_REF, commit: anchor.commit, version: anchorVersion },
    loadAverage: { start: round(loadStart), end: round(loadEnd) },
    bareNodeMs: round(m.node),
    helpMs: round(m.help),
    anchorHelpMs: round(m.anchorHelp),
    helpRatioToAnchor: round(m.help / m.anchorHelp),
    registryMs: round(m.registry),
    anchorRegistryMs: round(m.anchorRegistry),
    registryRatioToAnchor: round(m.registry / m.anchorRegistry),
    helpRatioToBareNode: round(m.help / m.node),
    goalMs: 300,
  },
  `cold start (median of ${RUNS}, interleaved; load ${round(loadStart, 1)} → ${round(loadEnd, 1)}): ` +
    `ft --help ${round(m.help, 0)} ms vs ${round(m.anchorHelp, 0)} ms at ${ANCHOR_REF} (ratio ${round(m.help / m.anchorHelp)}), ` +
    `ft registry ${round(m.registry, 0)} ms vs ${round(m.anchorRegistry, 0)} ms (ratio ${round(m.registry / m.anchorRegistry)}); ` +
    `bare node ${round(m.node, 0)} ms; goal < 300 ms`,
);
