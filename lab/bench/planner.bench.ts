// Planner throughput and preview latency. Goal: >= 50k plans/s for incidents against 200 active rules, and a
// preview (parse a 100-target policy, plan, format) under 100 ms. Anchors measured in the same run: the goal rate
// itself, and a JSON.parse(JSON.stringify()) round trip of the same incidents (ratio = plan time / anchor time).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Incident } from '../../core/model/incident.js';
import type { ActiveRule } from '../../core/model/plan.js';
// The built code, as `ft run` executes it (run `npm run build` first; `npm run bench` does).
import { formatPlan, parseIncident, plan } from '../../dist/core/plan/index.js';
import { parsePolicy } from '../../dist/core/policy/index.js';
import { createVerdictProvider, loadVrpFile } from '../../dist/core/rpki/index.js';
import { median, percentile, round, writeResult } from './lib.js';

const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 10_000);
const ACTIVE = 200;
const GOAL_PLANS_PER_S = 50_000;
const GOAL_PREVIEW_MS = 100;
const now = new Date('2026-11-22T00:00:00Z');

// A deterministic generator, so every run plans the same incidents.
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;

const policyText = readFileSync('policies/examples/hosting-provider.yaml', 'utf8').replace(
  'maxRules: 100',
  'maxRules: 1000',
);
const policy = parsePolicy(policyText, 'hosting-provider.yaml');
const rpki = createVerdictProvider({
  table: await loadVrpFile('policies/examples/vrps.json'),
  now: () => now.getTime(),
});
const FAMILIES = ['udp_flood', 'syn_flood', 'udp_flood', 'icmp_flood', 'multi_vector'] as const;
const VECTORS = [[], ['dns'], ['ntp'], ['memcached', 'dns'], ['cldap']] as const;

function makeIncident(i: number): Incident {
  const bps = Math.round(rand() * 4e9);
  const host = `203.0.113.${2 + Math.floor(rand() * 50) * 5}`;
  return parseIncident(
    {
      id: `b${i}`,
      target: rand() < 0.2 ? `2001:db8:100::${(i % 4000).toString(16)}` : host,
      attack_family: pick(FAMILIES),
      severity: 'high',
      vector: [...pick(VECTORS)],
      peak_bps: bps,
      peak_pps: bps / 8000,
      top_src_ips: [
        { ip: '198.51.100.7', count: 9 },
        { ip: '192.0.2.44', count: 5 },
      ],
    },
    'bench',
    now,
  );
}

// 200 live rules, as earlier plans left them.
const active: ActiveRule[] = [];
for (let i = 0; active.length < ACTIVE; i++) {
  const inc = makeIncident(100_000 + i);
  for (const op of plan({ policy, incident: inc, active: [], now, rpki }).ops) {
    if (active.length < ACTIVE && !active.some((a) => a.rule.id === op.rule.id)) {
      active.push({
        rule: op.rule,
        via: op.via,
        appliedAt: now.getTime() - 60_000,
        expiresAt: now.getTime() + 240_000,
        incidentId: inc.id,
      });
    }
  }
}
// Frozen, as a caller planning many incidents against one snapshot passes it: the planner indexes it once.
Object.freeze(active);
const incidents = Array.from({ length: INCIDENTS }, (_, i) => makeIncident(i));

function timeMs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const runs = Number(process.env.BENCH_RUNS ?? 5);
let ops = 0;
timeMs(() => incidents.slice(0, 1000).forEach((incident) => plan({ policy, incident, active, now, rpki }))); // warm-up
const planMs: number[] = [];
const anchorMs: number[] = [];
for (let r = 0; r < runs; r++) {
  planMs.push(
    timeMs(() => {
      for (const incident of incidents) ops += plan({ policy, incident, active, now, rpki }).ops.length;
    }),
  );
  anchorMs.push(
    timeMs(() => {
      for (const incident of incidents) JSON.parse(JSON.stringify(incident));
    }),
  );
}
const plansPerS = INCIDENTS / (median(planMs) / 1000);
// The same against an unfrozen copy, which the planner walks in every plan (the run loop's path today).
const walked = [...active];
const walkedMs: number[] = [];
for (let r = 0; r < runs; r++)
  walkedMs.push(
    timeMs(() => {
      for (const incident of incidents) plan({ policy, incident, active: walked, now, rpki });
    }),
  );
const walkedPlansPerS = INCIDENTS / (median(walkedMs) / 1000);

// Preview of a 100-target policy: parse and validate the YAML, plan, format for the terminal.
const targets = Array.from(
  { length: 100 },
  (_, i) =>
    `  - { name: customer-${i}, prefix: 203.0.113.${i * 2}/31, tenant: c${i}, maxLevel: ${1 + (i % 3)}, when: { 1: { bps: ">${20 + i}Mbps" } } }`,
);
const bigPolicy = `${policyText.replace(/targets:\n(?: {2}.*\n| {4}.*\n| {6}.*\n)*/, '')}targets:\n${targets.join('\n')}\n`;
const incidentText = readFileSync('policies/examples/incident-dns-amplification.json', 'utf8');
const previewMs: number[] = [];
let lines = 0;
for (let r = 0; r < 30; r++) {
  previewMs.push(
    timeMs(() => {
      const p = parsePolicy(bigPolicy, 'big.yaml');
      const incident = parseIncident(JSON.parse(incidentText), 'incident', now);
      const result = plan({ policy: p, incident, active, now, rpki });
      lines = formatPlan(result, { policy: p, incident, now }).split('\n').length;
    }),
  );
}
if (parsePolicy(bigPolicy, 'big.yaml').targets.length !== 100)
  throw new Error('the preview policy should have 100 targets');
const previewMedian = median(previewMs.slice(5));
const previewP95 = percentile(previewMs.slice(5), 95);

// The same preview through the CLI, start-up included (what an operator waits for); anchor: a bare `node -e ""`.
const dir = mkdtempSync(join(tmpdir(), 'ft-bench-preview-'));
writeFileSync(join(dir, 'big.yaml'), bigPolicy);
const wall = (args: string[]) => {
  const out: number[] = [];
  for (let r = 0; r < 6; r++) {
    const t0 = process.hrtime.bigint();
    const res = spawnSync(process.execPath, args, {
      stdio: 'ignore',
      env: { ...process.env, FT_DATA_DIR: join(dir, 'd'), FT_CONFIG_DIR: join(dir, 'c'), FT_CACHE_DIR: join(dir, 'k') },
    });
    if (res.status !== 0) throw new Error(`${args.join(' ')} exited ${res.status}`);
    if (r > 0) out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(out);
};
const nodeMs = wall(['-e', '']);
const cliMs = wall([
  'bin/run.js',
  'mitigate',
  'preview',
  '--policy',
  join(dir, 'big.yaml'),
  '--incident',
  'policies/examples/incident-dns-amplification.json',
  '--vrps',
  'policies/examples/vrps.json',
]);

writeResult(
  'planner',
  {
    incidents: INCIDENTS,
    activeRules: active.length,
    runs,
    opsPlanned: ops,
    plansPerSecond: Math.round(plansPerS),
    goalPlansPerSecond: GOAL_PLANS_PER_S,
    ratioToGoal: round(plansPerS / GOAL_PLANS_PER_S),
    unindexedPlansPerSecond: Math.round(walkedPlansPerS),
    planMsMedian: round(median(planMs)),
    anchorJsonRoundTripMsMedian: round(median(anchorMs)),
    ratioToJsonAnchor: round(median(planMs) / median(anchorMs)),
    previewTargets: 100,
    previewMsMedian: round(previewMedian),
    previewMsP95: round(previewP95),
    goalPreviewMs: GOAL_PREVIEW_MS,
    previewLines: lines,
    cliPreviewMs: round(cliMs),
    anchorBareNodeMs: round(nodeMs),
    cliRatioToBareNode: round(cliMs / nodeMs),
  },
  `planner: ${Math.round(plansPerS)} plans/s for ${INCIDENTS} incidents against ${active.length} active rules ` +
    `(${round(plansPerS / GOAL_PLANS_PER_S)}x the ${GOAL_PLANS_PER_S}/s goal; ${round(median(planMs) / median(anchorMs))}x a JSON round trip of the same incidents; ` +
    `${Math.round(walkedPlansPerS)} plans/s when the snapshot is not frozen and is walked in every plan); ` +
    `preview of a 100-target policy ${round(previewMedian)} ms median, p95 ${round(previewP95)} ms (goal < ${GOAL_PREVIEW_MS} ms); ` +
    `the same through the CLI with start-up ${round(cliMs)} ms (${round(cliMs / nodeMs)}x bare node ${round(nodeMs)} ms)`,
);
