import type { ExportRecord, Severity } from '@ft/sdk';

/** Suricata's alert severity runs the other way (1 is the worst). */
export const EVE_SEVERITY: Record<Severity, number> = { low: 3, medium: 2, high: 2, critical: 1 };

/** ft's signature ids, from the local range (1000000–1999999 is for local rules; ft takes 9000000 and up). */
export const EVE_SIGNATURES: Record<string, number> = {
  udp_flood: 9000001,
  syn_flood: 9000002,
  http_flood: 9000003,
  icmp_flood: 9000004,
  dns_flood: 9000005,
  multi_vector: 9000006,
  unknown: 9000007,
  rule: 9000100,
  refused: 9000101,
};

/** Suricata's timestamp form: local offset written as +0000 (ft writes UTC), microseconds. */
export const eveTime = (ms: number): string => `${new Date(ms).toISOString().replace('Z', '')}000+0000`;

const PROTO: Record<string, string> = { udp: 'UDP', tcp: 'TCP', icmp: 'ICMP' };

/**
 * One record as a Suricata EVE JSON line, in shapes ft owns (docs/export.md): an incident is an
 * `event_type: "alert"` (category "Attempted Denial of Service", signature "FT DDoS <family>"), a rule that
 * blocks is an alert with action "blocked", a traffic summary a `"flow"` record (packets and bytes to the
 * target over the interval), anything else `event_type: "ft"` (EVE readers skip types they do not know).
 */
export function toEve(r: ExportRecord): Record<string, unknown> {
  const base: Record<string, unknown> = {
    timestamp: eveTime(r.atMs),
    flow_id: 0,
    in_iface: 'ft',
    host: r.node,
  };
  const i = r.incident;
  if (i) {
    const src = i.spoofing_detected ? undefined : i.top_src_ips[0]?.ip;
    return {
      ...base,
      event_type: 'alert',
      ...(src ? { src_ip: src } : {}),
      ...(r.targetIp ? { dest_ip: r.targetIp } : {}),
      ...(i.top_dst_ports[0] ? { dest_port: i.top_dst_ports[0].port } : {}),
      ...(i.transport ? { proto: PROTO[i.transport] } : {}),
      alert: {
        action: 'allowed',
        gid: 1,
        signature_id: EVE_SIGNATURES[i.attack_family] ?? EVE_SIGNATURES.unknown,
        rev: 1,
        signature: `FT DDoS ${i.attack_family} ${r.action.replace(/^ddos-/, '')}`,
        category: 'Attempted Denial of Service',
        severity: EVE_SEVERITY[r.severity],
        metadata: { ft_event: [r.type], ft_incident: [i.id], ft_tenant: [r.tenant] },
      },
      ft: { id: r.id, type: r.type, target: r.target, incident: i },
    };
  }
  if (r.rule) {
    const blocks = r.type === 'rule.added' || r.type === 'rule.replaced' || r.type === 'rule.refreshed';
    const refused = r.type === 'rule.refused';
    return {
      ...base,
      event_type: 'alert',
      ...(r.targetIp ? { dest_ip: r.targetIp } : {}),
      alert: {
        action: blocks ? 'blocked' : 'allowed',
        gid: 1,
        signature_id: refused ? EVE_SIGNATURES.refused : EVE_SIGNATURES.rule,
        rev: 1,
        signature: `FT rule ${r.action.replace(/^rule-/, '')}: ${r.rule.kind} ${r.rule.action}${r.rule.rail ? ` (${r.rule.rail})` : ''}`,
        category: 'Attempted Denial of Service',
        severity: EVE_SEVERITY[r.severity],
        metadata: { ft_event: [r.type], ft_rule: [r.rule.id], ft_tenant: [r.tenant] },
      },
      ft: { id: r.id, type: r.type, target: r.target, rule: r.rule },
    };
  }
  if (r.traffic) {
    const secs = r.traffic.interval_ms / 1000;
    return {
      ...base,
      event_type: 'flow',
      ...(r.targetIp ? { dest_ip: r.targetIp } : {}),
      proto: 'IP',
      flow: {
        pkts_toserver: Math.round(r.traffic.pps * secs),
        pkts_toclient: 0,
        bytes_toserver: Math.round((r.traffic.bps / 8) * secs),
        bytes_toclient: 0,
        start: eveTime(Date.parse(r.traffic.from)),
        end: eveTime(Date.parse(r.traffic.to)),
        state: 'closed',
        reason: 'timeout',
        alerted: r.traffic.incident_id !== undefined,
      },
      ft: { id: r.id, type: r.type, target: r.target, traffic: r.traffic },
    };
  }
  return {
    ...base,
    event_type: 'ft',
    ft: { id: r.id, type: r.type, severity: r.severity, message: r.message, component: r.component, data: r.data },
  };
}
