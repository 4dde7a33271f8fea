import { randomUUID } from 'node:crypto';
import { encodeEvent, type AlertMessage, type FtEvent, type Incident, Prefix } from '@ft/sdk';
import type { Policy } from '../policy/types.js';
import { messageContext } from './host.js';
import { MessageBuilder } from './message.js';

export const SAMPLE_EVENTS = ['opened', 'escalated', 'mitigated', 'deescalated', 'resolved', 'operational'] as const;
export type SampleEvent = (typeof SAMPLE_EVENTS)[number];

/** A host inside the policy's protected space (the first address of the first protected prefix, +10). */
function sampleTarget(policy: Policy): Prefix {
  const p = policy.targets[0]?.prefix ?? policy.protect[0] ?? Prefix.parse('203.0.113.0/24');
  if (p.isHost) return p;
  const text = p.address;
  if (p.family === 4) {
    const parts = text.split('.').map(Number);
    parts[3] = Math.min(254, (parts[3] ?? 0) + 10);
    const host = Prefix.parse(parts.join('.'));
    return p.contains(host) ? host : Prefix.parse(p.address);
  }
  return Prefix.parse(text);
}

/**
 * What `ft alert test` sends: a made-up incident run through the same builder a real one goes through (so it
 * looks exactly like the real thing), marked as a test in every channel's text.
 */
export function sampleMessage(policy: Policy, event: SampleEvent, node = 'ft-test'): AlertMessage {
  const now = Date.now();
  const target = sampleTarget(policy);
  const incident: Incident = {
    id: `test-${now.toString(36)}`,
    target,
    state: event === 'resolved' ? 'resolved' : 'open',
    family: 'udp_flood',
    severity: 'high',
    vectors: ['dns', 'ntp'],
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
      { address: Prefix.parse('198.51.100.77'), count: 38_500 },
      { address: Prefix.parse('192.0.2.200'), count: 22_100 },
    ],
    topDstPorts: [{ port: 443, count: 700_000 }],
    topSrcPorts: [
      { port: 53, count: 500_000 },
      { port: 123, count: 300_000 },
    ],
    spoofed: false,
    botnet: false,
    detectors: ['flow'],
    startedAt: now - 95_000,
    updatedAt: now,
    ...(event === 'resolved' ? { resolvedAt: now } : {}),
  };
  const envelope = { seq: 1, id: randomUUID(), at: now, tenant: policy.tenant, node };
  const ev = (e: Omit<FtEvent, 'seq' | 'id' | 'at' | 'tenant' | 'node'>, seq: number): FtEvent =>
    ({ ...envelope, ...e, seq, id: randomUUID() }) as FtEvent;
  const builder = new MessageBuilder(messageContext(policy));
  const events: FtEvent[] = [ev({ type: 'incident.opened', data: { incident } } as never, 1)];
  if (event === 'escalated' || event === 'deescalated')
    events.push(
      ev(
        {
          type: `incident.${event}`,
          data: {
            incident,
            level: event === 'escalated' ? 2 : 1,
            previousLevel: event === 'escalated' ? 1 : 2,
            reason: 'test',
          },
        } as never,
        2,
      ),
    );
  if (event === 'mitigated')
    events.push(
      ev(
        {
          type: 'rule.added',
          data: {
            ruleId: 'fs-5c0f2a9e7d41b3c8',
            kind: 'flowspec',
            target,
            level: 1,
            action: 'rate-limit 6250000 bytes/s (50 Mbps)',
            via: ['edge-gobgp'],
            pops: ['ams1'],
            incidentId: incident.id,
            outcome: 'ok',
            expiresAt: now + 300_000,
            results: [],
            durationMs: 12,
            rule: {
              id: 'test-rule',
              kind: 'rtbh',
              tenant: policy.tenant,
              target,
              level: 1,
              ttlSeconds: 300,
              communities: ['65535:666'],
              noExport: true,
            },
          },
        } as never,
        2,
      ),
    );
  if (event === 'resolved')
    events.push(ev({ type: 'incident.resolved', data: { incident, durationMs: 95_000, level: 1 } } as never, 2));
  if (event === 'operational')
    return {
      ...(builder.build(
        encodeEvent(
          ev(
            {
              type: 'speaker.down',
              data: {
                speaker: 'test-speaker',
                adapter: 'gobgp',
                status: 'down',
                detail: 'test: gRPC connection refused',
              },
            } as never,
            1,
          ),
        ),
      )[0]?.message as AlertMessage),
      test: true,
    };
  let last: AlertMessage | undefined;
  for (const e of events) for (const b of builder.build(encodeEvent(e))) last = b.message;
  return { ...(last as AlertMessage), test: true };
}
