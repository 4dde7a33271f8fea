// RPKI: route origin validations per second on a 500k-VRP table (goal ≥ 1 M/s), the memory that table costs,
// the time to load it over RTR from a real stayrtr, and the time from a cache file change to an updated verdict.
// Anchors measured in the same run: a naive linear scan over a 5k-VRP table, and RTRlib's rpki-rov (C) answering
// the same queries against the same stayrtr, when installed.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { Prefix } from '@ft/sdk';
import { FrameReader, RtrClient, VrpTable, createVerdictProvider, rtrPdu, type Vrp } from '../../core/rpki/index.js';
import { Stayrtr, type Roa } from '../../test/rpki/stayrtr.js';
import { hasCommand } from '../../test/helpers/env.js';
import { median, round, writeResult } from './lib.js';

const VRPS = Number(process.env.BENCH_VRPS ?? 500_000);
// Distinct routes asked, each asked ROUNDS times: a router asks about the routes it carries over and over, and
// 2M distinct Prefix objects would measure the input's cache misses more than the table's.
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200_000);
const ROUNDS = 10;
const NAIVE_VRPS = 5_000;

let seed = 6811;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n: number) => Math.floor(rand() * n);

// Shaped like the real global VRP set: ~80% IPv4 (mostly /24 with some shorter, maxLength often = length),
// ~20% IPv6 (/32../48), a few thousand origin ASes.
function randomVrp(): Vrp {
  if (rand() < 0.8) {
    const len = rand() < 0.6 ? 24 : 16 + int(8);
    const bytes = Uint8Array.from([1 + int(222), int(256), int(256), 0]);
    const prefix = Prefix.fromBytes(bytes, len, { truncate: true });
    return { prefix, maxLength: rand() < 0.7 ? len : Math.min(32, len + int(9)), asn: 64512 + int(5000) };
  }
  const len = 32 + int(17);
  const bytes = new Uint8Array(16);
  bytes[0] = 0x20;
  bytes[1] = int(16);
  for (let i = 2; i < 6; i++) bytes[i] = int(256);
  const prefix = Prefix.fromBytes(bytes, len, { truncate: true });
  return { prefix, maxLength: rand() < 0.7 ? len : Math.min(128, len + int(17)), asn: 64512 + int(5000) };
}

/** Routes near the VRPs (so lookups walk deep) and some anywhere, each with an origin that sometimes matches. */
function queries(vrps: Vrp[], n: number): { prefixes: Prefix[]; asns: number[] } {
  const prefixes: Prefix[] = [];
  const asns: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = vrps[int(vrps.length)] as Vrp;
    const bits = v.prefix.family === 4 ? 32 : 128;
    const len = Math.min(bits, v.prefix.length + int(10));
    const bytes = Uint8Array.from(v.prefix.bytes);
    if (rand() < 0.2) bytes[int(bytes.length)] = int(256);
    prefixes.push(Prefix.fromBytes(bytes, len, { truncate: true }));
    asns.push(rand() < 0.5 ? v.asn : 64512 + int(5000));
  }
  return { prefixes, asns };
}

function naiveValidate(vrps: Vrp[], route: Prefix, asn: number): string {
  let covered = false;
  for (const v of vrps) {
    if (!v.prefix.contains(route)) continue;
    covered = true;
    if (v.asn !== 0 && v.asn === asn && route.length <= v.maxLength) return 'valid';
  }
  return covered ? 'invalid' : 'not-found';
}

function rss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

// ── the table ─────────────────────────────────────────────────────────────────────────────────────────────────
const vrps: Vrp[] = [];
for (let i = 0; i < VRPS; i++) vrps.push(randomVrp());
const rssBefore = rss();
const tBuild = process.hrtime.bigint();
const table = VrpTable.from(vrps);
const buildMs = Number(process.hrtime.bigint() - tBuild) / 1e6;
const rssTable = rss() - rssBefore;

const q = queries(vrps, QUERIES);
const counts = { valid: 0, invalid: 0, 'not-found': 0 };
const runs: number[] = [];
const cpuRuns: number[] = [];
for (let r = 0; r < 5; r++) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let valid = 0;
  for (let k = 0; k < ROUNDS; k++) {
    for (let i = 0; i < QUERIES; i++)
      if (table.validate(q.prefixes[i] as Prefix, q.asns[i] as number).state === 'valid') valid++;
  }
  if (valid < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  runs.push((QUERIES * ROUNDS) / (Number(process.hrtime.bigint() - t0) / 1e9));
  // On a shared machine wall time includes waiting for a CPU; CPU time does not.
  const cpu = process.cpuUsage(cpu0);
  cpuRuns.push((QUERIES * ROUNDS) / ((cpu.user + cpu.system) / 1e6));
}
const perSecond = median(runs);
const perCpuSecond = median(cpuRuns);
for (let i = 0; i < QUERIES; i++) counts[table.validate(q.prefixes[i] as Prefix, q.asns[i] as number).state]++;

// ── ft's own pattern: re-checking a small set of live announcements (1,000 routes, hot in cache) ───────────────
const hot = queries(vrps, 1000);
const hotCpu0 = process.cpuUsage();
const tHot = process.hrtime.bigint();
let hotValid = 0;
for (let k = 0; k < 2000; k++) {
  for (let i = 0; i < 1000; i++)
    if (table.validate(hot.prefixes[i] as Prefix, hot.asns[i] as number).state === 'valid') hotValid++;
}
const hotPerSecond = 2_000_000 / (Number(process.hrtime.bigint() - tHot) / 1e9);
const hotCpu = process.cpuUsage(hotCpu0);
const hotPerCpuSecond = 2_000_000 / ((hotCpu.user + hotCpu.system) / 1e6);
if (hotValid < 0) throw new Error('unreachable');

// ── anchor 1: linear scan over a small table ──────────────────────────────────────────────────────────────────
const small = vrps.slice(0, NAIVE_VRPS);
const smallTable = VrpTable.from(small);
const nq = queries(small, 2000);
let disagreements = 0;
const tNaive = process.hrtime.bigint();
for (let i = 0; i < nq.prefixes.length; i++) naiveValidate(small, nq.prefixes[i] as Prefix, nq.asns[i] as number);
const naivePerSecond = nq.prefixes.length / (Number(process.hrtime.bigint() - tNaive) / 1e9);
for (let i = 0; i < nq.prefixes.length; i++) {
  if (
    naiveValidate(small, nq.prefixes[i] as Prefix, nq.asns[i] as number) !==
    smallTable.validate(nq.prefixes[i] as Prefix, nq.asns[i] as number).state
  )
    disagreements++;
}

// ── RTR full-load decoding without a cache: frames → PDUs → table, ft's share of a Reset ──────────────────
const wire = Buffer.concat(
  vrps.map((v) =>
    rtrPdu.encodePdu({
      type: 'prefix',
      version: 1,
      family: v.prefix.family,
      announce: true,
      prefixLength: v.prefix.length,
      maxLength: v.maxLength,
      address: v.prefix.bytes,
      asn: v.asn,
    }),
  ),
);
const cpuDecode0 = process.cpuUsage();
const tDecode = process.hrtime.bigint();
const reader = new FrameReader();
const decoded = new VrpTable();
for (let at = 0; at < wire.length; at += 64 * 1024) {
  for (const f of reader.push(wire.subarray(at, at + 64 * 1024)).frames) {
    const r = rtrPdu.decodePdu(f);
    if (r.ok && r.pdu.type === 'prefix')
      decoded.addRaw(r.pdu.family, r.pdu.address, r.pdu.prefixLength, r.pdu.maxLength, r.pdu.asn);
  }
}
const decodeMs = Number(process.hrtime.bigint() - tDecode) / 1e6;
const cpuDecode = process.cpuUsage(cpuDecode0);
const decodeCpuMs = (cpuDecode.user + cpuDecode.system) / 1000;
if (decoded.size !== table.size) throw new Error(`decoded ${decoded.size} VRPs, expected ${table.size}`);

// ── over RTR from a real stayrtr: full load, file change → verdict, rpki-rov on the same queries ──────────────
const rtr: Record<string, unknown> = {};
if (hasCommand('stayrtr') && process.env.BENCH_NO_RTR !== '1') {
  const roas: Roa[] = vrps.map((v) => ({ prefix: v.prefix.toString(), maxLength: v.maxLength, asn: v.asn }));
  const cache = await Stayrtr.start(roas, {});
  const client = new RtrClient({
    caches: [{ host: '127.0.0.1', port: cache.port }],
    backoff: { initialMs: 100, maxMs: 500 },
  }).start();
  try {
    const tLoad = process.hrtime.bigint();
    const snap = await client.ready(120_000);
    rtr.fullLoadMs = round(Number(process.hrtime.bigint() - tLoad) / 1e6);
    rtr.vrpsOverRtr = snap.table.size;
    const provider = createVerdictProvider({ client });
    const probe = Prefix.parse('192.0.2.0/24');
    const changes: number[] = [];
    const fromNotify: number[] = [];
    const session = client.sessions[0]!;
    for (let i = 0; i < 3; i++) {
      const asn = 64400 + i;
      const notifies = session.counters.notifies;
      const t0 = process.hrtime.bigint();
      let tNotify: bigint | undefined;
      cache.update([...roas, { prefix: probe.toString(), maxLength: 24, asn }]);
      for (;;) {
        if (tNotify === undefined && session.counters.notifies > notifies) tNotify = process.hrtime.bigint();
        if (
          provider.verdict({ kind: 'divert', announced: probe, covering: probe, originAs: asn, mode: 'enforce' })
            .allowed
        )
          break;
        await new Promise((r) => setImmediate(r));
      }
      const t1 = process.hrtime.bigint();
      changes.push(Number(t1 - t0) / 1e6);
      if (tNotify !== undefined) fromNotify.push(Number(t1 - tNotify) / 1e6);
    }
    rtr.fileChangeToVerdictMs = round(median(changes));
    rtr.notifyToVerdictMs = fromNotify.length ? round(median(fromNotify)) : undefined;
    rtr.fileChangeToVerdictNote =
      "file rewritten + SIGHUP to stayrtr → stayrtr re-reads and diffs all VRPs → Serial Notify → Serial Query → delta → verdict flips (excludes -refresh polling); notifyToVerdictMs is ft's share";
    if (hasCommand('rpki-rov')) {
      const n = QUERIES;
      const lines = q.prefixes
        .slice(0, n)
        .map((p, i) => `${p.address} ${p.length} ${q.asns[i]}\n`)
        .join('');
      const syncOnly = await timeRov(cache.port, '');
      const withQueries = await timeRov(cache.port, lines);
      rtr.rpkiRovPerSecond = round(n / ((withQueries - syncOnly) / 1000), 0);
      rtr.rpkiRovNote =
        'RTRlib rpki-rov reading the same queries from a pipe (its sync time subtracted); includes its text parsing and printing';
    }
  } finally {
    client.stop();
    await cache.destroy();
  }
}

function timeRov(port: number, input: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('rpki-rov', ['127.0.0.1', String(port)], { stdio: ['pipe', 'ignore', 'ignore'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    child.stdin.end(input);
  });
}

writeResult(
  'rpki',
  {
    vrps: table.size,
    distinctQueries: QUERIES,
    rounds: ROUNDS,
    validationsPerSecond: round(perSecond, 0),
    validationsPerCpuSecond: round(perCpuSecond, 0),
    loadAverage: loadavg()[0],
    hotSetPerSecond: round(hotPerSecond, 0),
    hotSetPerCpuSecond: round(hotPerCpuSecond, 0),
    hotSetNote: '1,000 distinct routes asked 2,000 times each: the re-check of live announcements after a VRP change',
    goalPerSecond: 1_000_000,
    outcomes: counts,
    buildMs: round(buildMs),
    decodeFullLoadMs: round(decodeMs),
    decodeFullLoadCpuMs: round(decodeCpuMs),
    tableRssMB: round(rssTable / 2 ** 20),
    tableArraysMB: round(table.memoryBytes / 2 ** 20),
    anchorNaiveVrps: NAIVE_VRPS,
    anchorNaivePerSecond: round(naivePerSecond, 0),
    ratioVsNaive: round(perSecond / naivePerSecond, 1),
    naiveDisagreements: disagreements,
    ...rtr,
    ...(typeof rtr.rpkiRovPerSecond === 'number' ? { ratioVsRpkiRov: round(perSecond / rtr.rpkiRovPerSecond, 1) } : {}),
  },
  `rpki: ${round(perSecond / 1e6, 2)} M validations/s (${round(perCpuSecond / 1e6, 2)} M per CPU-second, load ${round(loadavg()[0] ?? 0, 1)}; ${round(hotPerSecond / 1e6, 1)} M/s on a hot set of 1,000) on ${table.size} VRPs (goal ≥ 1 M/s; ${round(perSecond / naivePerSecond, 0)}x a linear scan of ${NAIVE_VRPS}` +
    `${typeof rtr.rpkiRovPerSecond === 'number' ? `, ${round(perSecond / rtr.rpkiRovPerSecond, 1)}x rpki-rov` : ''}); table RSS ${round(rssTable / 2 ** 20)} MB; ` +
    `RTR full load ${rtr.fullLoadMs ?? '-'} ms (ft decoding ${round(decodeMs, 0)} ms, ${round(decodeCpuMs, 0)} ms CPU); file change → verdict ${rtr.fileChangeToVerdictMs ?? '-'} ms (Serial Notify → verdict ${rtr.notifyToVerdictMs ?? '-'} ms)`,
);
