// Detection engine throughput: CPU per second of traffic for 1k and 10k targets, each fed one flow-style sample
// per second (with protocol and port breakdowns) and evaluated every 100 ms tick, on a virtual clock.
// Anchor, same run: the least any detector must do per sample and tick (a Map of last rates compared with a fixed
// threshold); ratio = engine / anchor. Budget: 10k targets under 15 % of one core.
// Uses the compiled engine (dist/) when it is built, as `ft run` does; the TypeScript source otherwise.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Prefix, type Sample } from '@ft/sdk';
import { round, writeResult } from './lib.js';

const ROOT = join(import.meta.dirname, '..', '..');
const built = join(ROOT, 'dist', 'core', 'detect', 'index.js');
const detect = (
  existsSync(built) ? await import(built) : await import('../../core/detect/index.js')
) as typeof import('../../core/detect/index.js');
const { DEFAULT_DETECTION } = await import('../../core/model/detection.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);

function samplesFor(n: number): { target: string; prefix: Prefix }[] {
  return Array.from({ length: n }, (_, i) => {
    const prefix = Prefix.parse(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    return { target: prefix.toString(), prefix };
  });
}

function sample(t: { target: string; prefix: Prefix }, i: number, at: number): Sample {
  const pps = 100 + (i % 50);
  return {
    source: 'flow',
    sourceKind: 'flow',
    target: t.target,
    prefix: t.prefix,
    at,
    windowMs: 1000,
    direction: 'in',
    pps,
    bps: pps * 8000,
    protocols: { tcp: pps / 2, udp: pps / 2, icmp: 0, other: 0 },
    topSrcPorts: [{ key: 443, count: pps / 2 }],
  };
}

function cpuMs(run: () => void): number {
  const t0 = process.cpuUsage();
  run();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

function engineRun(n: number): number {
  let now = 1e12;
  const engine = new detect.DetectionEngine({ settings: { ...DEFAULT_DETECTION }, clock: () => now });
  const targets = samplesFor(n);
  return cpuMs(() => {
    for (let s = 0; s < SECONDS; s++) {
      targets.forEach((t, i) => engine.ingest(sample(t, i, now)));
      for (let k = 0; k < 10; k++) engine.tick((now += 100));
    }
  });
}

function anchorRun(n: number): number {
  let now = 1e12;
  const last = new Map<string, number>();
  const targets = samplesFor(n);
  let over = 0;
  return cpuMs(() => {
    for (let s = 0; s < SECONDS; s++) {
      targets.forEach((t, i) => {
        const x = sample(t, i, now);
        last.set(x.target, x.pps);
      });
      for (let k = 0; k < 10; k++) {
        now += 100;
        for (const v of last.values()) if (v > 10_000) over++;
      }
    }
    if (over < 0) console.log(over);
  });
}

const rows = [1000, 10_000].map((n) => {
  engineRun(n); // warm-up (JIT)
  const engine = engineRun(n) / SECONDS;
  const anchor = anchorRun(n) / SECONDS;
  return {
    targets: n,
    engineCpuMsPerSecond: round(engine),
    anchorCpuMsPerSecond: round(anchor),
    ratio: round(engine / anchor),
    coreShare: round(engine / 1000, 3),
  };
});
const big = rows[1]!;
writeResult(
  'detect-engine',
  { seconds: SECONDS, compiled: existsSync(built), rows, budgetCoreShare10k: 0.15 },
  `detect engine: ${rows.map((r) => `${r.targets} targets ${r.engineCpuMsPerSecond} ms CPU per second of traffic (${r.ratio}x the bare map anchor)`).join('; ')}; ` +
    `10k targets use ${round(big.coreShare * 100, 1)}% of a core (budget 15%)`,
);
if (big.coreShare > 0.15) process.exitCode = 1;
