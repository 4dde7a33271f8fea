// PCAP forensics costs, each beside its anchor measured in the same run.
// 1. What the pre-attack ring costs: `ft run` (proc detector on a namespace's veth) with background traffic from
//    trafgen at 10k, 100k and 1M pps, CPU of ft's whole process tree (ft + its dumpcap children) in % of one core,
//    with capture off (the anchor), with the ring capturing everything (the default) and with the ring filtered to
//    protected space the background does not hit. The generator's achieved rate is measured at the receiver (on a
//    shared 2-core machine it does not reach 1M pps: the JSON says what it reached).
// 2. Analysis of a 10,000-packet capture (spoofed and real sources, Mirai SYNs, memcached answers, 1,000 IOC CIDRs):
//    ft's analyzeCapture, median of runs, against one tshark pass over the same file (`-q -z conv,ip`) and against
//    only reading the frames.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefix } from '@ft/sdk';
// The built package, not the sources through tsx (whose helpers would be measured too).
import { analyzeCapture, IocMatcher, readFrames, writePcapng } from '../../plugins/pcap/dist/index.js';
import { ethernet, v4Number, type Spec } from '../../plugins/pcap/test/helpers/packets.js';
import { link, Netns } from '../../test/helpers/net.js';
import { median, round, writeResult } from './lib.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RATES = (process.env.BENCH_PCAP_RATES ?? '10000,100000,1000000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_PCAP_SECONDS ?? 4);
const ANALYSIS_RUNS = Number(process.env.BENCH_PCAP_RUNS ?? 15);
const TICK = 100;
const have = (cmd: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
const load = () => loadavg().map((l) => round(l, 2));

// ── 2. analysis (no root needed) ──────────────────────────────────────────────────────────────────────────────
function analysisBench(dir: string): Record<string, unknown> {
  const T0 = Date.UTC(2026, 11, 7, 10);
  const victim = '203.0.113.10';
  const specs: Spec[] = [];
  for (let i = 0; i < 1000; i++)
    specs.push({ time: T0 + i * 10, src: `198.51.100.${i % 200}`, dst: victim, protocol: 'tcp', ttl: 58, flags: 0x10 });
  const start = T0 + 60_000;
  const memcached = Buffer.concat([Buffer.alloc(8), Buffer.from('STAT pid 1\r\nSTAT uptime 5\r\n')]);
  for (let i = 0; i < 9000; i++) {
    const t = start + i * 0.1;
    if (i % 3 === 0)
      specs.push({
        time: t,
        src: `198.51.100.${100 + (i % 50)}`,
        dst: victim,
        protocol: 'udp',
        ttl: 40,
        dstPort: 9999,
      });
    else if (i % 3 === 1)
      specs.push({
        time: t,
        src: `192.0.2.${i % 250}`,
        dst: victim,
        protocol: 'tcp',
        dstPort: 23,
        seq: v4Number(victim),
      });
    else
      specs.push({
        time: t,
        src: `203.0.113.${i % 250}`,
        dst: victim,
        protocol: 'udp',
        srcPort: 11211,
        payload: memcached,
      });
  }
  const file = join(dir, 'analysis.pcapng');
  const buf = writePcapng(specs.map((s) => ({ time: s.time, data: ethernet(s) })));
  writeFileSync(file, buf);
  const matcher = new IocMatcher();
  matcher.set(
    'bench',
    Array.from({ length: 1000 }, (_, i) => ({ id: `c${i}`, source: [Prefix.parse(`10.${i >> 8}.${i & 255}.0/24`)] })),
  );
  // CPU time of this process (the machine is shared: wall time would measure the other jobs too).
  const cpu = (f: () => void) => {
    const t = process.cpuUsage();
    f();
    const d = process.cpuUsage(t);
    return (d.user + d.system) / 1000;
  };
  for (let i = 0; i < 3; i++) analyzeCapture(buf, { attackStart: start, matcher });
  const analyseMs = median(
    Array.from({ length: ANALYSIS_RUNS }, () => cpu(() => analyzeCapture(buf, { attackStart: start, matcher }))),
  );
  const readMs = median(Array.from({ length: ANALYSIS_RUNS }, () => cpu(() => readFrames(buf))));
  const a = analyzeCapture(buf, { attackStart: start, matcher });
  // tshark's CPU (user + system, from GNU time) for one pass over the file, start-up included.
  let tsharkMs: number | undefined;
  if (have('tshark') && have('time')) {
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = spawnSync('time', ['-f', '%U %S', 'tshark', '-r', file, '-q', '-z', 'conv,ip'], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      const m = /([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
      if (r.status === 0 && m) runs.push((Number(m[1]) + Number(m[2])) * 1000);
    }
    if (runs.length > 0) tsharkMs = median(runs);
  }
  return {
    packets: specs.length,
    bytes: buf.length,
    analyseCpuMs: round(analyseMs),
    readFramesCpuMs: round(readMs),
    tsharkConvCpuMs: tsharkMs !== undefined ? round(tsharkMs) : null,
    ratioToTshark: tsharkMs ? round(analyseMs / tsharkMs, 3) : null,
    verdicts: { spoofing: a.spoofing.verdict, botnet: a.botnet_detected, signatures: a.signatures.map((s) => s.id) },
  };
}

// ── 1. the ring's cost under background traffic (root) ────────────────────────────────────────────────────────
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** ft and every process whose parent is ft (its capture children). */
function tree(root: number): number[] {
  const out = [root];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === root) out.push(Number(n));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function rxPackets(residentPid: number, iface: string): number {
  const dev = readFileSync(`/proc/${residentPid}/net/dev`, 'utf8');
  const line = dev.split('\n').find((l) => l.trim().startsWith(`${iface}:`));
  return Number(line?.split(':')[1]?.trim().split(/\s+/)[1] ?? 0);
}

async function ringBench(dir: string): Promise<Record<string, unknown>[]> {
  const made: Netns[] = [];
  const children: ChildProcess[] = [];
  try {
    const gen = Netns.create('pbench-gen');
    const sink = Netns.create('pbench-sink');
    made.push(gen, sink);
    const { aIf, bIf } = link(gen, '198.51.100.1/24', sink, '198.51.100.2/24');
    const mac = sink.exec(['cat', `/sys/class/net/${bIf}/address`]).stdout.trim();
    const [rc, ...rargs] = sink.argv([process.execPath, '-e', 'setTimeout(() => {}, 3600000)']) as [
      string,
      ...string[],
    ];
    const resident = spawn(rc, rargs, { stdio: 'ignore' });
    children.push(resident);
    const modes = [
      { mode: 'off', pcap: '' },
      { mode: 'ring', pcap: `{ detector: pcap, interfaces: [${bIf}], netns: ${sink.name} }` },
      {
        mode: 'ring-filtered',
        pcap: `{ detector: pcap, interfaces: [${bIf}], netns: ${sink.name}, ring: { protect: [203.0.113.0/24] } }`,
      },
    ];
    const out: Record<string, unknown>[] = [];
    for (const rate of RATES) {
      for (const m of modes) {
        const state = mkdtempSync(join(dir, `state-${m.mode}-`));
        const policy = join(state, 'policy.yaml');
        writeFileSync(
          policy,
          [
            'version: 1',
            'tenant: bench',
            'mode: preview',
            'defaults: { ttl: 5m }',
            'protect: [203.0.113.0/24]',
            // No incident during the measurement: only the ring's steady cost is measured.
            'detection: { static: { pps: 100Mpps } }',
            'detectors:',
            `  local: { detector: proc, procRoot: /proc/${resident.pid}, interfaces: [ { name: ${bIf}, address: 203.0.113.10 } ] }`,
            ...(m.pcap ? [`  cap: ${m.pcap}`] : []),
            '',
          ].join('\n'),
        );
        const ft = spawn(
          process.execPath,
          ['bin/run.js', 'run', '--policy', policy, '--state-dir', state, '--metrics', 'off', '--no-watch'],
          {
            cwd: ROOT,
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        children.push(ft);
        const exited = new Promise<number | null>((r) => ft.once('exit', (code) => r(code)));
        let stderr = '';
        ft.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
        // Started: ft logs that it enforces/previews the policy.
        const deadline = Date.now() + 60_000;
        while (!/PREVIEW mode/.test(stderr) && ft.exitCode === null && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100));
        if (ft.exitCode !== null || !/PREVIEW mode/.test(stderr)) throw new Error(`ft run did not start: ${stderr}`);
        if (m.pcap) {
          while (tree(ft.pid!).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        }
        const [gc, ...gargs] = gen.argv([
          'timeout',
          String(SECONDS + 4),
          'trafgen',
          '-o',
          aIf,
          '-b',
          `${rate}pps`,
          '-n',
          String(rate * (SECONDS + 3)),
          '-P',
          '1',
          '--no-sock-mem',
          '--notouch-irq',
          '-q',
          `{ eth(da=${mac}), ipv4(saddr=198.51.100.1, daddr=198.51.100.2), udp(sp=4000, dp=9), fill(0, 18) }`,
        ]) as [string, ...string[]];
        const trafgen = spawn(gc, gargs, { stdio: 'ignore' });
        children.push(trafgen);
        await new Promise((r) => setTimeout(r, 1000));
        const pids = tree(ft.pid!);
        const ticks0 = pids.map(cpuTicks);
        const rx0 = rxPackets(resident.pid!, bIf);
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, SECONDS * 1000));
        const secs = (Date.now() - t0) / 1000;
        const ticks = pids.map(cpuTicks).map((t, i) => t - ticks0[i]!);
        const rx = rxPackets(resident.pid!, bIf) - rx0;
        trafgen.kill('SIGKILL');
        ft.kill('SIGTERM');
        await exited;
        const ftCpu = (ticks[0]! / TICK / secs) * 100;
        const captureCpu = (ticks.slice(1).reduce((a, b) => a + b, 0) / TICK / secs) * 100;
        out.push({
          rate,
          achievedPps: Math.round(rx / secs),
          mode: m.mode,
          ftCpuPct: round(ftCpu, 1),
          captureToolCpuPct: round(captureCpu, 1),
          totalCpuPct: round(ftCpu + captureCpu, 1),
          load: load(),
        });
        console.log(
          `  ${String(rate).padStart(7)} pps asked, ${String(Math.round(rx / secs)).padStart(7)} reached, ${m.mode.padEnd(13)} ft ${round(ftCpu, 1)}% + dumpcap ${round(captureCpu, 1)}% of a core (load ${load().join(' ')})`,
        );
        rmSync(state, { recursive: true, force: true });
      }
    }
    return out;
  } finally {
    for (const c of children) c.kill('SIGKILL');
    for (const ns of made) ns.delete();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'ft-bench-pcap-'));
try {
  const loadStart = load();
  const analysis = analysisBench(dir);
  console.log(
    `  analysis of ${analysis.packets} packets: ${analysis.analyseCpuMs} ms of CPU (reading the frames alone ${analysis.readFramesCpuMs} ms; one tshark pass ${analysis.tsharkConvCpuMs} ms)`,
  );
  const rootOk = process.getuid?.() === 0 && ['trafgen', 'dumpcap', 'ip'].every(have);
  const ring = rootOk ? await ringBench(dir) : [];
  const ratios = RATES.map((rate) => {
    const of = (mode: string) =>
      ring.find((r) => r.rate === rate && r.mode === mode) as { totalCpuPct: number; achievedPps: number } | undefined;
    const off = of('off');
    const on = of('ring');
    const filtered = of('ring-filtered');
    return {
      rate,
      achievedPps: on?.achievedPps,
      ringOverOff: off && on ? round(on.totalCpuPct / Math.max(0.1, off.totalCpuPct), 2) : null,
      ringExtraCpuPct: off && on ? round(on.totalCpuPct - off.totalCpuPct, 1) : null,
      filteredExtraCpuPct: off && filtered ? round(filtered.totalCpuPct - off.totalCpuPct, 1) : null,
    };
  });
  writeResult(
    'pcap',
    {
      loadStart,
      loadEnd: load(),
      analysis,
      ring,
      ratios,
      ...(rootOk ? {} : { ringSkipped: 'needs root, trafgen, dumpcap' }),
    },
    [
      `pcap: analysis ${analysis.analyseCpuMs} ms CPU / 10k packets, ratio to one tshark pass ${analysis.ratioToTshark ?? 'n/a'}`,
      ...ratios.map(
        (r) =>
          `pcap: ring at ${r.rate} pps asked (${r.achievedPps ?? '?'} reached): ${r.ringOverOff ?? 'n/a'}x the CPU of capture off (+${r.ringExtraCpuPct ?? '?'}% of a core; filtered ring +${r.filteredExtraCpuPct ?? '?'}%)`,
      ),
    ].join('\n'),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
