import type { ExportRecord, Severity } from '@ft/sdk';

/** CEF severity 0–10 from ft's (low/medium/high/critical → 3/5/8/10). */
export const CEF_SEVERITY: Record<Severity, number> = { low: 3, medium: 5, high: 8, critical: 10 };

/** Header fields: a backslash and a pipe are escaped; a line break has no place in a header (it becomes a space). */
export const cefHeader = (s: string): string =>
  s
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');

/** Extension values: backslash, equals sign, and line breaks as \n / \r (a pipe needs no escape there). */
export const cefValue = (s: string): string =>
  s.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r/g, '\\r').replace(/\n/g, '\\n');

const PROTO: Record<string, string> = { udp: 'UDP', tcp: 'TCP', icmp: 'ICMP' };

/**
 * One record as a CEF line (ArcSight Common Event Format, version 0): the header, then key=value extensions with
 * the standard keys where one fits (rt, dvchost, dst/c6a3, dpt, src, proto, act, cat, msg, outcome,
 * externalId, start, end, deviceDirection) and ft's own in the custom slots, each labelled:
 * cs1 incidentId, cs2 attackFamily, cs3 ruleId, cs4 rail, cs5 target, cs6 tenant; cn1 peakPps, cn2 peakBps,
 * cn3 level. `maxMsg` bounds the free-text msg (UDP datagrams must stay small).
 */
export function toCef(r: ExportRecord, o: { version: string; maxMsg?: number } = { version: '0' }): string {
  const i = r.incident;
  const name =
    r.category === 'incident' && i
      ? `DDoS ${i.attack_family} ${r.action.replace(/^ddos-/, '')}`
      : r.category === 'rule' && r.rule
        ? `Rule ${r.action.replace(/^rule-/, '')}${r.rule.rail ? ` (${r.rule.rail})` : ''}`
        : r.action.replace(/-/g, ' ');
  const classId = r.category === 'incident' && i ? `ddos.${i.attack_family}` : r.type;
  const ext: [string, string | number | undefined][] = [
    ['rt', r.atMs],
    ['dvchost', r.node],
    ['cat', r.type],
    // The record's own id: unique per record and stable across retries (a collector's duplicate check).
    ['externalId', r.id],
    ['outcome', r.outcome],
  ];
  const ip = r.targetIp;
  if (ip && !ip.includes(':')) ext.push(['dst', ip]);
  else if (ip) ext.push(['c6a3', ip], ['c6a3Label', 'targetIPv6']);
  if (i) {
    const dport = i.top_dst_ports[0]?.port;
    if (dport !== undefined) ext.push(['dpt', dport]);
    if (i.transport) ext.push(['proto', PROTO[i.transport]]);
    const src = i.spoofing_detected ? undefined : i.top_src_ips.find((s) => !s.ip.includes(':'))?.ip;
    if (src) ext.push(['src', src]);
    ext.push(['deviceDirection', 0], ['start', Date.parse(i.started_at)]);
    if (i.resolved_at) ext.push(['end', Date.parse(i.resolved_at)]);
    ext.push(['act', r.type === 'incident.resolved' ? 'resolved' : 'detected']);
    ext.push(['cs1', i.id], ['cs1Label', 'incidentId'], ['cs2', i.attack_family], ['cs2Label', 'attackFamily']);
    ext.push(['cn1', Math.round(i.peak_pps)], ['cn1Label', 'peakPps'], ['cn2', Math.round(i.peak_bps)]);
    ext.push(['cn2Label', 'peakBps']);
    if (i.level !== undefined) ext.push(['cn3', i.level], ['cn3Label', 'level']);
  }
  if (r.rule) {
    ext.push(['act', r.rule.action]);
    if (r.rule.incident_id) ext.push(['cs1', r.rule.incident_id], ['cs1Label', 'incidentId']);
    ext.push(['cs3', r.rule.id], ['cs3Label', 'ruleId'], ['cn3', r.rule.level], ['cn3Label', 'level']);
    if (r.rule.rail) ext.push(['cs4', r.rule.rail], ['cs4Label', 'rail']);
  }
  if (r.traffic) {
    ext.push(['cn1', Math.round(r.traffic.peak_pps)], ['cn1Label', 'peakPps']);
    ext.push(['cn2', Math.round(r.traffic.peak_bps)], ['cn2Label', 'peakBps']);
    ext.push(['start', Date.parse(r.traffic.from)], ['end', Date.parse(r.traffic.to)]);
  }
  if (r.target) ext.push(['cs5', r.target], ['cs5Label', 'target']);
  ext.push(['cs6', r.tenant], ['cs6Label', 'tenant']);
  const max = o.maxMsg ?? 1024;
  ext.push(['msg', r.message.length > max ? `${r.message.slice(0, max - 1)}…` : r.message]);
  // One value per key: the later (more specific) one wins.
  const seen = new Map<string, string>();
  for (const [k, v] of ext) if (v !== undefined && v !== '') seen.set(k, String(v));
  const extension = [...seen].map(([k, v]) => `${k}=${cefValue(v)}`).join(' ');
  return `CEF:0|${cefHeader('ft')}|${cefHeader('ft')}|${cefHeader(o.version)}|${cefHeader(classId)}|${cefHeader(name)}|${CEF_SEVERITY[r.severity]}|${extension}`;
}
