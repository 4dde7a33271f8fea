// syn-flood, the on-node path: the victim's own `ft run` (inside the victim namespace, proc detector on its own
// kernel counters) meets a SYN flood with SYN cookies and a per-source hashlimit in the victim's iptables, and
// rolls both back once the incident resolves. No BGP, no speaker, nothing leaves the namespace.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpGet, nodeName, REPO, VICTIM } from '../lab.js';
import { Node } from '../topology.js';
import { buildTimeline, type LabContext } from './udp-amplification.js';
import {
  backgroundFlood,
  interfaceWithAddress,
  readAudit,
  Recorder,
  sleep,
  startFtRun,
  until,
  type NsProcess,
  type ScenarioResult,
} from './common.js';

const SOURCES = ['198.51.100.20', '198.51.100.21', '198.51.100.22', '198.51.100.23'];

/** ft's lines in the victim's iptables (its chains are named FT-…); empty when nothing of ft's is installed. */
export function ftIptablesRules(victim: Node): string[] {
  const out = victim.exec(['iptables-save'], { allowFail: true }).stdout;
  return out.split('\n').filter((l) => /^-A FT-/.test(l));
}

export async function synFlood(
  lab: LabContext,
  o: { floodSeconds?: number; ppsPerSource?: number } = {},
): Promise<ScenarioResult> {
  const floodSeconds = o.floodSeconds ?? 6;
  const pps = o.ppsPerSource ?? 1500;
  const victim = new Node(nodeName(lab.prefix, 'victim'));
  const attacker = new Node(nodeName(lab.prefix, 'attacker'));
  for (const n of [victim, attacker])
    if (!n.exists) throw new Error(`the lab is not up (${n.name} is missing): run \`ft lab up\` first`);
  const dir = join(lab.dir, 'scenario-syn-flood');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rec = new Recorder();
  const stateDir = join(dir, 'state');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, readFileSync(join(REPO, 'lab', 'policies', 'syn-flood.yaml'), 'utf8'));
  const ifname = interfaceWithAddress(victim, VICTIM);
  const detectors = join(dir, 'detectors.yaml');
  writeFileSync(detectors, `victim: { detector: proc, interfaces: [{ name: ${ifname}, address: ${VICTIM} }] }\n`);

  let ftRun: NsProcess | undefined;
  let attackStart = 0;
  let attackEnd = 0;
  let polling = true;
  try {
    rec.step("no ft rule in the victim's iptables before the attack", ftIptablesRules(victim).length === 0);
    // SYNPROXY needs conntrack to refuse mid-stream pickup, else the handshake's last ACK bypasses it and
    // legitimate connections hang (`ft doctor` warns about it): the victim's operator sets it, so does the lab.
    victim.exec(['modprobe', 'nf_conntrack'], { allowFail: true });
    const loose = victim.exec(['sysctl', '-qw', 'net.netfilter.nf_conntrack_tcp_loose=0'], { allowFail: true });
    rec.step(
      'victim prepared as `ft doctor` asks (nf_conntrack_tcp_loose=0)',
      loose.status === 0,
      loose.stderr.trim() || undefined,
    );
    ftRun = await startFtRun(victim, dir, { policy, detectors, stateDir });
    rec.step(`HTTP to ${VICTIM} answers before the attack`, httpGet({ attacker }, VICTIM));
    await sleep(2000);

    let peakRules: string[] = [];
    const watch = (async () => {
      while (polling) {
        const rules = ftIptablesRules(victim);
        if (rules.length > 0) {
          rec.mark('host rules applied in the victim', Date.now(), `${rules.length} iptables lines`);
          if (rules.length > peakRules.length) peakRules = rules;
        } else if (rec.seen('host rules applied in the victim')) rec.mark('host rules rolled back', Date.now());
        await sleep(50);
      }
    })();

    attackStart = Date.now();
    rec.mark(
      'attack start',
      attackStart,
      `${SOURCES.length} spoofed sources × ${pps} SYN/s to port 80, ≤ ${pps * floodSeconds} packets each`,
    );
    const flood = backgroundFlood(
      attacker,
      dir,
      SOURCES.map((src) => [
        'hping3',
        '-S',
        '-q',
        '-a',
        src,
        '-p',
        '80',
        '-c',
        String(pps * floodSeconds),
        '-i',
        `u${Math.round(1_000_000 / pps)}`,
        VICTIM,
      ]),
      floodSeconds + 2,
    );
    const applied = await until(
      () => rec.seen('host rules applied in the victim') !== undefined,
      (floodSeconds + 2) * 1000,
      50,
    );
    rec.step(
      'ft applied SYN cookies and a per-source hashlimit in the victim while the flood lasted',
      applied !== undefined,
      applied !== undefined
        ? `${applied - attackStart} ms after the attack started`
        : 'no FT- rule appeared in iptables',
    );
    if (applied !== undefined)
      rec.step(`HTTP to ${VICTIM} still answers during the SYN flood`, httpGet({ attacker }, VICTIM));
    await flood.done;
    attackEnd = Date.now();
    rec.mark('attack end', attackEnd);
    const text = peakRules.join('\n');
    rec.step(
      'the applied rules are SYN cookies (SYNPROXY) and a per-source hashlimit on TCP SYN',
      /SYNPROXY|syncookie/i.test(text) && /hashlimit/.test(text) && /srcip/.test(text),
      peakRules.slice(0, 6).join(' | '),
    );
    // Rolled back once the incident resolved and the policy's cooldown (15 s from when the rules went in) passed.
    // This check records the rollback itself: the background watch may sleep through the moment (both loops share
    // one event loop, and a loaded machine stretches every iptables-save), and stops once this returns.
    const gone = await until(
      () => {
        if (ftIptablesRules(victim).length > 0) return false;
        rec.mark('host rules rolled back', Date.now());
        return true;
      },
      40_000,
      100,
    );
    rec.step(
      'rules rolled back after the incident resolved',
      gone !== undefined && ftIptablesRules(victim).length === 0,
      gone !== undefined ? `${gone - attackEnd} ms after the attack ended` : 'still there 40 s after the attack ended',
    );
    // The audit's withdraw end is written once the adapter finished; then iptables must hold nothing of ft, still.
    const withdrawn = (rows: ReturnType<typeof readAudit>) =>
      rows.filter((a) => a.op === 'withdraw' && a.phase === 'end' && a.outcome === 'ok').length;
    const audited = await until(() => withdrawn(readAudit(stateDir)) >= 2, 15_000, 500);
    const leftover = ftIptablesRules(victim);
    rec.step(
      "the audit trail says both rules withdrawn and the victim's iptables holds nothing of ft",
      audited !== undefined && leftover.length === 0,
      audited === undefined
        ? `${withdrawn(readAudit(stateDir))} withdraw ops ended ok 15 s after the rollback`
        : leftover.length > 0
          ? leftover.slice(0, 4).join(' | ')
          : undefined,
    );
    const adds = readAudit(stateDir).filter((a) => a.op === 'add' && a.phase === 'end' && a.outcome === 'ok').length;
    rec.step(
      'each rule was applied once for the whole attack (no flapping)',
      adds === 2,
      `${adds} add ops for 2 rules`,
    );
    polling = false;
    await watch;
    rec.step('ft run still running: the rollback came from its lifecycle, not from its shutdown', ftRun.running);
  } finally {
    polling = false;
    await ftRun?.stop(30_000);
  }
  const audit = readAudit(stateDir);
  const incident = audit.find((a) => a.op === 'incident' && a.incident);
  rec.step(
    'ft classified the attack as syn_flood',
    incident?.incident?.attack_family === 'syn_flood',
    incident?.incident ? incident.incident.attack_family : 'no incident in the audit trail',
  );
  rec.step(
    'audit trail has the add and the withdraw, planned by the planner',
    audit.some((a) => a.op === 'add' && a.phase === 'end' && a.outcome === 'ok') &&
      audit.some((a) => a.op === 'withdraw' && a.phase === 'end' && a.outcome === 'ok'),
  );
  if (!rec.ok && ftRun)
    process.stderr.write(`--- ft run log (last lines) ---\n${ftRun.output().split('\n').slice(-20).join('\n')}\n`);
  return {
    scenario: 'syn-flood',
    ok: rec.ok,
    steps: rec.steps,
    timeline: buildTimeline(rec, audit, attackStart)
      .filter((t) => t.event !== 'RPKI verdict')
      .map((t) => ({
        ...t,
        event:
          ({ 'plan: FlowSpec discard': 'plan: host rule', announced: 'applied' } as Record<string, string>)[t.event] ??
          t.event,
      })),
    settings: {
      floodSeconds,
      ppsPerSource: pps,
      sources: SOURCES,
      policy: 'lab/policies/syn-flood.yaml',
      detector: `proc on ${ifname} in ${victim.name}`,
    },
  };
}
