// ft against FastNetMon on the same flow streams, in one run. Each case replays one synthetic stream of flow
// datagrams on loopback to both collectors at once (each datagram to ft, then to FastNetMon, order alternating):
//   netflow5  — NetFlow v5, ≈ 270 kpps of UDP from port 53 at 203.0.113.10 against a 10 kpps threshold
//   sflow     — sFlow v5 1:1000 samples of a ≈ 200 kpps flood, same threshold
//   netflow5-1.6x — NetFlow v5 at 16 kpps against 10 kpps (the reference's 8 vs 5 kpps case)
// Measured from the first datagram sent: detection (ft: "incident opened" in its log; FastNetMon: its ban, which
// is its detection), and announcement (ft: the FlowSpec add acknowledged by gobgpd, from ft's audit trail;
// FastNetMon: the same ban moment, when it runs its notify script / BGP announcer). Ratio ft/fnm per metric
// (< 1: ft is faster). ft runs twice on the same stream: as shipped (the flow collector
// aggregates 1 s windows) and with `windowMs: 100`. Goals (issue 13): ft detection median ≤ 250 ms.
// Needs root? No: everything is on 127.0.0.1 (free ports) and a gobgpd with its API on a Unix socket and no BGP
// listener. FastNetMon: Debian's 1.2.4 with its own config in a temp dir, usage reporting off, API/metrics off.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addr,
  ethernet,
  flowSample,
  ipfix,
  ipv4Packet,
  netflow5,
  rawHeaderRecord,
  set,
  sflow,
  templateRecord,
  u16,
  u32,
  u8,
  udpHeader,
  type Field,
} from '../../plugins/detector-flow/test/helpers/encode.js';
import { gobgpdConfig } from '../ns/topology.js';
import { median, round, writeResult } from './lib.js';

const ROOT = join(import.meta.dirname, '..', '..');
const VICTIM = '203.0.113.10';
const THRESHOLD_PPS = 10_000;
const REPS = Number(process.env.BENCH_E2E_REPS ?? 3);
const CASE_SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 12);
const dir = mkdtempSync(join(tmpdir(), 'ft-e2e-bench-'));
const children = new Set<ChildProcess>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Case {
  name: string;
  format: 'netflow5' | 'ipfix' | 'sflow';
  pps: number;
  everyMs: number;
}
const ALL_CASES: Case[] = [
  { name: 'netflow5', format: 'netflow5', pps: 270_000, everyMs: 20 },
  { name: 'ipfix', format: 'ipfix', pps: 270_000, everyMs: 20 },
  { name: 'sflow', format: 'sflow', pps: 200_000, everyMs: 50 },
  { name: 'netflow5-1.6x', format: 'netflow5', pps: 16_000, everyMs: 20 },
];
const CASES = ALL_CASES.filter(
  (c) => !process.env.BENCH_E2E_CASES || process.env.BENCH_E2E_CASES.split(',').includes(c.name),
);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function start(argv: string[], log: string): ChildProcess {
  const out = openSync(log, 'a');
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = spawn(cmd, args, { stdio: ['ignore', out, out], env: { ...process.env, NO_COLOR: '1' } });
  closeSync(out);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/** One datagram of the stream, representing `everyMs` worth of the flood; `seq` counts datagrams. */
function datagram(c: Case, seq: number, bootMs: number): Buffer {
  const packetsPerDatagram = Math.round((c.pps * c.everyMs) / 1000);
  if (c.format === 'netflow5') {
    const records = 30;
    const flows = Array.from({ length: records }, (_, i) => ({
      src: `198.51.100.${1 + ((seq * records + i) % 250)}`,
      dst: VICTIM,
      srcPort: 53,
      dstPort: 1024 + ((seq + i) % 60000),
      proto: 17,
      packets: Math.max(1, Math.round(packetsPerDatagram / records)),
      bytes: Math.max(1, Math.round(packetsPerDatagram / records)) * 540,
    }));
    const b = netflow5(flows, { sequence: seq * records });
    // Header clock and per-record first/last: the flows lasted the last `everyMs` (collectors that spread a
    // flow over its duration see the same rate as those counting at arrival).
    const now = Date.now();
    const uptime = (now - bootMs) >>> 0;
    b.writeUInt32BE(uptime, 4);
    b.writeUInt32BE(Math.floor(now / 1000), 8);
    b.writeUInt32BE((now % 1000) * 1_000_000, 12);
    for (let i = 0; i < records; i++) {
      b.writeUInt32BE(Math.max(0, uptime - c.everyMs), 24 + i * 48 + 24);
      b.writeUInt32BE(uptime, 24 + i * 48 + 28);
    }
    return b;
  }
  if (c.format === 'ipfix') {
    // The same 30 flows per datagram as NetFlow v5, as an exporter sends IPFIX: the template in every datagram
    // (as softflowd does on UDP), flow start/end in absolute milliseconds, 64-bit counters.
    const records = 30;
    const packets = Math.max(1, Math.round(packetsPerDatagram / records));
    const now = Date.now();
    const u64 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(Math.round(n)));
      return b;
    };
    const body = Buffer.concat(
      Array.from({ length: records }, (_, i) =>
        Buffer.concat([
          addr(`198.51.100.${1 + ((seq * records + i) % 250)}`),
          addr(VICTIM),
          u16(53),
          u16(1024 + ((seq + i) % 60000)),
          u8(17),
          u64(packets),
          u64(packets * 540),
          u64(now - c.everyMs),
          u64(now),
        ]),
      ),
    );
    const fields: Field[] = [
      [8, 4],
      [12, 4],
      [7, 2],
      [11, 2],
      [4, 1],
      [2, 8],
      [1, 8],
      [152, 8],
      [153, 8],
    ];
    const d = ipfix([set(2, templateRecord(256, fields, true)), set(256, body)], { sequence: seq * records });
    u32(Math.floor(now / 1000)).copy(d, 4);
    return d;
  }
  // sFlow 1:1000: one sample per 1000 packets, carrying the sampled packet's header.
  const samples = Math.max(1, Math.round(packetsPerDatagram / 1000));
  return sflow(
    Array.from({ length: samples }, (_, i) =>
      flowSample(
        [
          rawHeaderRecord(
            ethernet(
              ipv4Packet(`198.51.100.${1 + ((seq * samples + i) % 250)}`, VICTIM, 17, udpHeader(53, 1024 + i, 0)),
            ),
            { frameLength: 554 },
          ),
        ],
        { rate: 1000 },
      ),
    ),
    { sequence: seq + 1, agent: '127.0.0.1' },
  );
}

async function startFastnetmon(c: Case, port: number, caseDir: string): Promise<{ child: ChildProcess; bans: string }> {
  writeFileSync(join(caseDir, 'networks'), '203.0.113.0/24\n');
  writeFileSync(join(caseDir, 'white'), '');
  const bans = join(caseDir, 'bans');
  const notify = join(caseDir, 'notify.sh');
  writeFileSync(notify, `#!/bin/sh\necho "$(date +%s%3N) $*" >> '${bans}'\n`);
  chmodSync(notify, 0o755);
  const conf: Record<string, string | number> = {
    logging_level: 'info',
    logging_local_syslog_logging: 'off',
    disable_usage_report: 'on',
    enable_ban: 'on',
    enable_ban_ipv6: 'off',
    process_incoming_traffic: 'on',
    process_outgoing_traffic: 'off',
    ban_time: 1900,
    unban_only_if_attack_finished: 'on',
    networks_list_path: join(caseDir, 'networks'),
    white_list_path: join(caseDir, 'white'),
    check_period: 1,
    enable_connection_tracking: 'off',
    ban_for_pps: 'on',
    ban_for_bandwidth: 'off',
    ban_for_flows: 'off',
    threshold_pps: THRESHOLD_PPS,
    mirror_afpacket: 'off',
    netflow: c.format === 'sflow' ? 'off' : 'on',
    sflow: c.format === 'sflow' ? 'on' : 'off',
    netflow_port: port,
    netflow_host: '127.0.0.1',
    netflow_sampling_ratio: 1,
    sflow_port: port,
    sflow_host: '127.0.0.1',
    average_calculation_time: 5,
    speed_calculation_delay: 1,
    notify_script_path: notify,
    pid_path: join(caseDir, 'fnm.pid'),
    cli_stats_file_path: join(caseDir, 'fnm.dat'),
    cli_stats_ipv6_file_path: join(caseDir, 'fnm6.dat'),
    enable_api: 'off',
    prometheus: 'off',
    exabgp: 'off',
    gobgp: 'off',
    monitor_local_ip_addresses: 'off',
  };
  writeFileSync(
    join(caseDir, 'fnm.conf'),
    `${Object.entries(conf)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  );
  const log = join(caseDir, 'fnm.log');
  const child = start(
    ['fastnetmon', '--configuration_file', join(caseDir, 'fnm.conf'), '--log_file', log, '--disable_pid_logic'],
    join(caseDir, 'fnm.out'),
  );
  // Ready when its collector socket is bound.
  for (let i = 0; i < 100; i++) {
    const ss = spawnSync('ss', ['-Hunl', `sport = :${port}`], { encoding: 'utf8' }).stdout;
    if (ss.includes(`:${port}`)) break;
    await sleep(50);
  }
  await sleep(1200); // its speed thread starts on the next whole second
  return { child, bans };
}

/** ft as shipped (the flow collector's 1 s windows), and with 100 ms collector windows (`windowMs: 100`). */
const FT_VARIANTS = [
  { name: 'ft', windowMs: 1000 },
  { name: 'ft-100ms', windowMs: 100 },
] as const;
type FtVariant = (typeof FT_VARIANTS)[number];

async function startFt(
  c: Case,
  v: FtVariant,
  port: number,
  caseDir: string,
  gobgpApi: string,
): Promise<{ child: ChildProcess; log: string; stateDir: string }> {
  const policy = join(caseDir, `${v.name}-policy.yaml`);
  writeFileSync(
    policy,
    [
      'version: 1',
      `tenant: bench-${v.name}`,
      'mode: enforce',
      'asn: 64500',
      'defaults: { ttl: 5m, rpki: enforce, cooldown: 1m }',
      'protect: [203.0.113.0/24]',
      `detection: { static: { pps: ${THRESHOLD_PPS} } }`,
      `speakers: { gobgp: { adapter: gobgp, address: "${gobgpApi}", tagAsn: 64500 } }`,
      'escalation:',
      `  - { level: 1, when: { pps: ">${THRESHOLD_PPS}" }, do: { flowspec: { then: discard } }, via: [gobgp] }`,
      'onShutdown: withdraw',
      '',
    ].join('\n'),
  );
  const vrps = join(caseDir, `${v.name}-vrps.json`);
  writeFileSync(vrps, JSON.stringify({ roas: [{ prefix: '203.0.113.0/24', maxLength: 24, asn: 'AS64500' }] }));
  const detectors = join(caseDir, `${v.name}-detectors.yaml`);
  writeFileSync(
    detectors,
    `flow: { detector: flow, windowMs: ${v.windowMs}, listeners: [{ protocol: ${c.format === 'netflow5' ? 'netflow' : c.format}, address: 127.0.0.1, port: ${port} }], protect: [203.0.113.0/24] }\n`,
  );
  const stateDir = join(caseDir, `${v.name}-state`);
  const log = join(caseDir, `${v.name}.log`);
  const child = start(
    [
      process.execPath,
      join(ROOT, 'bin', 'run.js'),
      'run',
      '-p',
      policy,
      '--detectors',
      detectors,
      '--vrps',
      vrps,
      '--state-dir',
      stateDir,
      '--metrics',
      'off',
    ],
    log,
  );
  for (let i = 0; i < 400; i++) {
    if (readFileSync(log, 'utf8').includes('ft run: ') || child.exitCode !== null) break;
    await sleep(50);
  }
  if (child.exitCode !== null) throw new Error(`ft run exited: ${readFileSync(log, 'utf8').slice(-1500)}`);
  return { child, log, stateDir };
}

function ftDetectedAt(log: string): number | undefined {
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.includes('detection: incident opened') || !line.includes(`${VICTIM}/32`)) continue;
    return Date.parse((JSON.parse(line) as { time: string }).time);
  }
  return undefined;
}

function ftAnnouncedAt(stateDir: string): number | undefined {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'audit', '--json', '--state-dir', stateDir], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) return undefined;
  const records = (
    JSON.parse(r.stdout) as {
      records: { id: string; op: string; phase: string; at: string; outcome?: string; rule?: { target: string } }[];
    }
  ).records;
  // The op's start record carries the rule; its end record (same id) says when gobgpd acknowledged it.
  const ids = new Set(
    records
      .filter((a) => a.op === 'add' && a.phase === 'start' && String(a.rule?.target) === `${VICTIM}/32`)
      .map((a) => a.id),
  );
  const add = records
    .filter((a) => a.op === 'add' && a.phase === 'end' && a.outcome === 'ok' && ids.has(a.id))
    .sort((a, b) => a.at.localeCompare(b.at))[0];
  return add ? Date.parse(add.at) : undefined;
}

function fnmBannedAt(bans: string): number | undefined {
  if (!existsSync(bans)) return undefined;
  const line = readFileSync(bans, 'utf8')
    .split('\n')
    .find((l) => l.includes(VICTIM) && l.includes('ban'));
  return line ? Number(line.split(' ')[0]) : undefined;
}

interface Rep {
  ftDetectMs?: number;
  ftAnnounceMs?: number;
  ft100DetectMs?: number;
  ft100AnnounceMs?: number;
  fnmDetectMs?: number;
  fnmAnnounceMs?: number;
  datagrams: number;
}

async function runCase(c: Case, rep: number, gobgpApi: string): Promise<Rep> {
  const caseDir = mkdtempSync(join(dir, `${c.name}-${rep}-`));
  const [ftPort, ft100Port, fnmPort] = [await freePort(), await freePort(), await freePort()];
  const fnm = await startFastnetmon(c, fnmPort, caseDir);
  const ft = await startFt(c, FT_VARIANTS[0], ftPort, caseDir, gobgpApi);
  const ft100 = await startFt(c, FT_VARIANTS[1], ft100Port, caseDir, gobgpApi);
  // A collector in service has been running for a while: its sub-second windows already hold a quiet trailing
  // second. Streaming into a collector a few ms old would rate the first windows over less than a second.
  await sleep(1500);
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const bootMs = Date.now() - 3_600_000;
  let seq = 0;
  const first = Date.now();
  try {
    while (Date.now() - first < CASE_SECONDS * 1000) {
      const d = datagram(c, seq, bootMs);
      // The same bytes to each collector, the order rotating so none is always first.
      const ports = [ftPort, ft100Port, fnmPort];
      const targets = [...ports.slice(seq % 3), ...ports.slice(0, seq % 3)];
      for (const p of targets) sock.send(d, p, '127.0.0.1');
      seq++;
      if (
        seq % 10 === 0 &&
        ftDetectedAt(ft.log) !== undefined &&
        ftDetectedAt(ft100.log) !== undefined &&
        fnmBannedAt(fnm.bans) !== undefined &&
        Date.now() - first > 2000
      )
        break;
      const next = first + seq * c.everyMs;
      await sleep(Math.max(0, next - Date.now()));
    }
    await sleep(500);
  } finally {
    sock.close();
    await stop(fnm.child);
    await stop(ft.child, 30_000);
    await stop(ft100.child, 30_000);
  }
  const since = (t: number | undefined) => (t === undefined ? undefined : t - first);
  const fnmBan = since(fnmBannedAt(fnm.bans));
  return {
    datagrams: seq,
    ftDetectMs: since(ftDetectedAt(ft.log)),
    ftAnnounceMs: since(ftAnnouncedAt(ft.stateDir)),
    ft100DetectMs: since(ftDetectedAt(ft100.log)),
    ft100AnnounceMs: since(ftAnnouncedAt(ft100.stateDir)),
    fnmDetectMs: fnmBan,
    fnmAnnounceMs: fnmBan,
  };
}

async function main(): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v fastnetmon && command -v gobgpd'], { stdio: 'ignore' }).status !== 0)
    throw new Error('needs fastnetmon and gobgpd (lab/setup)');
  // ft's speaker: a gobgpd with no BGP listener and no neighbors; its API on a Unix socket in our temp dir.
  const gdir = join(dir, 'gobgpd');
  spawnSync('mkdir', ['-p', gdir]);
  writeFileSync(
    join(gdir, 'gobgpd.toml'),
    gobgpdConfig({ asn: 64500, routerId: '192.0.2.1', dir: gdir, neighbors: [] }),
  );
  const sockPath = join(gdir, 'api.sock');
  const gobgpd = start(
    [
      'gobgpd',
      '-f',
      join(gdir, 'gobgpd.toml'),
      '--api-hosts',
      `unix://${sockPath}`,
      '-p',
      '--pprof-disable',
      '-l',
      'warn',
    ],
    join(gdir, 'gobgpd.log'),
  );
  for (let i = 0; i < 200 && !existsSync(sockPath); i++) await sleep(25);
  const results: Record<string, unknown>[] = [];
  try {
    for (const c of CASES) {
      const reps: Rep[] = [];
      for (let r = 0; r < REPS; r++) {
        const rep = await runCase(c, r, `unix://${sockPath}`);
        reps.push(rep);
        console.log(
          `${c.name} #${r + 1}: ft detect ${rep.ftDetectMs ?? '—'} / announce ${rep.ftAnnounceMs ?? '—'} ms; ft-100ms ${rep.ft100DetectMs ?? '—'} / ${rep.ft100AnnounceMs ?? '—'} ms; fastnetmon ban ${rep.fnmDetectMs ?? '—'} ms (${rep.datagrams} datagrams)`,
        );
      }
      const med = (k: keyof Rep) => {
        const v = reps.map((x) => x[k]).filter((x): x is number => typeof x === 'number');
        return v.length === reps.length ? median(v) : undefined;
      };
      const m = {
        ftDetectMs: med('ftDetectMs'),
        ftAnnounceMs: med('ftAnnounceMs'),
        ft100DetectMs: med('ft100DetectMs'),
        ft100AnnounceMs: med('ft100AnnounceMs'),
        fnmDetectMs: med('fnmDetectMs'),
        fnmAnnounceMs: med('fnmAnnounceMs'),
      };
      const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? round(a / b, 3) : null);
      results.push({
        case: c.name,
        format: c.format,
        pps: c.pps,
        thresholdPps: THRESHOLD_PPS,
        reps,
        median: m,
        ratio: {
          detect: ratio(m.ftDetectMs, m.fnmDetectMs),
          announce: ratio(m.ftAnnounceMs, m.fnmAnnounceMs),
          detect100ms: ratio(m.ft100DetectMs, m.fnmDetectMs),
          announce100ms: ratio(m.ft100AnnounceMs, m.fnmAnnounceMs),
        },
      });
    }
  } finally {
    await stop(gobgpd);
  }
  const detects = results
    .map((r) => (r.median as { ft100DetectMs?: number }).ft100DetectMs)
    .filter((x): x is number => x !== undefined);
  writeResult(
    'e2e',
    {
      anchor: 'FastNetMon (Debian package) on the same datagrams in the same run',
      thresholdPps: THRESHOLD_PPS,
      reps: REPS,
      cases: results,
      goals: { detectMedianMs: 250 },
    },
    results
      .map(
        (r) =>
          `${String(r.case)}: ft/fnm detect ${String((r.ratio as { detect: number | null }).detect)}, announce ${String((r.ratio as { announce: number | null }).announce)}`,
      )
      .join('; ') + (detects.length ? `; ft-100ms detection medians ${detects.join('/')} ms (goal ≤ 250)` : ''),
  );
}

const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => {
  cleanup();
  process.exit(130);
});
main().then(
  () => cleanup(),
  (err: Error) => {
    console.error(err.message);
    cleanup();
    process.exit(1);
  },
);
