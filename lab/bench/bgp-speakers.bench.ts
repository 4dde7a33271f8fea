// apply() → route visible in a receiving peer's RIB, for the ExaBGP, BIRD and FRR adapters, over BENCH_N (≥ 100)
// announcements each. The peer is a gobgpd in its own namespace; arrival is taken from a `gobgp monitor` stream,
// not from polling, so the clock stops within a millisecond of the UPDATE landing in its RIB.
// Anchor, measured in the same run to the same RIB: the speaker's own CLI doing the same add by hand
// (exabgpcli; an appended static route + `birdc configure`; the same `vtysh -c` commands). Ratio = ft / anchor.
// Goal: p99 ≤ 50 ms to the RIB for ExaBGP and BIRD (issue 7).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Prefix } from '@ft/sdk';
import { makeLab, type GobgpFamily, type PeerLab } from '../../adapters/bgp-exabgp/test/peer-lab.js';
import { context, flow, rtbh } from '../../adapters/bgp-exabgp/test/rules.js';
import {
  birdConf,
  exabgpConf,
  startBird,
  startExabgp,
  startFrr,
  stopAll,
  writeFrrConfig,
} from '../../adapters/bgp-exabgp/test/speakers.js';
import { ExabgpAction } from '../../adapters/bgp-exabgp/src/action.js';
import { exabgpConfigSchema } from '../../adapters/bgp-exabgp/src/config.js';
import { BirdAction } from '../../adapters/bgp-bird/src/action.js';
import { birdConfigSchema } from '../../adapters/bgp-bird/src/config.js';
import { FrrAction } from '../../adapters/bgp-frr/src/action.js';
import { frrConfigSchema } from '../../adapters/bgp-frr/src/config.js';
import { renderRtbh } from '../../adapters/bgp-frr/src/render.js';
import { percentile, round, writeResult } from './lib.js';

const N = Math.max(100, Number(process.env.BENCH_N ?? 100));
const ANCHOR_N = Number(process.env.BENCH_ANCHOR_N ?? 30);
const run = promisify(execFile);

/** Arrival times of announcements in the peer's RIB, from `gobgp monitor global rib -j`. */
class RibWatch {
  private readonly child: ChildProcess;
  private readonly arrived = new Map<string, number>();
  private readonly waiters = new Map<string, (t: number) => void>();

  constructor(lab: PeerLab, family: GobgpFamily) {
    this.child = spawn('ip', [
      'netns',
      'exec',
      lab.peer.name,
      'gobgp',
      '-p',
      '50051',
      'monitor',
      'global',
      'rib',
      '-a',
      family,
      '-j',
    ]);
    let pending = '';
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      const now = performance.now();
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.trim().startsWith('[')) continue;
        for (const path of JSON.parse(line) as {
          nlri?: { prefix?: string; value?: { type: number; value: { prefix?: string } }[] };
          withdrawal?: boolean;
        }[]) {
          if (path.withdrawal) continue;
          const prefix = path.nlri?.prefix ?? path.nlri?.value?.find((c) => c.type === 1)?.value.prefix;
          if (!prefix) continue;
          this.arrived.set(prefix, now);
          this.waiters.get(prefix)?.(now);
        }
      }
    });
  }

  /** Resolves with the arrival time of `prefix` (or rejects after the deadline). */
  when(prefix: string, timeoutMs = 10_000): Promise<number> {
    const t = this.arrived.get(prefix);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${prefix} did not reach the peer's RIB within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.set(prefix, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  async ready(): Promise<void> {
    await new Promise((r) => setTimeout(r, 500));
  }

  stop(): void {
    this.child.kill();
  }
}

interface Series {
  n: number;
  p50: number;
  p99: number;
  max: number;
}
const series = (xs: number[]): Series => ({
  n: xs.length,
  p50: round(percentile(xs, 50)),
  p99: round(percentile(xs, 99)),
  max: round(Math.max(...xs)),
});

const host4 = (net: string, i: number) => `${net}.${i}/32`;

async function timed(
  watch: RibWatch,
  prefix: string,
  act: () => Promise<unknown>,
): Promise<{ toRib: number; call: number }> {
  const t0 = performance.now();
  const arrival = watch.when(prefix);
  await act();
  const call = performance.now() - t0;
  return { toRib: (await arrival) - t0, call };
}

async function benchExabgp(): Promise<Record<string, unknown>> {
  const lab = await makeLab('bxa', { speakerAs: 65000, peerAs: 65001 });
  const daemons = [];
  let action: ExabgpAction | undefined;
  const watch = new RibWatch(lab, 'ipv4-flowspec');
  try {
    const socket = join(lab.dir, 'ft.sock');
    const conf = join(lab.dir, 'exabgp.conf');
    writeFileSync(conf, exabgpConf(socket, { local: 65000, peer: 65001 }));
    mkdirSync(join(lab.dir, 'run'));
    await run('mkfifo', [join(lab.dir, 'run', 'exabgp.in'), join(lab.dir, 'run', 'exabgp.out')]);
    daemons.push(startExabgp(lab, conf, { 'exabgp.api.cli': 'true' }, ['--root', lab.dir]));
    await lab.gobgp.waitEstablished();
    await watch.ready();
    action = new ExabgpAction(exabgpConfigSchema.parse({ socket, tagAsn: 65000 }), context('bench-exabgp', lab.dir));
    await action.health();
    const ft = { toRib: [] as number[], call: [] as number[] };
    const rules = [];
    for (let i = 1; i <= N; i++) {
      const rule = flow(
        {
          destination: host4(i <= 200 ? '203.0.113' : '198.51.100', ((i - 1) % 200) + 1),
          protocols: [17],
          sourcePorts: [{ min: 53, max: 53 }],
        },
        { type: 'discard' },
      );
      rules.push(rule);
      const t = await timed(watch, rule.match.destination.toString(), () => (action as ExabgpAction).apply(rule));
      ft.toRib.push(t.toRib);
      ft.call.push(t.call);
    }
    for (const r of rules) await action.withdraw(r);
    const anchor: number[] = [];
    for (let i = 1; i <= ANCHOR_N; i++) {
      const prefix = host4('192.0.2', 100 + i);
      const t = await timed(watch, prefix, () =>
        run('ip', [
          'netns',
          'exec',
          lab.speaker.name,
          'exabgpcli',
          '--root',
          lab.dir,
          `announce flow route { match { destination ${prefix}; protocol udp; source-port =53; } then { discard; } }`,
        ]),
      );
      anchor.push(t.toRib);
    }
    return result('exabgp', ft, anchor, 'exabgpcli announce flow route');
  } finally {
    watch.stop();
    await action?.close();
    await stopAll(daemons);
    await lab.cleanup();
  }
}

async function benchBird(): Promise<Record<string, unknown>> {
  const lab = await makeLab('bxb', { speakerAs: 65000, peerAs: 65001 });
  const daemons = [];
  const watch = new RibWatch(lab, 'ipv4-flowspec');
  try {
    const include = join(lab.dir, 'ft.conf');
    const anchorInclude = join(lab.dir, 'by-hand.conf');
    const socket = join(lab.dir, 'bird.ctl');
    const conf = join(lab.dir, 'bird.conf');
    writeFileSync(include, '');
    writeFileSync(anchorInclude, 'protocol static by_hand { flow4 { table flowtab4; };\n');
    writeFileSync(
      conf,
      birdConf(include, { local: 65000, peer: 65001 })
        .replace(`include "${include}";`, `include "${include}";\ninclude "${anchorInclude}";`)
        .replace('export where proto = "ft_flow4"', 'export where proto = "ft_flow4" || proto = "by_hand"'),
    );
    // The anchor's file must parse when BIRD starts: close its protocol block, re-opened on each edit below.
    appendFileSync(anchorInclude, '}\n');
    daemons.push(startBird(lab, conf, socket));
    await lab.gobgp.waitEstablished();
    await watch.ready();
    const action = new BirdAction(
      birdConfigSchema.parse({ socket, includeFile: include, tagAsn: 65000 }),
      context('bench-bird', lab.dir),
    );
    const ft = { toRib: [] as number[], call: [] as number[] };
    const rules = [];
    for (let i = 1; i <= N; i++) {
      const rule = flow(
        {
          destination: host4(i <= 200 ? '203.0.113' : '198.51.100', ((i - 1) % 200) + 1),
          protocols: [17],
          sourcePorts: [{ min: 53, max: 53 }],
        },
        { type: 'discard' },
      );
      rules.push(rule);
      const t = await timed(watch, rule.match.destination.toString(), () => action.apply(rule));
      ft.toRib.push(t.toRib);
      ft.call.push(t.call);
    }
    for (const r of rules) await action.withdraw(r);
    const anchor: number[] = [];
    const lines: string[] = [];
    for (let i = 1; i <= ANCHOR_N; i++) {
      const prefix = host4('192.0.2', 100 + i);
      lines.push(
        `  route flow4 { dst ${prefix}; proto 17; sport 53; } { bgp_ext_community.add((generic, 0x80060000, 0x0)); };`,
      );
      const t = await timed(watch, prefix, async () => {
        writeFileSync(anchorInclude, `protocol static by_hand { flow4 { table flowtab4; };\n${lines.join('\n')}\n}\n`);
        await run('birdc', ['-s', socket, 'configure']);
      });
      anchor.push(t.toRib);
    }
    return result('bird', ft, anchor, 'static route appended by hand + birdc configure');
  } finally {
    watch.stop();
    await stopAll(daemons);
    await lab.cleanup();
  }
}

async function benchFrr(): Promise<Record<string, unknown>> {
  const AS = 65000;
  const lab = await makeLab('bxf', { speakerAs: AS, peerAs: AS });
  let daemons: Awaited<ReturnType<typeof startFrr>> = [];
  const watch = new RibWatch(lab, 'ipv4');
  let action: FrrAction | undefined;
  try {
    const vty = join(lab.dir, 'frr');
    writeFrrConfig(lab, vty, AS);
    daemons = await startFrr(lab, vty);
    await lab.gobgp.waitEstablished();
    await watch.ready();
    const cfg = frrConfigSchema.parse({ asn: AS, vtySocket: vty, resyncIntervalMs: 0 });
    action = new FrrAction(cfg, context('bench-frr', lab.dir));
    const ft = { toRib: [] as number[], call: [] as number[] };
    const rules = [];
    for (let i = 1; i <= N; i++) {
      const rule = rtbh(host4(i <= 200 ? '203.0.113' : '198.51.100', ((i - 1) % 200) + 1));
      rules.push(rule);
      const t = await timed(watch, rule.target.toString(), () => (action as FrrAction).apply(rule));
      ft.toRib.push(t.toRib);
      ft.call.push(t.call);
    }
    for (const r of rules) await action.withdraw(r);
    const anchor: number[] = [];
    for (let i = 1; i <= ANCHOR_N; i++) {
      const prefix = host4('192.0.2', 100 + i);
      const cmds = renderRtbh(rtbh(prefix), {
        asn: AS,
        tagAsn: AS,
        staticTag: 666,
        routeMapPrefix: 'BYHAND',
        nextHops: { ipv4: Prefix.parse('192.0.2.1'), ipv6: Prefix.parse('100::1') },
      }).announce;
      const t = await timed(watch, prefix, () =>
        run('vtysh', ['--vty_socket', vty, ...cmds.flatMap((c) => ['-c', c])]),
      );
      anchor.push(t.toRib);
    }
    return result('frr', ft, anchor, 'the same vtysh -c commands by hand');
  } finally {
    watch.stop();
    await action?.close();
    await stopAll(daemons);
    await lab.cleanup();
  }
}

function result(
  adapter: string,
  ft: { toRib: number[]; call: number[] },
  anchor: number[],
  anchorWhat: string,
): Record<string, unknown> {
  const toRib = series(ft.toRib);
  const a = series(anchor);
  return {
    adapter,
    applyToPeerRibMs: toRib,
    applyCallMs: series(ft.call),
    anchor: { what: anchorWhat, ...a },
    ratioP50: round(toRib.p50 / a.p50),
    ratioP99: round(toRib.p99 / a.p99),
  };
}

const loadBefore = loadavg();
const results = [];
for (const [name, fn] of [
  ['exabgp', benchExabgp],
  ['bird', benchBird],
  ['frr', benchFrr],
] as const) {
  if (process.env.BENCH_ONLY && !process.env.BENCH_ONLY.split(',').includes(name)) continue;
  results.push(await fn());
}
const line = results
  .map((r) => {
    const t = r.applyToPeerRibMs as Series;
    const a = r.anchor as Series;
    return `${r.adapter}: apply→peer RIB p50 ${t.p50} ms p99 ${t.p99} ms (anchor p50 ${a.p50} ms, ratio ${r.ratioP50}x)`;
  })
  .join('; ');
// Other work on the machine shows in the tails (p99): keep the load average beside the numbers.
writeResult(
  'bgp-speakers',
  {
    announcements: N,
    anchorAnnouncements: ANCHOR_N,
    goalP99Ms: { exabgp: 50, bird: 50 },
    loadAverage: { before: loadBefore, after: loadavg() },
    results,
  },
  `bgp speakers (${N} each, load ${loadBefore[0]?.toFixed(1)}): ${line}`,
);
