// Flood start → incident open, on the real kernel: a paced UDP sender in one namespace, the proc detector
// reading the victim namespace's counters, the detection engine with default tick (100 ms) and window (1 s).
//
// 1. Latency over BENCH_RUNS (default 20) floods well above threshold: median and p95, from the moment the first
//    flood packet reached the victim's interface (seen by a 1 ms poller) and, more conservatively, from the moment
//    the sender was spawned. Floods at BENCH_FLOOD_PPS (default 60 kpps, 12× the 5 kpps threshold). Goal: median ≤ 250 ms.
// 2. Quality: a flood at 1.6× its threshold (8 kpps against 5 kpps, the slow-ramp case) must open in
//    ≤ 1 s. Anchor: FastNetMon 1.2.4 took 5.9 s on that case (its exponential moving average ramps slowly);
//    ratio = anchor / ours. FastNetMon itself (Debian 1.2.4, AF_PACKET on the victim's interface, threshold_pps
//    5000) is fed the very same floods alongside, when installed: its ban time is measured in the same run.
//    Also the same case on a learnt p99 baseline, replayed on a virtual clock.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DETECTION, type DetectionSettings } from '../../core/model/detection.js';
import { DetectionEngine, type DetectionEvent } from '../../core/detect/index.js';
import { ProcDetector, procConfigSchema } from '../../plugins/detector-proc/src/index.js';
import { link, Netns } from '../../test/helpers/net.js';
import { Prefix } from '@ft/sdk';
import { median, percentile, round, writeResult } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const QUALITY_RUNS = Number(process.env.BENCH_QUALITY_RUNS ?? 5);
const FASTNETMON_1_6X_MS = 5900; // FastNetMon 1.2.4 on this case, measured on this kind of box (docs/detection.md)
const VICTIM = '198.51.100.2';
const THRESHOLD_PPS = 5000;

const FLOOD_PPS = Number(process.env.BENCH_FLOOD_PPS ?? 60_000);

/** A UDP sender paced to `rate` packets/s for `ms`, at most rate x ms / 1000 packets, run inside the attacker namespace. */
function sender(rate: number, ms: number): string {
  return `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(64);const rate=${rate},dur=${ms},max=Math.floor(rate*dur/1000),t0=Date.now();let n=0;
    (function tick(){const el=Date.now()-t0;if(el>=dur||n>=max){s.close();return}const due=Math.min(max,Math.floor(rate*el/1000));
    while(n<due){s.send(b,4444,'${VICTIM}');n++}setTimeout(tick,1)})();`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rxPackets(pid: number, ifname: string): Promise<bigint> {
  const text = await readFile(`/proc/${pid}/net/dev`, 'utf8');
  const line = text.split('\n').find((l) => l.trim().startsWith(`${ifname}:`));
  return BigInt(line?.split(':')[1]?.trim().split(/\s+/)[1] ?? '0');
}

/**
 * FastNetMon 1.2.4 inside the victim namespace, mirror mode (AF_PACKET) on its interface, per-host threshold
 * 5000 pps, a notify script that records when it bans. Its API and metrics ports are off (they would bind inside
 * the namespace anyway). Returns when it is capturing.
 */
async function startFastnetmon(
  victim: Netns,
  ifname: string,
): Promise<{ firstBan(): Promise<number | undefined>; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'ft-bench-fnm-'));
  writeFileSync(join(dir, 'networks'), `${VICTIM}/32\n`);
  writeFileSync(join(dir, 'white'), '');
  const notify = join(dir, 'notify.sh');
  writeFileSync(notify, `#!/bin/sh\necho "$(date +%s%3N) $*" >> '${join(dir, 'bans')}'\n`);
  chmodSync(notify, 0o755);
  const conf = {
    logging_level: 'info',
    logging_local_syslog_logging: 'off',
    disable_usage_report: 'on',
    enable_ban: 'on',
    enable_ban_ipv6: 'off',
    process_incoming_traffic: 'on',
    process_outgoing_traffic: 'off',
    ban_time: 1900,
    unban_only_if_attack_finished: 'on',
    networks_list_path: join(dir, 'networks'),
    white_list_path: join(dir, 'white'),
    check_period: 1,
    enable_connection_tracking: 'off',
    ban_for_pps: 'on',
    ban_for_bandwidth: 'off',
    ban_for_flows: 'off',
    threshold_pps: THRESHOLD_PPS,
    mirror_afpacket: 'on',
    mirror_af_packet_custom_sampling_rate: 1,
    interfaces: ifname,
    average_calculation_time: 5,
    speed_calculation_delay: 1,
    notify_script_path: notify,
    pid_path: join(dir, 'fnm.pid'),
    cli_stats_file_path: join(dir, 'fnm.dat'),
    cli_stats_ipv6_file_path: join(dir, 'fnm6.dat'),
    enable_api: 'off',
    prometheus: 'off',
    exabgp: 'off',
    gobgp: 'off',
    monitor_local_ip_addresses: 'off',
  };
  writeFileSync(
    join(dir, 'fnm.conf'),
    Object.entries(conf)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n') + '\n',
  );
  const log = join(dir, 'fnm.log');
  const [cmd, ...args] = victim.argv([
    'timeout',
    '40',
    'fastnetmon',
    '--configuration_file',
    join(dir, 'fnm.conf'),
    '--log_file',
    log,
    '--disable_pid_logic',
  ]) as [string, ...string[]];
  const child: ChildProcess = spawn(cmd, args, { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const text = await readFile(log, 'utf8').catch(() => '');
    if (text.includes(`listen on ${ifname}`)) break;
    await sleep(50);
  }
  await sleep(1500); // its speed thread starts on the next whole second
  return {
    async firstBan() {
      for (let i = 0; i < 60; i++) {
        const bans = await readFile(join(dir, 'bans'), 'utf8').catch(() => '');
        const line = bans.split('\n').find((l) => l.includes(' ban'));
        if (line) return Number(line.split(' ')[0]);
        await sleep(100);
      }
      return undefined;
    },
    stop() {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('detect bench needs root (network namespaces)');
  const attacker = Netns.create('bd-atk');
  const victim = Netns.create('bd-vic');
  const cleanup = () => {
    attacker.delete();
    victim.delete();
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const { bIf } = link(attacker, '198.51.100.1/24', victim, `${VICTIM}/24`);
    const [cmd, ...args] = victim.argv(['sleep', '900']) as [string, ...string[]];
    const resident = spawn(cmd, args, { stdio: 'ignore' });
    await sleep(300);
    const pid = resident.pid!;

    const settings: DetectionSettings = { ...DEFAULT_DETECTION, static: { pps: THRESHOLD_PPS }, resolveAfterMs: 500 };
    const engine = new DetectionEngine({ settings });
    const events: DetectionEvent[] = [];
    engine.on((e) => events.push(e));
    const detector = new ProcDetector(
      procConfigSchema.parse({ procRoot: `/proc/${pid}`, interfaces: [{ name: bIf, address: VICTIM }] }),
      'bench-proc',
    );
    await detector.start((s) => engine.ingest(s));
    engine.start();

    /** Runs one bounded sender; returns spawn time, first-packet time and open time. */
    type Run = { fromSpawn: number; fromFirstPacket: number; peakPps: number; firstPacketAt: number };
    const once = async (argv: string[]): Promise<Run | undefined> => {
      // Quiet first: no open incident, window empty.
      for (let i = 0; i < 100 && engine.view().some((v) => v.state === 'attack'); i++) await sleep(100);
      await sleep(1200);
      const from = events.length;
      const before = await rxPackets(pid, bIf);
      let firstPacketAt = 0;
      const poll = setInterval(() => {
        if (firstPacketAt) return;
        void rxPackets(pid, bIf).then((n) => {
          if (!firstPacketAt && n > before + 2n) firstPacketAt = Date.now();
        });
      }, 1);
      const [c, ...a] = attacker.argv(['timeout', '10', ...argv]) as [string, ...string[]];
      const spawnedAt = Date.now();
      const child = spawn(c, a, { stdio: 'ignore' });
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      let opened: DetectionEvent | undefined;
      for (let i = 0; i < 400 && !opened; i++) {
        await sleep(5);
        opened = events.slice(from).find((e) => e.type === 'open');
      }
      clearInterval(poll);
      await exited;
      for (let i = 0; i < 100 && !events.slice(from).some((e) => e.type === 'resolve'); i++) await sleep(50);
      const resolved = events.slice(from).find((e) => e.type === 'resolve');
      if (!opened || !firstPacketAt) return undefined;
      const at = opened.incident.startedAt;
      return {
        fromSpawn: at - spawnedAt,
        fromFirstPacket: at - firstPacketAt,
        peakPps: resolved?.incident.peakPps ?? opened.incident.peakPps,
        firstPacketAt,
      };
    };

    // 1. Latency, floods far above threshold. hping3's -i pacing collapses on a loaded box (u1 gave 5 kpps, u5
    // 15 kpps here), so a small paced sender sets the rate; bounded in packets (rate x duration) and by `timeout`.
    const latency: Run[] = [];
    let missed = 0;
    for (let i = 0; i < RUNS; i++) {
      const r = await once([process.execPath, '-e', sender(FLOOD_PPS, 1500)]);
      if (r) latency.push(r);
      else missed++;
    }

    // 2. Quality: 8 kpps against 5 kpps for 8 s (long enough for FastNetMon's moving average to get there too).
    const quality: Run[] = [];
    const fastnetmon: number[] = [];
    const haveFnm = spawnSync('sh', ['-c', 'command -v fastnetmon'], { stdio: 'ignore' }).status === 0;
    for (let i = 0; i < QUALITY_RUNS; i++) {
      const fnm = haveFnm ? await startFastnetmon(victim, bIf) : undefined;
      try {
        const r = await once([process.execPath, '-e', sender(1.6 * THRESHOLD_PPS, 8000)]);
        if (r) quality.push(r);
        else missed++;
        if (fnm && r) {
          const ban = await fnm.firstBan();
          if (ban !== undefined) fastnetmon.push(ban - r.firstPacketAt);
        }
      } finally {
        fnm?.stop();
      }
    }
    engine.stop();
    await detector.stop();
    resident.kill('SIGKILL');

    // 3. The same 1.6x case on a learnt baseline (p99 5000/3 → threshold 5000), virtual clock, no kernel.
    let now = 0;
    const learnt = new DetectionEngine({
      settings: { ...DEFAULT_DETECTION, floor: { pps: 1, bps: 1 } },
      clock: () => now,
    });
    const prefix = Prefix.parse(VICTIM);
    const feed = (pps: number) => {
      now += 100;
      learnt.ingest({
        source: 'v',
        sourceKind: 'proc',
        target: `${VICTIM}/32`,
        prefix,
        at: now,
        windowMs: 100,
        direction: 'in',
        pps,
        bps: pps * 512,
      });
      return learnt.tick(now);
    };
    for (let i = 0; i < 3000; i++) feed(THRESHOLD_PPS / 3);
    const startVirtual = now;
    let learntMs = -1;
    for (let i = 0; i < 50 && learntMs < 0; i++)
      if (feed(1.6 * THRESHOLD_PPS).some((e) => e.type === 'open')) learntMs = now - startVirtual;

    const first = latency.map((l) => l.fromFirstPacket);
    const spawned = latency.map((l) => l.fromSpawn);
    const q = quality.map((l) => l.fromFirstPacket);
    const result = {
      runs: RUNS,
      missed,
      thresholdPps: THRESHOLD_PPS,
      floodPps: FLOOD_PPS,
      floodPeakPpsMedian: round(median(latency.map((l) => l.peakPps)), 0),
      latencyFromFirstPacketMs: {
        median: round(median(first)),
        p95: round(percentile(first, 95)),
        max: round(Math.max(...first)),
      },
      latencyFromSpawnMs: { median: round(median(spawned)), p95: round(percentile(spawned, 95)) },
      goalMedianMs: 250,
      quality16x: {
        runs: quality.length,
        floodMs: 8000,
        measuredPeakPps: round(median(quality.map((l) => l.peakPps)), 0),
        medianMs: round(median(q)),
        maxMs: round(Math.max(...q)),
        goalMs: 1000,
        anchorFastnetmonMs: FASTNETMON_1_6X_MS,
        ratioAnchorOverOurs: round(FASTNETMON_1_6X_MS / median(q)),
        fastnetmonSameRunMs:
          fastnetmon.length > 0
            ? { runs: fastnetmon.length, median: round(median(fastnetmon)), max: round(Math.max(...fastnetmon)) }
            : null,
        ratioFastnetmonSameRunOverOurs: fastnetmon.length > 0 ? round(median(fastnetmon) / median(q)) : null,
      },
      learntBaseline16xVirtualMs: learntMs,
    };
    writeResult(
      'detect',
      result,
      `detect: flood → incident median ${result.latencyFromFirstPacketMs.median} ms, p95 ${result.latencyFromFirstPacketMs.p95} ms over ${first.length} runs ` +
        `(floods measured at ${result.floodPeakPpsMedian} pps vs ${THRESHOLD_PPS} threshold; from spawn: median ${result.latencyFromSpawnMs.median} ms; goal median ≤ 250 ms); ` +
        `1.6× threshold: median ${result.quality16x.medianMs} ms, max ${result.quality16x.maxMs} ms (goal ≤ 1000 ms) vs FastNetMon ${FASTNETMON_1_6X_MS} ms = ` +
        `${result.quality16x.ratioAnchorOverOurs}× faster` +
        (fastnetmon.length > 0
          ? ` (FastNetMon fed the same floods in this run: median ${round(median(fastnetmon))} ms, ${result.quality16x.ratioFastnetmonSameRunOverOurs}×)`
          : ' (FastNetMon not installed: anchor only)') +
        `; learnt-baseline 1.6× (virtual clock): ${learntMs} ms; missed ${missed}`,
    );
    if (missed > 0 || result.quality16x.maxMs > 1000) process.exitCode = 1;
  } finally {
    cleanup();
  }
}

await main();
