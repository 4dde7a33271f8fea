// udp-amplification through ft itself: edge-linux exports NetFlow v9 (softflowd on its attacker-facing
// interface) to `ft run` in ctl (flow detector); ft detects and classifies the DNS-reflection-like flood, plans
// per lab/policies/lab.yaml, checks RPKI against a stayrtr in ctl, announces a FlowSpec discard through ctl's
// gobgpd; edge-linux's enforcer drops the flood while HTTP keeps working; when the attack stops and the TTL
// passes, ft withdraws the rule everywhere. The timeline comes from ft's audit trail and the scenario's probes.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GobgpClient, FAMILIES } from '@ft/bgp-gobgp';
import { ATTACKER, httpGet, nodeName, REPO, VICTIM, VICTIM_WEB2 } from '../lab.js';
import { Node, p2pAddresses } from '../topology.js';
import {
  backgroundFlood,
  interfaceWithAddress,
  startSfprobe,
  iso,
  nftCounters,
  readAudit,
  Recorder,
  sleep,
  startFtRun,
  startSoftflowd,
  startStayrtr,
  until,
  watchEdge,
  writeVrps,
  type AuditRow,
  type NsProcess,
  type ScenarioResult,
  type TimelineEntry,
} from './common.js';

export interface LabContext {
  prefix: string;
  dir: string;
}

/** Spoofed reflector addresses inside the attacker's lab prefix: "many sources", none of them the HTTP client. */
const REFLECTORS = ['198.51.100.10', '198.51.100.11', '198.51.100.12', '198.51.100.13'];
const RTR_PORT = 8282;
const NETFLOW_PORT = 2055;
const SFLOW_PORT = 6343;
export type Export = 'netflow' | 'sflow';

/** A lab policy pointed at this lab's ctl socket (FT_LAB_DIR may differ from /tmp/ft-lab) and TTL. */
export function labPolicy(dir: string, ttlSeconds: number, file = 'lab.yaml'): string {
  const text = readFileSync(join(REPO, 'lab', 'policies', file), 'utf8');
  return text
    .replace('unix:///tmp/ft-lab/ctl/api.sock', `unix://${join(dir, 'ctl', 'api.sock')}`)
    .replace(/^(\s*ttl:) 20s/m, `$1 ${ttlSeconds}s`);
}

export async function udpAmplification(
  lab: LabContext,
  o: { ttlSeconds?: number; floodSeconds?: number; ppsPerSource?: number; export?: Export; windowMs?: number } = {},
): Promise<ScenarioResult> {
  const ttl = o.ttlSeconds ?? 20;
  // 100 ms collector windows (rated over the trailing second): a flood is seen as soon as that second's traffic
  // crosses the threshold, instead of when a 1 s window closes. This is what the ≤ 1 s attack → drop goal needs.
  const windowMs = o.windowMs ?? 100;
  const floodSeconds = o.floodSeconds ?? 8;
  const pps = o.ppsPerSource ?? 1000;
  const exporter = o.export ?? 'sflow';
  const COLLECTOR_PORT = exporter === 'sflow' ? SFLOW_PORT : NETFLOW_PORT;
  const ctl = new Node(nodeName(lab.prefix, 'ctl'));
  const edge = new Node(nodeName(lab.prefix, 'edge-linux'));
  const attacker = new Node(nodeName(lab.prefix, 'attacker'));
  const victim = new Node(nodeName(lab.prefix, 'victim'));
  for (const n of [ctl, edge, attacker, victim])
    if (!n.exists) throw new Error(`the lab is not up (${n.name} is missing): run \`ft lab up\` first`);

  // Each run starts from an empty state directory: its audit trail is this run's timeline.
  const dir = join(lab.dir, 'scenario-udp-amplification');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rec = new Recorder();
  const bgp = p2pAddresses(0);
  const collector = `${bgp.a4}:${COLLECTOR_PORT}`;
  const stateDir = join(dir, 'state');
  const vrps = join(dir, 'vrps.json');
  writeVrps(vrps, [
    { prefix: '203.0.113.0/24', maxLength: 24, asn: 64500 },
    { prefix: '2001:db8:203::/48', maxLength: 48, asn: 64500 },
  ]);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, labPolicy(lab.dir, ttl));
  const detectors = join(dir, 'detectors.yaml');
  writeFileSync(
    detectors,
    [
      exporter === 'sflow'
        ? '# sFlow v5 from edge-linux (pmacctd sfprobe, 1:10).'
        : '# NetFlow v9 from edge-linux (softflowd), unsampled.',
      `edge: { detector: flow, windowMs: ${windowMs}, listeners: [{ protocol: auto, address: ${bgp.a4}, port: ${COLLECTOR_PORT} }], allowedExporters: [${bgp.b4}], protect: [203.0.113.0/24, "2001:db8:203::/48"] }`,
      '',
    ].join('\n'),
  );

  const procs: NsProcess[] = [];
  const probes: { remove(): void }[] = [];
  const edgeRib = await GobgpClient.create({ address: `unix://${join(lab.dir, 'edge-linux', 'api.sock')}` });
  let ftRun: NsProcess | undefined;
  let attackStart = 0;
  let attackEnd = 0;
  let watching: ReturnType<typeof watchEdge> | undefined;
  try {
    procs.push(await startStayrtr(ctl, dir, vrps, RTR_PORT));
    // Datagrams reaching ctl's collector port, and flood packets reaching the victim.
    const atCollector = nftCounters(ctl, 'ft_lab_probe', { hook: 'input', rules: [`udp dport ${COLLECTOR_PORT}`] });
    const atVictim = nftCounters(victim, 'ft_lab_probe', { hook: 'input', rules: ['udp sport 53'] });
    probes.push(atCollector, atVictim);
    ftRun = await startFtRun(ctl, dir, { policy, detectors, stateDir });
    procs.push(ftRun);
    const ifname = interfaceWithAddress(edge, '198.51.100.1');
    procs.push(
      exporter === 'sflow'
        ? startSfprobe(edge, dir, ifname, collector, bgp.b4, 10)
        : startSoftflowd(edge, dir, ifname, collector, 9),
    );

    const session = await until(
      async () =>
        (await edgeRib.listPeers()).some(
          (p) =>
            (p as { state?: { sessionState?: string; session_state?: string } }).state?.session_state ===
              'ESTABLISHED' || JSON.stringify(p).includes('ESTABLISHED'),
        ),
      30_000,
      200,
    );
    rec.step('ctl ↔ edge-linux BGP session established', session !== undefined);
    rec.step(`HTTP to ${VICTIM} answers before the attack`, httpGet({ attacker }, VICTIM));
    // Let ft's engine see a quiet window or two, and softflowd export the HTTP flows, before the flood.
    await sleep(2500);

    // Watch everything the timeline needs while the attack runs, every 25 ms.
    const watch = watchEdge({
      rec,
      edge,
      rib: edgeRib,
      family: FAMILIES['ipv4-flowspec'],
      routeMatch: VICTIM,
      atCollector,
      attackStarted: () => attackStart > 0,
    });
    watching = watch;

    const victimBefore = atVictim.read()[0] ?? 0;
    const count = pps * floodSeconds;
    attackStart = Date.now();
    rec.mark(
      'attack start',
      attackStart,
      `${REFLECTORS.length} sources × ${pps} pps from UDP port 53, ≤ ${count} packets each, ≤ ${floodSeconds + 2} s`,
    );
    const flood = backgroundFlood(
      attacker,
      dir,
      REFLECTORS.map((src) => [
        'hping3',
        '--udp',
        '-q',
        '-a',
        src,
        '-s',
        '53',
        '-k',
        '-p',
        '9999',
        '-d',
        '512',
        '-c',
        String(count),
        '-i',
        `u${Math.round(1_000_000 / pps)}`,
        VICTIM,
      ]),
      floodSeconds + 2,
    );

    const dropped = await until(
      () => rec.seen('first packet dropped at the edge') !== undefined,
      (floodSeconds + 2) * 1000,
      50,
    );
    rec.step(
      'ft announced a FlowSpec rule and the edge drops the flood while it lasts',
      dropped !== undefined,
      dropped !== undefined
        ? `${dropped - attackStart} ms after the attack started`
        : "no packet counted by the enforcer's rule",
    );
    // Legitimate traffic while the flood is being dropped: HTTP from the attacker's own (unspoofed) address.
    if (dropped !== undefined) {
      rec.step(
        `HTTP to ${VICTIM} (the attacked address) still answers during the attack`,
        httpGet({ attacker }, VICTIM),
      );
      rec.step(`HTTP to ${VICTIM_WEB2} still answers during the attack`, httpGet({ attacker }, VICTIM_WEB2));
    }
    // Packets reaching the victim once the rule was in place (after 300 ms of slack for in-flight packets).
    await sleep(300);
    const victimAtEnforce = atVictim.read()[0] ?? 0;
    await flood.done;
    attackEnd = Date.now();
    rec.mark('attack end', attackEnd);
    const victimAfter = atVictim.read()[0] ?? 0;
    const passedAfterEnforce = victimAfter - victimAtEnforce;
    rec.step(
      'no flood packet reached the victim once the edge enforced the rule',
      dropped !== undefined && passedAfterEnforce === 0,
      `${victimAfter - victimBefore} reached it before, ${passedAfterEnforce} after; ${watch.dropped()} dropped at the edge`,
    );

    // ft resolves the incident once the attack stayed quiet, withdraws the rule after the policy's cooldown, and
    // in any case when its TTL runs out: the rule must be gone from the edge's RIB and nftables by then.
    const withdrawnBy = ttl * 1000 + 10_000;
    const gone = await until(
      () =>
        rec.seen('nft rule removed at the edge') !== undefined &&
        rec.seen('FlowSpec route gone from the edge RIB') !== undefined,
      withdrawnBy,
      100,
    );
    const goneAt = Math.max(
      rec.seen('nft rule removed at the edge') ?? 0,
      rec.seen('FlowSpec route gone from the edge RIB') ?? 0,
    );
    rec.step(
      `rule withdrawn from the edge RIB and nftables after the attack stopped, within its ${ttl} s TTL`,
      gone !== undefined && goneAt > attackEnd - 1000,
      gone !== undefined
        ? `${goneAt - attackEnd} ms after the attack ended`
        : `still there ${withdrawnBy} ms after the attack ended`,
    );
    await watch.stop();
    rec.step('ft run still running: the withdrawal came from its lifecycle, not from its shutdown', ftRun.running);
  } finally {
    await watching?.stop();
    for (const p of procs.reverse()) await p.stop(65_000);
    for (const p of probes) p.remove();
    edgeRib.close();
  }

  const audit = readAudit(stateDir);
  const timeline = buildTimeline(rec, audit, attackStart);
  const expect = (event: string) =>
    rec.step(
      `audit trail has: ${event}`,
      timeline.some((t) => t.event === event && t.source === 'audit'),
    );
  const incident = audit.find((a) => a.op === 'incident' && a.incident && String(a.incident.target) === `${VICTIM}/32`);
  // ft names a UDP flood from port 53 with the reference product's family dns_flood; the vector says why.
  rec.step(
    'ft classified the attack as a UDP (DNS reflection) flood with vector dns',
    ['udp_flood', 'dns_flood'].includes(incident?.incident?.attack_family ?? '') &&
      (incident?.incident?.vector ?? []).includes('dns'),
    incident?.incident
      ? `${incident.incident.attack_family}, vector ${(incident.incident.vector ?? []).join(',') || 'none'}`
      : 'no incident in the audit trail',
  );
  for (const e of ['incident open', 'plan: FlowSpec discard', 'announced', 'withdrawn']) expect(e);
  const add = audit.find((a) => a.op === 'add' && a.phase === 'start');
  rec.step(
    'RPKI verdict on the announcement was Valid',
    add?.rpki?.state === 'valid' || add?.rpki?.state === 'Valid',
    add?.rpki ? `${add.rpki.state}${add.rpki.reason ? `: ${add.rpki.reason}` : ''}` : 'no verdict recorded',
  );
  if (ftRun) {
    const log = ftRun.output();
    if (!rec.ok) process.stderr.write(`--- ft run log (last lines) ---\n${log.split('\n').slice(-30).join('\n')}\n`);
  }
  return {
    scenario: 'udp-amplification',
    ok: rec.ok,
    steps: rec.steps,
    timeline,
    settings: {
      ttlSeconds: ttl,
      floodSeconds,
      ppsPerSource: pps,
      collectorWindowMs: windowMs,
      sources: REFLECTORS,
      export: exporter === 'sflow' ? 'sFlow v5 (pmacctd sfprobe, 1:10)' : 'NetFlow v9 (softflowd, 1 s timeouts)',
      policy: 'lab/policies/lab.yaml',
    },
    ...(ATTACKER ? { httpClient: ATTACKER } : {}),
  };
}

/** Probes and audit records on one clock, in order, relative to the attack start. */
export function buildTimeline(rec: Recorder, audit: AuditRow[], attackStart: number): TimelineEntry[] {
  const out: TimelineEntry[] = rec.probes.map((p) => ({
    event: p.event,
    at: iso(p.at),
    source: 'probe' as const,
    ...(p.detail ? { detail: p.detail } : {}),
  }));
  for (const a of audit) {
    const detail = a.rule ? `${a.rule.kind} ${String(a.rule.target)}${a.ruleId ? ` (${a.ruleId})` : ''}` : a.message;
    if (a.op === 'incident' && a.incident) {
      const event = a.incident.state === 'resolved' ? 'incident resolved' : 'incident open';
      if (
        event === 'incident open' &&
        out.some((t) => t.event === event && t.detail?.startsWith(String(a.incident?.target)))
      )
        continue;
      out.push({
        event,
        at: a.at,
        source: 'audit',
        detail:
          `${String(a.incident.target)} ${a.incident.attack_family} ${(a.incident.vector ?? []).join(',')}`.trim(),
      });
    } else if (a.op === 'add' && a.phase === 'start') {
      const kind = a.rule?.kind;
      const what =
        kind === 'rtbh'
          ? 'RTBH'
          : kind === 'flowspec'
            ? `FlowSpec ${a.rule?.action?.type ?? 'discard'}`
            : kind === 'host-filter'
              ? 'host rule'
              : String(kind);
      out.push({ event: `plan: ${what}`, at: a.at, source: 'audit', ...(detail ? { detail } : {}) });
      if (a.rpki)
        out.push({
          event: 'RPKI verdict',
          at: a.at,
          source: 'audit',
          detail: `${a.rpki.state}${a.rpki.reason ? `: ${a.rpki.reason}` : ''}`,
        });
    } else if (a.op === 'add' && a.phase === 'end') {
      out.push({
        event: a.outcome === 'ok' ? 'announced' : `announcement ${a.outcome ?? '?'}`,
        at: a.at,
        source: 'audit',
        ...(detail ? { detail } : {}),
      });
    } else if (a.op === 'refresh' && a.phase === 'end') {
      if (!out.some((t) => t.event === 'TTL refreshed'))
        out.push({ event: 'TTL refreshed', at: a.at, source: 'audit' });
    } else if (a.op === 'withdraw' && a.phase === 'end') {
      out.push({
        event: a.outcome === 'ok' ? 'withdrawn' : `withdraw ${a.outcome ?? '?'}`,
        at: a.at,
        source: 'audit',
        ...(detail ? { detail } : {}),
      });
    }
  }
  return out
    .map((t) => ({ ...t, ...(attackStart ? { sinceAttackMs: Date.parse(t.at) - attackStart } : {}) }))
    .sort((a, b) => a.at.localeCompare(b.at));
}
