// GoBGP adapter and FlowSpec enforcer latency, in the namespace lab (root needed).
// 1. apply() → the route is in the edge gobgpd's adj-in (seen on the edge's WatchEvent stream), p50/p99 over
//    BENCH_ROUTES (default 120) announcements. Anchor: the `gobgp` CLI adding the identical path to the same
//    gobgpd, measured the same way in the same run; ratio = ft / CLI. Goal: p99 ≤ 50 ms.
// 2. apply() → attack packets stop at edge-linux (the enforcer's nft rule), under a bounded UDP flood from
//    source port 53, over BENCH_STOPS (default 10) announce/withdraw rounds.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeRule, Prefix, type FlowSpecRule, type PluginContext, type RuleId } from '@ft/sdk';
import { GobgpAction, GobgpClient, gobgpConfigSchema, renderFlowSpec, taggedRuleId } from '@ft/bgp-gobgp';
import { FlowSpecEnforcer } from '@ft/flowspec-enforcer';
import { labUp, victimCounter, VICTIM, edgeFlowspecRules } from '../ns/lab.js';
import { median, percentile, round, writeResult } from './lib.js';

const ROUTES = Number(process.env.BENCH_ROUTES ?? 120);
const STOPS = Number(process.env.BENCH_STOPS ?? 10);
const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};
const ctx = {
  name: 'bench',
  logger: silent,
  secret: () => {
    throw new Error('none');
  },
} as unknown as PluginContext;
const now = () => Number(process.hrtime.bigint()) / 1e6;

function rule(i: number, port: number, dstText = `203.0.113.${i % 250}/32`): FlowSpecRule {
  const dst = Prefix.parse(dstText);
  return makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant: `bench${i}`,
    target: dst,
    level: 2,
    ttlSeconds: 60,
    match: { destination: dst, protocols: [17], sourcePorts: [{ min: port, max: port }] },
    action: { type: 'discard' },
  });
}

const lab = await labUp({
  prefix: `ftb${randomBytes(2).toString('hex')}`,
  dir: mkdtempSync(join(tmpdir(), 'ft-bench-gobgp-')),
});
const action = new GobgpAction(gobgpConfigSchema.parse({ address: lab.ctlGobgp.api, tagAsn: 64500 }), ctx);
const edge = await GobgpClient.create({ address: lab.edgeGobgp.api });
let enforcer: FlowSpecEnforcer | undefined;
try {
  const t0 = Date.now();
  while ((await action.health()).status !== 'ok') {
    if (Date.now() - t0 > 30_000) throw new Error('BGP session did not come up');
    await new Promise((r) => setTimeout(r, 100));
  }

  // Arrivals at the edge, by ft rule id (the tag travels with the route).
  const waiting = new Map<string, (t: number) => void>();
  const stopWatch = edge.watch(
    { table: 'ADJIN' },
    (e) => {
      if (e.type !== 'table') return;
      const t = now();
      for (const p of e.paths) {
        const id = p.isWithdraw ? undefined : taggedRuleId(p.pattrs, 64500);
        if (id) waiting.get(id)?.(t);
      }
    },
    () => undefined,
  );
  await new Promise((r) => setTimeout(r, 300));
  const arrival = (id: RuleId) =>
    new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} never reached the edge`)), 5000);
      waiting.set(id, (t) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(t);
      });
    });

  const ft: number[] = [];
  const cli: number[] = [];
  for (let i = 0; i < ROUTES; i++) {
    const a = rule(i, 1000 + i);
    const seen = arrival(a.id);
    const start = now();
    await action.apply(a);
    ft.push((await seen) - start);

    // The anchor: the same kind of announcement (a different rule, so nothing is deduplicated) by the CLI.
    const b = rule(i, 30000 + i);
    const args = renderFlowSpec(b, { tagAsn: 64500, nextHop4: '192.0.2.1', nextHop6: '100::1' }).cliArgs;
    const seenB = arrival(b.id);
    const startB = now();
    const r = spawnSync('gobgp', ['--target', lab.ctlGobgp.api, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gobgp CLI failed: ${r.stderr}`);
    cli.push((await seenB) - startB);
  }
  stopWatch();
  for (const ref of await action.list()) await action.withdraw(ref);

  // Enforcement: how long after apply() the flood stops reaching the victim.
  enforcer = new FlowSpecEnforcer({
    gobgp: lab.edgeGobgp.api,
    peer: lab.ctlAddress,
    netns: lab.edge.name,
    logger: silent,
  });
  await enforcer.start();
  const counter = victimCounter(lab, 53);
  counter.install();
  const stops: number[] = [];
  for (let round_ = 0; round_ < STOPS; round_++) {
    // 1 packet/ms for at most 4 s, from source port 53 (bounded in packets and time).
    const floodProc = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.attacker.name,
        'timeout',
        '6',
        'hping3',
        '--udp',
        '-q',
        '-s',
        '53',
        '-k',
        '-p',
        '9999',
        '-c',
        '4000',
        '-i',
        'u1000',
        VICTIM,
      ],
      { stdio: 'ignore' },
    );
    await new Promise((r) => setTimeout(r, 400));
    const d = rule(round_, 53, `${VICTIM}/32`);
    const start = now();
    await action.apply(d);
    let last = counter.read();
    let lastChange = now();
    while (now() - lastChange < 150 && now() - start < 3000) {
      // Yield between reads: the enforcer runs in this process and must get its turn.
      await new Promise((r) => setTimeout(r, 2));
      const c = counter.read();
      if (c !== last) {
        last = c;
        lastChange = now();
      }
    }
    stops.push(lastChange - start);
    await action.withdraw(d);
    while ((edgeFlowspecRules(lab) ?? []).length > 0) await new Promise((r) => setTimeout(r, 20));
    floodProc.kill('SIGKILL');
    await new Promise((r) => floodProc.on('exit', r));
  }

  const result = {
    routes: ROUTES,
    applyToPeerRibMs: { p50: round(median(ft)), p99: round(percentile(ft, 99)), max: round(Math.max(...ft)) },
    anchorGobgpCliToPeerRibMs: { p50: round(median(cli)), p99: round(percentile(cli, 99)) },
    ratioP50: round(median(ft) / median(cli)),
    ratioP99: round(percentile(ft, 99) / percentile(cli, 99)),
    goalP99Ms: 50,
    enforcerRounds: STOPS,
    applyToAttackStoppedMs: {
      p50: round(median(stops)),
      p99: round(percentile(stops, 99)),
      max: round(Math.max(...stops)),
    },
  };
  writeResult(
    'bgp-gobgp',
    result,
    `gobgp apply→peer RIB p50 ${result.applyToPeerRibMs.p50} ms p99 ${result.applyToPeerRibMs.p99} ms over ${ROUTES} ` +
      `(gobgp CLI p50 ${result.anchorGobgpCliToPeerRibMs.p50} ms p99 ${result.anchorGobgpCliToPeerRibMs.p99} ms; ratio p50 ${result.ratioP50}x, p99 ${result.ratioP99}x; goal p99 ≤ 50 ms); ` +
      `apply→attack stopped at edge p50 ${result.applyToAttackStoppedMs.p50} ms p99 ${result.applyToAttackStoppedMs.p99} ms over ${STOPS}`,
  );
} finally {
  await enforcer?.stop();
  edge.close();
  await action.close();
  await lab.teardown();
}
