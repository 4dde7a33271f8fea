import { Prefix, type IncidentReport } from '@ft/sdk';
import { fromReport, type Incident } from '../../core/model/incident.js';
import type { AnnouncementCheck, RpkiVerdictProvider } from '../../core/model/rpki.js';
import { parsePolicy } from '../../core/policy/index.js';
import type { Policy } from '../../core/policy/types.js';

export const NOW = new Date('2026-11-22T00:00:00Z');

/**
 * An incident as the detection engine would open it; only what a test sets differs from a quiet UDP flood. Tests
 * write it as the reference report (the names users and agents write) and get core's model through the same edge
 * conversion ft uses, so a report without `vector` gets the vectors its source ports show.
 */
export function incident(over: Partial<IncidentReport> = {}): Incident {
  const { target = '203.0.113.10', ...rest } = over;
  const bps = rest.bps ?? 1e9;
  const pps = rest.pps ?? 100_000;
  return fromReport({
    id: 'inc-1',
    target,
    state: 'open',
    attack_family: 'udp_flood',
    severity: 'high',
    vector: [],
    confidence: 0.9,
    pps,
    bps,
    peak_pps: pps,
    peak_bps: bps,
    protocol_breakdown: { tcp: 0, udp: 100, icmp: 0 },
    tcp_flag_breakdown: {},
    source_ip_count: 100,
    top_src_ips: [],
    top_dst_ports: [],
    top_src_ports: [],
    spoofing_detected: false,
    botnet_detected: false,
    sources: ['test'],
    started_at: NOW.toISOString(),
    updated_at: NOW.toISOString(),
    ...rest,
  });
}

/** Active-rule times as tests write them (ISO text), in core's epoch ms. */
export const at = (iso: string): number => Date.parse(iso);

/** A recording provider: allowed unless the announced or covering prefix is listed as refused. */
export function testRpki(
  refuse: { kind?: AnnouncementCheck['kind']; prefix?: string }[] = [],
): RpkiVerdictProvider & { calls: AnnouncementCheck[] } {
  const calls: AnnouncementCheck[] = [];
  return {
    calls,
    verdict(check) {
      calls.push(check);
      const hit = refuse.find(
        (r) => (!r.kind || r.kind === check.kind) && (!r.prefix || Prefix.parse(r.prefix).equals(check.announced)),
      );
      if (hit) return { state: 'invalid', reason: `test refuses ${check.kind} ${check.announced}`, allowed: false };
      return {
        state: 'valid',
        reason: `test allows ${check.kind} ${check.announced} for AS${check.originAs}`,
        allowed: true,
      };
    },
  };
}

export const BASE_POLICY = `
version: 1
tenant: t1
mode: enforce
asn: 64500
defaults: { ttl: 5m, maxRules: 200, rpki: enforce, cooldown: 2m }
protect: [203.0.113.0/24, 2001:db8:100::/48]
neverTarget: [203.0.113.53/32, 2001:db8:100::53/128]
speakers:
  s1: { adapter: gobgp }
  s2: { adapter: exabgp }
scrubbers:
  sc: { adapter: scrub-x, originAs: 64510 }
escalation:
  - { level: 1, when: { bps: ">100Mbps" }, do: { flowspec: { then: rate-limit, rate: 50Mbps } }, via: [s1] }
  - { level: 2, when: { bps: ">500Mbps" }, do: { flowspec: { then: discard } }, via: [s1, s2] }
  - { level: 3, when: { bps: ">2Gbps" }, do: { rtbh: { community: "64500:666" } }, via: [s1] }
  - { level: 4, when: { bps: ">5Gbps" }, do: { scrub: { provider: sc } } }
`;

export function policy(text = BASE_POLICY, extra = ''): Policy {
  return parsePolicy(text + extra, 'test.yaml');
}
