// escalation (and crash): a flood that grows past each level of lab/policies/escalation.yaml walks FlowSpec
// rate-limit → FlowSpec discard → RTBH, and everything is withdrawn after it stops. edge-linux enforces FlowSpec
// (nftables); edge-frr, a second edge hung off ctl for this scenario, turns the RTBH route into a kernel
// blackhole route. `crash` kills ft with SIGKILL once RTBH is live, starts it again on the same state, and checks
// that reconcile leaves exactly the rules that should be live on ctl's gobgpd, then that the end is clean.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GobgpClient, FAMILIES } from '@ft/bgp-gobgp';
import { addEdge, nodeName, REPO, VICTIM } from '../lab.js';
import { Node, p2pAddresses } from '../topology.js';
import {
  backgroundFlood,
  interfaceWithAddress,
  NsProcess,
  readAudit,
  Recorder,
  rulesCounters,
  sleep,
  startFtRun,
  startSfprobe,
  startStayrtr,
  until,
  writeVrps,
  type ScenarioResult,
} from './common.js';
import { buildTimeline, type LabContext } from './udp-amplification.js';

const FRR = '/usr/lib/frr';
const FRR_ASN = 64502;
const FRR_LINK = 1;
const DISCARD_NEXT_HOP = '192.0.2.66';
/**
 * The flood's stages: more spoofed sources, then each sending faster. hping3's pacing is coarse (-i u1000 ≈ 600
 * pps per process as ft measures it, u200 ≈ 1300), so the stages are ≈ 1.2, ≈ 4.8 and ≈ 15 kpps against the
 * policy's 0.5 / 3 / 8 kpps levels: each stage at least 1.6× away from the levels around it, because escalation
 * follows the first window over a trigger and hping3 starts with a burst.
 */
const STAGES = [
  { sources: 2, interval: 1000 },
  { sources: 8, interval: 1000 },
  { sources: 12, interval: 200 },
];
const source = (i: number) => `198.51.100.${30 + i}`;

async function startFrr(
  node: Node,
  dir: string,
  vty: string,
  ctlAddress: string,
  edgeAddress: string,
): Promise<NsProcess[]> {
  // The daemons drop to the frr user: their directory must be reachable and writable for it, whatever the
  // permissions of the lab directory's parents (a test's mkdtemp home is 0700).
  chmodSync(vty, 0o777);
  writeFileSync(join(vty, 'zebra.conf'), 'hostname ft-lab-edge-frr\n');
  // RTBH as RFC 7999 has receivers do it, in FRR: the blackhole community sets a discard next hop routed to Null0.
  writeFileSync(join(vty, 'staticd.conf'), `ip route ${DISCARD_NEXT_HOP}/32 Null0\n`);
  writeFileSync(
    join(vty, 'bgpd.conf'),
    [
      `router bgp ${FRR_ASN}`,
      ` bgp router-id ${edgeAddress}`,
      ' no bgp ebgp-requires-policy',
      ` neighbor ${ctlAddress} remote-as 64500`,
      ` neighbor ${ctlAddress} timers connect 1`,
      ` neighbor ${ctlAddress} disable-connected-check`,
      ' address-family ipv4 unicast',
      `  neighbor ${ctlAddress} activate`,
      `  neighbor ${ctlAddress} route-map FT-RTBH-IN in`,
      ' exit-address-family',
      'exit',
      'bgp community-list standard FT-BLACKHOLE permit 64500:666',
      'route-map FT-RTBH-IN permit 10',
      ' match community FT-BLACKHOLE',
      ` set ip next-hop ${DISCARD_NEXT_HOP}`,
      'exit',
      'route-map FT-RTBH-IN permit 20',
      'exit',
      '',
    ].join('\n'),
  );
  const started: NsProcess[] = [];
  for (const name of ['zebra', 'staticd', 'bgpd']) {
    const p = new NsProcess(
      node,
      [
        join(FRR, name),
        '-u',
        'frr',
        '-g',
        'frr',
        '--vty_socket',
        vty,
        '-i',
        join(vty, `${name}.pid`),
        '-z',
        join(vty, 'zserv.api'),
        '-f',
        join(vty, `${name}.conf`),
        '-P',
        '0',
        '--log',
        'stdout',
      ],
      join(dir, `frr-${name}.log`),
    );
    started.push(p);
    const up = await until(() => existsSync(join(vty, `${name}.vty`)) || !p.running, 10_000, 50);
    if (up === undefined || !p.running)
      throw new Error(`FRR ${name} did not start in ${node.name} (see ${join(dir, `frr-${name}.log`)})`);
  }
  return started;
}

/** ft's tagged paths in ctl's gobgpd, as "family prefix" keys. */
async function ctlPaths(client: GobgpClient): Promise<string[]> {
  const out: string[] = [];
  for (const f of ['ipv4-flowspec', 'ipv4-unicast'] as const) {
    for (const p of await client.listPath('GLOBAL', FAMILIES[f]).catch(() => []))
      if (!p.isFromExternal && !p.isWithdraw) out.push(`${f} ${p.prefix}`);
  }
  return out.sort();
}

export async function escalation(
  lab: LabContext,
  o: { crash?: boolean; stageSeconds?: number } = {},
): Promise<ScenarioResult> {
  const name = o.crash ? 'crash' : 'escalation';
  const stageSeconds = o.stageSeconds ?? 5;
  const ctl = new Node(nodeName(lab.prefix, 'ctl'));
  const edge = new Node(nodeName(lab.prefix, 'edge-linux'));
  const attacker = new Node(nodeName(lab.prefix, 'attacker'));
  for (const n of [ctl, edge, attacker])
    if (!n.exists) throw new Error(`the lab is not up (${n.name} is missing): run \`ft lab up\` first`);
  const dir = join(lab.dir, `scenario-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rec = new Recorder();
  const bgp = p2pAddresses(0);
  const stateDir = join(dir, 'state');
  const vrps = join(dir, 'vrps.json');
  writeVrps(vrps, [{ prefix: '203.0.113.0/24', maxLength: 24, asn: 64500 }]);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    readFileSync(join(REPO, 'lab', 'policies', 'escalation.yaml'), 'utf8').replace(
      'unix:///tmp/ft-lab/ctl/api.sock',
      `unix://${join(lab.dir, 'ctl', 'api.sock')}`,
    ),
  );
  const detectors = join(dir, 'detectors.yaml');
  writeFileSync(
    detectors,
    `edge: { detector: flow, listeners: [{ address: ${bgp.a4}, port: 6343 }], allowedExporters: [${bgp.b4}], protect: [203.0.113.0/24] }\n`,
  );

  const procs: NsProcess[] = [];
  const ctlApi = `unix://${join(lab.dir, 'ctl', 'api.sock')}`;
  const ctlRib = await GobgpClient.create({ address: ctlApi });
  const frrNode = new Node(nodeName(lab.prefix, 'edge-frr'));
  const vty = mkdtempSync(join(tmpdir(), 'ft-lab-frr-'));
  let ftRun: NsProcess | undefined;
  let attackStart = 0;
  let polling = true;
  const levels: string[] = [];
  try {
    const frrLink = await addEdge(lab.prefix, 'edge-frr', FRR_LINK, { ctlApi, gobgpPeerAsn: FRR_ASN }).catch(
      async (err: Error) => {
        // A previous run of the scenario left the neighbor in ctl's gobgpd: the link is reused as it is.
        if (!/exist/i.test(err.message)) throw err;
        const a = p2pAddresses(FRR_LINK);
        return { node: frrNode, ctlAddress: a.a4, edgeAddress: a.b4 };
      },
    );
    procs.push(...(await startFrr(frrLink.node, dir, vty, frrLink.ctlAddress, frrLink.edgeAddress)));
    procs.push(await startStayrtr(ctl, dir, vrps, 8282));
    ftRun = await startFtRun(ctl, dir, { policy, detectors, stateDir });
    procs.push(ftRun);
    procs.push(startSfprobe(edge, dir, interfaceWithAddress(edge, '198.51.100.1'), `${bgp.a4}:6343`, bgp.b4, 1));
    const session = await until(
      () =>
        /"bgpState":\s*"Established"/.test(
          frrNode.exec(['vtysh', '--vty_socket', vty, '-c', 'show bgp neighbors json'], { allowFail: true }).stdout,
        ),
      30_000,
      250,
    );
    rec.step('ctl ↔ edge-frr BGP session established', session !== undefined);
    await sleep(2000);

    const watch = (async () => {
      while (polling) {
        const now = Date.now();
        const table = edge.exec(['nft', '-j', 'list', 'table', 'inet', 'ft_flowspec'], { allowFail: true });
        const text = table.status === 0 ? table.stdout : '';
        const rules = table.status === 0 ? rulesCounters(text) : [];
        const limit = /"limit"/.test(text);
        const state = rules.length === 0 ? 'none' : limit ? 'rate-limit' : 'discard';
        if (state !== 'none') rec.mark(`edge-linux enforces FlowSpec ${state}`, now);
        const route = frrNode.exec(['ip', 'route', 'show', `${VICTIM}/32`], { allowFail: true }).stdout;
        const blackhole = /blackhole/.test(route);
        if (blackhole) rec.mark("blackhole route in edge-frr's kernel", now);
        const current = `${state}${blackhole ? '+rtbh' : ''}`;
        if (levels[levels.length - 1] !== current) levels.push(current);
        await sleep(50);
      }
    })();

    attackStart = Date.now();
    rec.mark(
      'attack start',
      attackStart,
      `stages of ${STAGES.map((st) => `${st.sources} × hping3 -i u${st.interval}`).join(' → ')}, ${stageSeconds} s each`,
    );
    for (const [i, stage] of STAGES.entries()) {
      rec.mark(`stage ${i + 1}: ${stage.sources} sources × -i u${stage.interval}`, Date.now());
      const flood = backgroundFlood(
        attacker,
        dir,
        Array.from({ length: stage.sources }, (_, k) => [
          'hping3',
          '--udp',
          '-q',
          '-a',
          source(k),
          '-s',
          '53',
          '-k',
          '-p',
          '9999',
          '-d',
          '256',
          '-c',
          String(Math.ceil((stageSeconds * 1_000_000) / stage.interval)),
          '-i',
          `u${stage.interval}`,
          VICTIM,
        ]),
        stageSeconds,
      );
      if (o.crash && i === STAGES.length - 1) {
        // Kill ft -9 once RTBH is live, with the flood still running, and start it again on the same state.
        const rtbh = await until(
          () => rec.seen("blackhole route in edge-frr's kernel") !== undefined,
          stageSeconds * 1000,
          50,
        );
        rec.step('RTBH live before the crash', rtbh !== undefined);
        const before = await ctlPaths(ctlRib);
        await ftRun.stop(1000, 'SIGKILL');
        rec.mark('ft run killed with SIGKILL', Date.now(), `${before.length} paths in ctl's gobgpd`);
        rec.step(
          'the announcements outlive ft (gobgpd keeps them): nothing is lost while ft is down',
          (await ctlPaths(ctlRib)).length === before.length && before.length > 0,
          before.join(', '),
        );
        ftRun = await startFtRun(ctl, dir, { policy, detectors, stateDir });
        procs.push(ftRun);
        rec.mark('ft run restarted on the same state', Date.now());
        await sleep(1500);
        const live = JSON.parse(
          ctl.exec(
            [process.execPath, join(REPO, 'bin', 'run.js'), 'mitigate', 'list', '--json', '--state-dir', stateDir],
            { allowFail: true },
          ).stdout || '{}',
        ) as unknown;
        const liveRules = (Array.isArray(live) ? live : ((live as { rules?: unknown[] }).rules ?? [])) as {
          rule?: { kind: string; target: string };
          kind?: string;
          target?: string;
          phase?: string;
        }[];
        const want = liveRules
          .filter((r) => (r.phase ?? 'live') === 'live')
          .map((r) => `${(r.rule?.kind ?? r.kind) === 'rtbh' ? 'ipv4-unicast' : 'ipv4-flowspec'}`)
          .sort();
        const have = (await ctlPaths(ctlRib)).map((k) => k.split(' ')[0] as string).sort();
        rec.step(
          "after reconcile ctl's gobgpd holds exactly the rules ft's store calls live",
          JSON.stringify(want) === JSON.stringify(have) && have.includes('ipv4-unicast'),
          `store: ${want.join(', ') || 'none'}; gobgpd: ${(await ctlPaths(ctlRib)).join(', ') || 'none'}`,
        );
      }
      await flood.done;
    }
    const attackEnd = Date.now();
    rec.mark('attack end', attackEnd);
    if (!o.crash) {
      rec.step(
        'edge-linux enforced the FlowSpec rate-limit first',
        rec.seen('edge-linux enforces FlowSpec rate-limit') !== undefined,
      );
      rec.step(
        'then the FlowSpec discard',
        (rec.seen('edge-linux enforces FlowSpec discard') ?? 0) >
          (rec.seen('edge-linux enforces FlowSpec rate-limit') ?? Infinity),
      );
      rec.step(
        "then RTBH: a blackhole route for the victim in edge-frr's kernel",
        (rec.seen("blackhole route in edge-frr's kernel") ?? 0) >
          (rec.seen('edge-linux enforces FlowSpec discard') ?? Infinity),
      );
    }
    // A rule of an incident the killed run left open is withdrawn at its TTL (60 s) at the latest.
    const clean = await until(
      async () => (await ctlPaths(ctlRib)).length === 0 && levels[levels.length - 1] === 'none',
      o.crash ? 90_000 : 60_000,
      200,
    );
    rec.mark('everything withdrawn', clean ?? Date.now());
    rec.step(
      "after the attack everything is withdrawn: ctl's gobgpd, edge-linux's nftables, edge-frr's blackhole route",
      clean !== undefined,
      clean !== undefined
        ? `${clean - attackEnd} ms after the attack ended`
        : `left: ${(await ctlPaths(ctlRib)).join(', ')}; edge ${levels[levels.length - 1]}`,
    );
    polling = false;
    await watch;
  } finally {
    polling = false;
    for (const p of procs.reverse()) await p.stop(65_000);
    ctlRib.close();
    rmSync(vty, { recursive: true, force: true });
  }
  const audit = readAudit(stateDir);
  const adds = audit
    .filter((a) => a.op === 'add' && a.phase === 'start' && a.rule && String(a.rule.target) === `${VICTIM}/32`)
    .map((a) => `${a.rule?.kind}@${a.rule?.level ?? '?'}`);
  if (o.crash) rec.step('the audit trail shows RTBH was reached', adds.includes('rtbh@3'), adds.join(' → '));
  else
    rec.step(
      'the audit trail shows the walk up the levels',
      JSON.stringify(adds.slice(0, 3)) === JSON.stringify(['flowspec@1', 'flowspec@2', 'rtbh@3']),
      adds.join(' → '),
    );
  if (!rec.ok && ftRun)
    process.stderr.write(
      `--- ft run log (last lines) ---\n${ftRun
        .output()
        .split('\n')
        .filter((l) => !l.includes('planner refused'))
        .slice(-25)
        .join('\n')}\n`,
    );
  return {
    scenario: name,
    ok: rec.ok,
    steps: rec.steps,
    timeline: buildTimeline(rec, audit, attackStart),
    edgeStates: levels,
    settings: {
      stages: STAGES,
      stageSeconds,
      policy: 'lab/policies/escalation.yaml',
      export: 'sFlow v5 (pmacctd sfprobe, every packet)',
    },
  };
}
