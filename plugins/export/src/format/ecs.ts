import type { ExportRecord, Severity } from '@ft/sdk';

/** The ECS version the documents follow. */
export const ECS_VERSION = '8.11.0';

/** ECS event.severity is a free number: ft's four levels spread over 0–100. */
export const ECS_SEVERITY: Record<Severity, number> = { low: 21, medium: 47, high: 73, critical: 99 };

const TYPES: Record<string, string[]> = {
  'incident.opened': ['start'],
  'incident.escalated': ['change'],
  'incident.deescalated': ['change'],
  'incident.updated': ['info'],
  'incident.resolved': ['end'],
};

/**
 * One record as an Elastic Common Schema document (ft's own data under `ft.*`): an incident is an alert
 * (event.kind alert, category network + intrusion_detection), a rule a network event (denied when it blocks,
 * info when refused), a traffic summary a metric, an operational change a state, an audit record an event in the
 * configuration category.
 */
export function toEcs(r: ExportRecord, observer: { version: string }): Record<string, unknown> {
  const i = r.incident;
  const event: Record<string, unknown> = {
    id: r.id,
    action: r.action,
    module: 'ft',
    dataset: `ft.${r.category}`,
    severity: ECS_SEVERITY[r.severity],
    outcome: r.outcome,
    created: r.at,
    provider: r.type,
  };
  switch (r.category) {
    case 'incident':
      Object.assign(event, {
        kind: 'alert',
        category: ['network', 'intrusion_detection'],
        type: TYPES[r.type] ?? ['info'],
        start: i?.started_at,
        ...(i?.resolved_at ? { end: i.resolved_at } : {}),
        ...(i?.duration_ms !== undefined ? { duration: i.duration_ms * 1e6 } : {}),
      });
      break;
    case 'rule':
      Object.assign(event, {
        kind: 'event',
        category: ['network'],
        type:
          r.type === 'rule.added' || r.type === 'rule.replaced'
            ? ['denied', 'creation']
            : r.type === 'rule.withdrawn'
              ? ['deletion']
              : ['info'],
      });
      break;
    case 'traffic':
      Object.assign(event, { kind: 'metric', category: ['network'], type: ['info'] });
      break;
    case 'audit':
      Object.assign(event, { kind: 'event', category: ['configuration'], type: ['change'] });
      break;
    default:
      Object.assign(event, { kind: 'state', category: ['network'], type: ['change'] });
  }
  const doc: Record<string, unknown> = {
    '@timestamp': r.at,
    ecs: { version: ECS_VERSION },
    message: r.message,
    event,
    observer: { hostname: r.node, vendor: 'ft', product: 'ft', type: 'ids', version: observer.version },
    labels: { tenant: r.tenant },
  };
  if (r.targetIp)
    doc.destination = { ip: r.targetIp, ...(i?.top_dst_ports[0] ? { port: i.top_dst_ports[0].port } : {}) };
  if (i) {
    doc.network = {
      ...(i.transport ? { transport: i.transport } : {}),
      ...(r.targetIp ? { type: r.targetIp.includes(':') ? 'ipv6' : 'ipv4' } : {}),
      direction: 'inbound',
      packets: Math.round(i.peak_pps),
      bytes: Math.round(i.peak_bps / 8),
    };
    doc.rule = { id: i.attack_family, name: `${i.attack_family} above baseline`, category: 'ddos' };
    const sources = i.spoofing_detected ? [] : i.top_src_ips.map((s) => s.ip);
    doc.related = { ip: [...(r.targetIp ? [r.targetIp] : []), ...sources] };
    if (sources[0]) doc.source = { ip: sources[0] };
  }
  if (r.rule)
    doc.rule = {
      id: r.rule.id,
      name: r.rule.action,
      ruleset: r.rule.kind,
      ...(r.rule.rail ? { category: r.rule.rail } : {}),
    };
  if (r.traffic)
    doc.network = { direction: 'inbound', packets: Math.round(r.traffic.pps), bytes: Math.round(r.traffic.bps / 8) };
  doc.ft = {
    type: r.type,
    category: r.category,
    tenant: r.tenant,
    ...(r.target ? { target: r.target } : {}),
    ...(i ? { incident: i } : {}),
    ...(r.rule ? { rule: r.rule } : {}),
    ...(r.traffic ? { traffic: r.traffic } : {}),
    ...(r.component ? { component: r.component } : {}),
  };
  return doc;
}
