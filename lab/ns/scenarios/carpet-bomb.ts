// carpet-bomb through ft itself: a flood spread over all of 203.0.113.0/24 from the attacker namespace (hping3's
// random destinations), NTP-reflection-like (UDP from port 123, 508-byte packets), each host of the /24 far below
// its own 1 kpps threshold. edge-linux exports sFlow (or NetFlow v9) to `ft run` in ctl; the flow detector's
// exact /24 aggregate crosses its aggregate threshold, ft opens one incident for 203.0.113.0/24 (none for a
// host), plans a FlowSpec discard for the whole /24 with the attack's protocol and source port, checks RPKI,
// announces it through ctl's gobgpd; edge-linux's enforcer drops the flood; when the attack stops ft withdraws
// the rule. The timeline comes from ft's audit trail and the scenario's probes.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GobgpClient, FAMILIES } from '@ft/bgp-gobgp';
import { ATTACKER, httpGet, nodeName, VICTIM } from '../lab.js';
import { Node, p2pAddresses } from '../topology.js';
import {
  backgroundFlood,
  interfaceWithAddress,
  nftCounters,
  readAudit,
  Recorder,
  sleep,
  startFtRun,
  startSfprobe,
  startSoftflowd,
  startStayrtr,
  until,
  watchEdge,
  writeVrps,
  type NsProcess,
  type ScenarioResult,
} from './common.js';
import { buildTimeline, labPolicy, type Export, type LabContext } from './udp-amplification.js';

/** Spoofed reflector addresses in the attacker's lab prefix, each spraying the whole /24. */
const REFLECTORS = ['198.51.100.20', '198.51.100.21'];
const ATTACKED = '203.0.113.0/24';
const RTR_PORT = 8282;
const COLLECTOR_PORTS = { sflow: 6343, netflow: 2055 } as const;

export async function carpetBomb(
  lab: LabContext,
  o: { ttlSeconds?: number; floodSeconds?: number; ppsPerSource?: number; export?: Export; windowMs?: number } = {},
): Promise<ScenarioResult> {
  const ttl = o.ttlSeconds ?? 20;
  const windowMs = o.windowMs ?? 100;
  const floodSeconds = o.floodSeconds ?? 8;
  const pps = o.ppsPerSource ?? 1500;
  const exporter = o.export ?? 'sflow';
  const port = COLLECTOR_PORTS[exporter];
  const ctl = new Node(nodeName(lab.prefix, 'ctl'));
  const edge = new Node(nodeName(lab.prefix, 'edge-linux'));
  const attacker = new Node(nodeName(lab.prefix, 'attacker'));
  const victim = new Node(nodeName(lab.prefix, 'victim'));
  for (const n of [ctl, edge, attacker, victim])
    if (!n.exists) throw new Error(`the lab is not up (${n.name} is missing): run \`ft lab up\` first`);

  const dir = join(lab.dir, 'scenario-carpet-bomb');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rec = new Recorder();
  const bgp = p2pAddresses(0);
  const stateDir = join(dir, 'state');
  const vrps = join(dir, 'vrps.json');
  writeVrps(vrps, [
    { prefix: '203.0.113.0/24', maxLength: 24, asn: 64500 },
    { prefix: '2001:db8:203::/48', maxLength: 48, asn: 64500 },
  ]);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, labPolicy(lab.dir, ttl, 'carpet-bomb.yaml'));
  const detectors = join(dir, 'detectors.yaml');
  writeFileSync(
    detectors,
    `edge: { detector: flow, windowMs: ${windowMs}, listeners: [{ protocol: auto, address: ${bgp.a4}, port: ${port} }], allowedExporters: [${bgp.b4}], protect: [203.0.113.0/24, "2001:db8:203::/48"] }\n`,
  );

  const procs: NsProcess[] = [];
  const probes: { remove(): void }[] = [];
  const edgeRib = await GobgpClient.create({ address: `unix://${join(lab.dir, 'edge-linux', 'api.sock')}` });
  let watching: ReturnType<typeof watchEdge> | undefined;
  let attackStart = 0;
  let attackEnd = 0;
  try {
    procs.push(await startStayrtr(ctl, dir, vrps, RTR_PORT));
    const atCollector = nftCounters(ctl, 'ft_lab_probe', { hook: 'input', rules: [`udp dport ${port}`] });
    // Flood packets reaching the victim's two addresses (the rest of the /24 has no host behind it).
    const atVictim = nftCounters(victim, 'ft_lab_probe', { hook: 'input', rules: ['udp sport 123'] });
    probes.push(atCollector, atVictim);
    const ftRun = await startFtRun(ctl, dir, { policy, detectors, stateDir });
    procs.push(ftRun);
    const ifname = interfaceWithAddress(edge, '198.51.100.1');
    const collector = `${bgp.a4}:${port}`;
    procs.push(
      exporter === 'sflow'
        ? startSfprobe(edge, dir, ifname, collector, bgp.b4, 10)
        : startSoftflowd(edge, dir, ifname, collector, 9),
    );
    const session = await until(
      async () => (await edgeRib.listPeers()).some((p) => JSON.stringify(p).includes('ESTABLISHED')),
      30_000,
      200,
    );
    rec.step('ctl ↔ edge-linux BGP session established', session !== undefined);
    rec.step(`HTTP to ${VICTIM} answers before the attack`, httpGet({ attacker }, VICTIM));
    await sleep(2500);

    watching = watchEdge({
      rec,
      edge,
      rib: edgeRib,
      family: FAMILIES['ipv4-flowspec'],
      routeMatch: ATTACKED,
      atCollector,
      attackStarted: () => attackStart > 0,
    });
    const attackerIf = interfaceWithAddress(attacker, ATTACKER);
    const victimBefore = atVictim.read()[0] ?? 0;
    const count = pps * floodSeconds;
    attackStart = Date.now();
    rec.mark(
      'attack start',
      attackStart,
      `${REFLECTORS.length} sources × ${pps} pps from UDP port 123 to random hosts of ${ATTACKED} (about ${Math.round((REFLECTORS.length * pps) / 256)} pps each), ≤ ${count} packets each, ≤ ${floodSeconds + 2} s`,
    );
    const flood = backgroundFlood(
      attacker,
      dir,
      REFLECTORS.map((src) => [
        'hping3',
        '--udp',
        '-q',
        '--rand-dest',
        '-I',
        attackerIf,
        '-a',
        src,
        '-s',
        '123',
        '-k',
        '-p',
        '9999',
        '-d',
        '480',
        '-c',
        String(count),
        '-i',
        `u${Math.round(1_000_000 / pps)}`,
        '203.0.113.x',
      ]),
      floodSeconds + 2,
    );
    const dropped = await until(
      () => rec.seen('first packet dropped at the edge') !== undefined,
      (floodSeconds + 2) * 1000,
      50,
    );
    rec.step(
      `ft announced a FlowSpec rule for ${ATTACKED} and the edge drops the flood while it lasts`,
      dropped !== undefined,
      dropped !== undefined
        ? `${dropped - attackStart} ms after the attack started`
        : "no packet counted by the enforcer's rule",
    );
    await sleep(300);
    const victimAtEnforce = atVictim.read()[0] ?? 0;
    await flood.done;
    attackEnd = Date.now();
    rec.mark('attack end', attackEnd);
    const victimAfter = atVictim.read()[0] ?? 0;
    rec.step(
      'no flood packet reached the victim once the edge enforced the rule',
      dropped !== undefined && victimAfter === victimAtEnforce,
      `${victimAtEnforce - victimBefore} reached it before, ${victimAfter - victimAtEnforce} after; ${watching.dropped()} dropped at the edge`,
    );
    const withdrawnBy = ttl * 1000 + 10_000;
    const gone = await until(
      () =>
        rec.seen('nft rule removed at the edge') !== undefined &&
        rec.seen('FlowSpec route gone from the edge RIB') !== undefined,
      withdrawnBy,
      100,
    );
    rec.step(
      `rule withdrawn from the edge RIB and nftables after the attack stopped, within its ${ttl} s TTL`,
      gone !== undefined,
      gone !== undefined ? `${gone - attackEnd} ms after the attack ended` : `still there ${withdrawnBy} ms after`,
    );
    await watching.stop();
    rec.step('ft run still running: the withdrawal came from its lifecycle, not from its shutdown', ftRun.running);
  } finally {
    await watching?.stop();
    for (const p of procs.reverse()) await p.stop(65_000);
    for (const p of probes) p.remove();
    edgeRib.close();
  }

  const audit = readAudit(stateDir);
  const timeline = buildTimeline(rec, audit, attackStart);
  const incidents = audit.filter((a) => a.op === 'incident' && a.incident && a.incident.state === 'open');
  const targets = [...new Set(incidents.map((a) => String(a.incident!.target)))].sort();
  rec.step(
    `ft opened an incident for ${ATTACKED} and none for a single host (each stayed under its own threshold)`,
    targets.length === 1 && targets[0] === ATTACKED,
    `incident targets: ${targets.join(', ') || 'none'}`,
  );
  const inc = incidents.find((a) => String(a.incident!.target) === ATTACKED)?.incident;
  rec.step(
    'ft classified it as a UDP flood with vector ntp',
    inc?.attack_family === 'udp_flood' && (inc.vector ?? []).includes('ntp'),
    inc ? `${inc.attack_family}, vector ${(inc.vector ?? []).join(',') || 'none'}` : 'no incident',
  );
  const add = audit.find((a) => a.op === 'add' && a.phase === 'start');
  rec.step(
    `the rule is a FlowSpec discard for ${ATTACKED}, RPKI Valid`,
    add?.rule?.kind === 'flowspec' &&
      String(add.rule.target) === ATTACKED &&
      (add.rpki?.state === 'valid' || add.rpki?.state === 'Valid'),
    add?.rule ? `${add.rule.kind} ${String(add.rule.target)}, RPKI ${add.rpki?.state ?? '?'}` : 'no rule planned',
  );
  rec.step('no RTBH for the whole prefix', !audit.some((a) => a.rule?.kind === 'rtbh'));
  for (const e of ['incident open', 'plan: FlowSpec discard', 'announced', 'withdrawn'])
    rec.step(
      `audit trail has: ${e}`,
      timeline.some((t) => t.event === e && t.source === 'audit'),
    );
  return {
    scenario: 'carpet-bomb',
    ok: rec.ok,
    steps: rec.steps,
    timeline,
    settings: {
      ttlSeconds: ttl,
      floodSeconds,
      ppsPerSource: pps,
      collectorWindowMs: windowMs,
      sources: REFLECTORS,
      attacked: ATTACKED,
      export: exporter === 'sflow' ? 'sFlow v5 (pmacctd sfprobe, 1:10)' : 'NetFlow v9 (softflowd, 1 s timeouts)',
      policy: 'lab/policies/carpet-bomb.yaml',
    },
  };
}
