// Attack start → attack packets dropped at the edge, on real packets in the namespace lab (root): the
// udp-amplification scenario (hping3 flood → edge-linux exporter → ft run's flow collector → planner → RPKI via
// stayrtr → gobgpd → the edge's FlowSpec enforcer), per exporter and collector window, several runs each.
// Goal (issue 13): ≤ 1 s. Anchor measured in the same run: attack start → first datagram at the collector, i.e. what
// the exporter alone costs before ft can see anything; ft's share is the rest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, round, writeResult } from './lib.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNS = Number(process.env.BENCH_LAB_RUNS ?? 3);
const GOAL_MS = 1000;

if (process.getuid?.() !== 0) {
  console.error('attack-to-drop: needs root (network namespaces); skipped');
  process.exit(0);
}

const home = mkdtempSync(join(tmpdir(), 'ft-bench-lab-'));
const env = {
  ...process.env,
  FT_LAB_PREFIX: `ftb${process.pid % 10000}`,
  FT_LAB_DIR: join(home, 'lab'),
  FT_LAB_POLICY_TTL: '12',
  FT_LAB_FLOOD_SECONDS: '4',
};
const ft = (args: string[], extra: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {
    encoding: 'utf8',
    env: { ...env, ...extra },
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });

interface Timeline {
  event: string;
  sinceAttackMs?: number;
}
interface Case {
  exporter: 'sflow' | 'netflow';
  windowMs: number;
}
const CASES: Case[] = [
  { exporter: 'sflow', windowMs: 100 },
  { exporter: 'sflow', windowMs: 1000 },
  { exporter: 'netflow', windowMs: 100 },
  { exporter: 'netflow', windowMs: 1000 },
];
const rows: Record<string, unknown>[] = [];
try {
  const up = ft(['lab', 'up', '--json']);
  if (up.status !== 0) throw new Error(`ft lab up failed: ${up.stderr}`);
  for (const c of CASES) {
    const drop: number[] = [];
    const firstDatagram: number[] = [];
    const incident: number[] = [];
    let failed = 0;
    for (let r = 0; r < RUNS; r++) {
      const res = ft(['lab', 'scenario', 'udp-amplification', '--json'], {
        FT_LAB_EXPORT: c.exporter,
        FT_LAB_WINDOW_MS: String(c.windowMs),
      });
      let timeline: Timeline[] = [];
      try {
        timeline = (JSON.parse(res.stdout) as { timeline: Timeline[] }).timeline;
      } catch {
        failed++;
        continue;
      }
      const at = (e: string) => timeline.find((t) => t.event === e)?.sinceAttackMs;
      const d = at('first packet dropped at the edge');
      if (res.status !== 0 || d === undefined) failed++;
      if (d !== undefined) drop.push(d);
      const f = at('first datagram at the collector');
      if (f !== undefined) firstDatagram.push(f);
      const i = at('incident open');
      if (i !== undefined) incident.push(i);
    }
    const row = {
      exporter: c.exporter,
      windowMs: c.windowMs,
      runs: RUNS,
      failed,
      attackToDropMsMedian: drop.length ? median(drop) : null,
      attackToDropMs: drop,
      anchorAttackToFirstDatagramMsMedian: firstDatagram.length ? median(firstDatagram) : null,
      attackToIncidentMsMedian: incident.length ? median(incident) : null,
      ratioToGoal: drop.length ? round(median(drop) / GOAL_MS) : null,
    };
    rows.push(row);
    console.log(
      `${c.exporter} ${c.windowMs} ms windows: attack → dropped ${row.attackToDropMsMedian} ms median (${drop.join(', ')}; ` +
        `${row.ratioToGoal}x the ${GOAL_MS} ms goal); exporter alone (attack → first datagram) ${row.anchorAttackToFirstDatagramMsMedian} ms; incident at ${row.attackToIncidentMsMedian} ms${failed ? `; ${failed} failed run(s)` : ''}`,
    );
  }
} finally {
  ft(['lab', 'down']);
  rmSync(home, { recursive: true, force: true });
}

const best = rows.find((r) => r.exporter === 'sflow' && r.windowMs === 100);
writeResult(
  'attack-to-drop',
  { goalMs: GOAL_MS, cases: rows },
  `attack-to-drop: sFlow with 100 ms windows ${String(best?.attackToDropMsMedian)} ms median from attack start to the first packet dropped at the edge ` +
    `(${String(best?.ratioToGoal)}x the ${GOAL_MS} ms goal); see lab/bench/results/attack-to-drop.json for NetFlow and 1 s windows`,
);
