import { randomUUID } from 'node:crypto';
import { Prefix, encodeEvent, makeRule, type FtEvent, type Incident, type RtbhRule, type WireEvent } from '@ft/sdk';
import type { Policy } from '../policy/types.js';

/** A host inside the policy's protected space (the first protected prefix's address, +10 for IPv4). */
function sampleTarget(policy: Policy): Prefix {
  const p = policy.targets[0]?.prefix ?? policy.protect[0] ?? Prefix.parse('203.0.113.0/24');
  if (p.isHost) return p;
  if (p.family === 4) {
    const parts = p.address.split('.').map(Number);
    parts[3] = Math.min(254, (parts[3] ?? 0) + 10);
    const host = Prefix.parse(parts.join('.'));
    return p.contains(host) ? host : Prefix.parse(p.address);
  }
  return Prefix.parse(p.address);
}

/**
 * What `ft export test` sends: a made-up attack told the way ft tells a real one (incident opened, a rule added,
 * a rule refused by a rail, a traffic summary, a speaker going down), with ids marked `test-`, so the SIEM side
 * can be checked end to end: the records look exactly like real ones, through the sink's real mapping.
 */
export function sampleEvents(policy: Policy, node = 'ft-test'): WireEvent[] {
  const now = Date.now();
  const target = sampleTarget(policy);
  const incident: Incident = {
    id: `test-${now.toString(36)}`,
    target,
    state: 'open',
    family: 'udp_flood',
    severity: 'high',
    vectors: ['dns'],
    confidence: 0.9,
    pps: 812_000,
    bps: 7.4e9,
    peakPps: 892_401,
    peakBps: 8.1e9,
    protocols: { tcp: 1, udp: 98, icmp: 1 },
    tcpFlags: {},
    sourceCount: 14_200,
    topSources: [
      { address: Prefix.parse('198.51.100.23'), count: 41_000 },
      { address: Prefix.parse('192.0.2.200'), count: 22_100 },
    ],
    topDstPorts: [{ port: 53, count: 700_000 }],
    topSrcPorts: [{ port: 53, count: 500_000 }],
    spoofed: false,
    botnet: false,
    detectors: ['flow'],
    startedAt: now - 5000,
    updatedAt: now,
  };
  const rule = makeRule<RtbhRule>({
    kind: 'rtbh',
    tenant: policy.tenant,
    target,
    level: 2,
    ttlSeconds: 300,
    communities: ['65535:666'],
    noExport: true,
  } as never);
  const ruleFields = {
    ruleId: rule.id,
    kind: rule.kind,
    target,
    level: 2,
    action: 'announce with community 65535:666 no-export',
    via: ['test-speaker'],
    incidentId: incident.id,
    plannedBy: 'planner',
    rule,
  };
  let seq = 0;
  const ev = (type: string, data: unknown): FtEvent =>
    ({ seq: ++seq, id: `test-${randomUUID()}`, at: now, tenant: policy.tenant, node, type, data }) as FtEvent;
  const events = [
    ev('incident.opened', { incident }),
    ev('rule.added', {
      ...ruleFields,
      outcome: 'ok',
      expiresAt: now + 300_000,
      results: [{ adapter: 'test-speaker', outcome: 'ok', attempts: 1, ms: 3 }],
      durationMs: 4,
    }),
    ev('rule.refused', {
      ...ruleFields,
      rail: 'never-target',
      message: 'test: the target is inside neverTarget',
    }),
    ev('traffic.summary', {
      intervalMs: 60_000,
      from: now - 60_000,
      to: now,
      targets: [
        {
          target: target.toString(),
          state: 'attack',
          pps: 600_000,
          bps: 5.2e9,
          peakPps: 892_401,
          peakBps: 8.1e9,
          baselinePps: 1200,
          baselineBps: 9.6e6,
          readings: 60,
          incidentId: incident.id,
          attackFamily: 'udp_flood',
          severity: 'high',
        },
      ],
    }),
    ev('speaker.down', {
      speaker: 'test-speaker',
      adapter: 'gobgp',
      status: 'down',
      detail: 'test: connection refused',
    }),
  ];
  return events.map(encodeEvent);
}
