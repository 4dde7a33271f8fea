import type { ZodType } from 'zod';
import { API_VERSION, type PluginContext } from './contract.js';
import type { DeliveryAttempt, DeliveryOutcome, RateLimit } from './alerts.js';
import type { Severity } from './model.js';
import type { IncidentJson, WireEvent } from './events/schema.js';

// ── The one internal schema every sink maps from ───────────────────────────────────────────────────────────────

/** What a record is about: the sink filters and the per-sink mappings (ECS category, CEF class, EVE type) use it. */
export const EXPORT_CATEGORIES = ['incident', 'rule', 'traffic', 'operational', 'audit'] as const;
export type ExportCategory = (typeof EXPORT_CATEGORIES)[number];

/** The attack as every sink carries it: the reference incident fields (snake_case, as the agent reports them). */
export interface ExportIncident {
  id: string;
  state: 'open' | 'resolved';
  attack_family: string;
  severity: Severity;
  vector: string[];
  confidence: number;
  pps: number;
  bps: number;
  peak_pps: number;
  peak_bps: number;
  source_ip_count: number;
  top_src_ips: { ip: string; count: number }[];
  top_dst_ports: { port: number; count: number }[];
  top_src_ports: { port: number; count: number }[];
  /** The IP protocol most of the attack's packets carry: tcp, udp, icmp (ECS network.transport). */
  transport?: 'tcp' | 'udp' | 'icmp';
  spoofing_detected: boolean;
  botnet_detected: boolean;
  sources: string[];
  started_at: string;
  resolved_at?: string;
  /** Escalation level now (escalated, deescalated, resolved). */
  level?: number;
  previous_level?: number;
  duration_ms?: number;
}

/** A mitigation rule as every sink carries it. */
export interface ExportRule {
  id: string;
  kind: string;
  level: number;
  /** In router words: "discard", "rate-limit 6250000 bytes/s (50 Mbps)", "announce … community 65535:666". */
  action: string;
  match?: string;
  via: string[];
  route?: string;
  incident_id?: string;
  planned_by?: string;
  /** What refused it (rule.refused): a rail name, rpki, no-action, collateral-suppressed. */
  rail?: string;
  outcome?: string;
  expires_at?: string;
  reason?: string;
}

/** One target's traffic over one summary interval. */
export interface ExportTraffic {
  interval_ms: number;
  from: string;
  to: string;
  state: string;
  pps: number;
  bps: number;
  peak_pps: number;
  peak_bps: number;
  baseline_pps?: number;
  baseline_bps?: number;
  readings: number;
  incident_id?: string;
  attack_family?: string;
}

/** The component an operational record is about (a speaker, an RTR cache, a flow exporter, a sink). */
export interface ExportComponent {
  type: 'speaker' | 'rtr' | 'rpki' | 'detector' | 'exporter' | 'alert' | 'export' | 'subscriber' | 'operator';
  name: string;
  status: string;
}

/**
 * One exported record: the same fields whatever the sink, mapped per sink (ECS, CEF, EVE, Zeek, HEC, …).
 * Built from one event of the stream by `toExportRecords` (a traffic summary gives one record per target).
 * Times are ISO 8601 text and epoch ms; addresses are text; `data` keeps the event's own wire fields.
 */
export interface ExportRecord {
  /** Unique and stable across retries and restarts: the event id (and `#n` for the n-th record of one event). */
  id: string;
  /** The event's seq in the stream (the sink's cursor). */
  seq: number;
  /** The event type: incident.opened, rule.refused, traffic.summary, speaker.down, … */
  type: string;
  category: ExportCategory;
  /** A short verb a SIEM rule matches on: ddos-detected, ddos-escalated, rule-added, rule-refused, speaker-down, … */
  action: string;
  severity: Severity;
  /** success | failure | unknown (ECS event.outcome). */
  outcome: 'success' | 'failure' | 'unknown';
  /** One line in words. */
  message: string;
  at: string;
  atMs: number;
  tenant: string;
  /** The ft node that saw it (the observer). */
  node: string;
  /** The protected address or prefix it is about (destination of the attack). */
  target?: string;
  /** The target as a single address, when it is one (ECS destination.ip, CEF dst). */
  targetIp?: string;
  incident?: ExportIncident;
  rule?: ExportRule;
  traffic?: ExportTraffic;
  component?: ExportComponent;
  /** The event's data in its wire form (snake_case): sinks that carry JSON put it under `ft`. */
  data: Record<string, unknown>;
}

const SEVERITY_ORDER: Severity[] = ['low', 'medium', 'high', 'critical'];
export const severityAtLeast = (s: Severity, min: Severity): boolean =>
  SEVERITY_ORDER.indexOf(s) >= SEVERITY_ORDER.indexOf(min);

/** The address of a prefix that is a single host ("203.0.113.10/32" → "203.0.113.10"), else undefined. */
export function hostAddress(prefix: string | undefined): string | undefined {
  if (!prefix) return undefined;
  const [addr, len] = prefix.split('/');
  if (!addr) return undefined;
  if (len === undefined) return /^[0-9a-f:.]+$/i.test(addr) ? addr : undefined;
  const full = addr.includes(':') ? '128' : '32';
  return len === full ? addr : undefined;
}

function transportOf(i: IncidentJson): ExportIncident['transport'] {
  const p = i.protocol_breakdown;
  const best = (['udp', 'tcp', 'icmp'] as const).reduce((a, b) => ((p[b] ?? 0) > (p[a] ?? 0) ? b : a));
  return (p[best] ?? 0) > 0 ? best : undefined;
}

function exportIncident(i: IncidentJson, extra: Partial<ExportIncident> = {}): ExportIncident {
  const transport = transportOf(i);
  return {
    id: i.id,
    state: i.state,
    attack_family: i.attack_family,
    severity: i.severity,
    vector: i.vector,
    confidence: i.confidence,
    pps: i.pps,
    bps: i.bps,
    peak_pps: i.peak_pps,
    peak_bps: i.peak_bps,
    source_ip_count: i.source_ip_count,
    top_src_ips: (i.top_src_ips as ExportIncident['top_src_ips']).slice(0, 20),
    top_dst_ports: (i.top_dst_ports as ExportIncident['top_dst_ports']).slice(0, 10),
    top_src_ports: (i.top_src_ports as ExportIncident['top_src_ports']).slice(0, 10),
    ...(transport ? { transport } : {}),
    spoofing_detected: i.spoofing_detected,
    botnet_detected: i.botnet_detected,
    sources: i.sources,
    started_at: i.started_at,
    ...(i.resolved_at ? { resolved_at: i.resolved_at } : {}),
    ...extra,
  };
}

type Data = Record<string, unknown>;
const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const n = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
/** A wire field as text: strings as they are, numbers and booleans printed, anything else empty. */
const txt = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

function exportRule(d: Data): ExportRule {
  return {
    id: txt(d.rule_id),
    kind: txt(d.kind),
    level: n(d.level) ?? 0,
    action: txt(d.action),
    ...(s(d.match) ? { match: s(d.match) } : {}),
    via: Array.isArray(d.via) ? (d.via as string[]) : [],
    ...(s(d.route) ? { route: s(d.route) } : {}),
    ...(s(d.incident_id) ? { incident_id: s(d.incident_id) } : {}),
    ...(s(d.planned_by) ? { planned_by: s(d.planned_by) } : {}),
    ...(s(d.rail) ? { rail: s(d.rail) } : {}),
    ...(s(d.outcome) ? { outcome: s(d.outcome) } : {}),
    ...(s(d.expires_at) ? { expires_at: s(d.expires_at) } : {}),
    ...(s(d.reason) ? { reason: s(d.reason) } : {}),
  };
}

const INCIDENT_ACTIONS: Record<string, string> = {
  'incident.opened': 'ddos-detected',
  'incident.escalated': 'ddos-escalated',
  'incident.deescalated': 'ddos-deescalated',
  'incident.updated': 'ddos-updated',
  'incident.resolved': 'ddos-resolved',
};

/** Severity of an operational record: what a NOC would page for is high. */
const OPERATIONAL_SEVERITY: Record<string, Severity> = {
  'speaker.down': 'high',
  'rtr.down': 'medium',
  'rpki.stale': 'high',
  'detector.silent': 'high',
  'exporter.silent': 'medium',
  'exporter.degraded': 'medium',
  'subscriber.lost_events': 'high',
  'alert.channel_broken': 'high',
  'alert.dropped': 'medium',
  'export.sink_down': 'high',
  'export.dropped': 'high',
};

function component(e: WireEvent): ExportComponent | undefined {
  const d = e.data as Data;
  const [head, tail] = e.type.split('.') as [string, string];
  const status = tail;
  switch (head) {
    case 'speaker':
      return { type: 'speaker', name: txt(d.speaker), status };
    case 'rtr':
      return { type: 'rtr', name: txt(d.cache), status };
    case 'rpki':
      return { type: 'rpki', name: 'rpki', status };
    case 'detector':
      return { type: 'detector', name: txt(d.detector), status };
    case 'exporter':
      return { type: 'exporter', name: `${txt(d.detector)}:${txt(d.exporter)}`, status };
    case 'alert':
      return { type: 'alert', name: txt(d.channel), status };
    case 'export':
      return { type: 'export', name: txt(d.sink), status };
    case 'subscriber':
      return { type: 'subscriber', name: txt(d.subscriber), status };
    case 'operator':
      return { type: 'operator', name: txt(d.who), status: txt(d.action) || status };
    default:
      return undefined;
  }
}

function operationalMessage(e: WireEvent): string {
  const d = e.data as Data;
  const c = component(e);
  const detail = s(d.detail) ?? s(d.error) ?? s(d.reason) ?? '';
  const what = c ? `${c.type} ${c.name}` : e.type;
  return `${what}: ${e.type.split('.')[1]?.replace(/_/g, ' ')}${detail ? `: ${detail}` : ''}`;
}

/** The category of an event type, for filters (`events: [incident, rule]`). */
export function exportCategory(type: string): ExportCategory {
  if (type.startsWith('incident.')) return 'incident';
  if (type.startsWith('rule.') || type === 'rpki.verdict_changed') return 'rule';
  if (type === 'traffic.summary') return 'traffic';
  if (type.startsWith('op.') || type === 'audit.recorded' || type === 'operator.action') return 'audit';
  return 'operational';
}

/**
 * An event as export records: one per event, except a traffic summary (one per target). Every sink maps these;
 * a third-party sink gets the same records.
 */
export function toExportRecords(e: WireEvent): ExportRecord[] {
  const d = e.data as Data;
  const base = {
    id: e.id,
    seq: e.seq,
    type: e.type,
    category: exportCategory(e.type),
    at: e.at,
    atMs: Date.parse(e.at),
    tenant: e.tenant,
    node: e.node,
    data: d,
  };
  if (base.category === 'incident') {
    const inc = d.incident as IncidentJson;
    const extra: Partial<ExportIncident> = {};
    if (n(d.level) !== undefined) extra.level = n(d.level);
    if (n(d.previous_level) !== undefined) extra.previous_level = n(d.previous_level);
    if (n(d.duration_ms) !== undefined) extra.duration_ms = n(d.duration_ms);
    const incident = exportIncident(inc, extra);
    const verb = (INCIDENT_ACTIONS[e.type] ?? e.type).replace('ddos-', '');
    const lvl = extra.level !== undefined ? ` (level ${extra.level})` : '';
    return [
      {
        ...base,
        action: INCIDENT_ACTIONS[e.type] ?? e.type,
        severity: inc.severity,
        outcome: 'unknown',
        message: `DDoS ${inc.attack_family} on ${inc.target} ${verb}${lvl}: peak ${Math.round(inc.peak_pps)} pps, ${Math.round(inc.peak_bps)} bps`,
        target: inc.target,
        ...(hostAddress(inc.target) ? { targetIp: hostAddress(inc.target) } : {}),
        incident,
      },
    ];
  }
  if (base.category === 'rule' && typeof d.rule_id === 'string') {
    const rule = exportRule(d);
    const failed = e.type === 'rule.failed' || e.type === 'rule.refused' || e.type === 'rule.at_cap';
    const severity: Severity =
      e.type === 'rule.failed' || e.type === 'rule.refused' ? 'high' : e.type === 'rule.at_cap' ? 'medium' : 'low';
    const target = s(d.target);
    const why = rule.rail ? ` by ${rule.rail}` : '';
    const text = s(d.message) ?? '';
    return [
      {
        ...base,
        action: e.type.replace('.', '-').replace(/_/g, '-'),
        severity,
        outcome: failed || rule.outcome === 'failed' ? 'failure' : rule.outcome === 'partial' ? 'unknown' : 'success',
        message: `${e.type.split('.')[1]?.replace(/_/g, ' ')}${why}: ${rule.kind} ${rule.action} for ${target ?? '?'}${text ? `: ${text}` : ''}`,
        ...(target ? { target } : {}),
        ...(hostAddress(target) ? { targetIp: hostAddress(target) } : {}),
        rule,
      },
    ];
  }
  if (e.type === 'traffic.summary') {
    const t = e.data;
    return t.targets.map((x, i) => {
      const target = x.prefix ?? x.target;
      const traffic: ExportTraffic = {
        interval_ms: t.interval_ms,
        from: t.from,
        to: t.to,
        state: x.state,
        pps: x.pps,
        bps: x.bps,
        peak_pps: x.peak_pps,
        peak_bps: x.peak_bps,
        ...(x.baseline_pps !== undefined ? { baseline_pps: x.baseline_pps } : {}),
        ...(x.baseline_bps !== undefined ? { baseline_bps: x.baseline_bps } : {}),
        readings: x.readings,
        ...(x.incident_id ? { incident_id: x.incident_id } : {}),
        ...(x.attack_family ? { attack_family: x.attack_family } : {}),
      };
      return {
        ...base,
        id: `${e.id}#${i}`,
        data: { ...x, interval_ms: t.interval_ms, from: t.from, to: t.to },
        action: 'traffic-summary',
        severity: (x.severity as Severity | undefined) ?? 'low',
        outcome: 'unknown' as const,
        message: `traffic to ${x.target}: ${Math.round(x.pps)} pps, ${Math.round(x.bps)} bps average, peak ${Math.round(x.peak_pps)} pps over ${Math.round(t.interval_ms / 1000)} s (${x.state})`,
        target,
        ...(hostAddress(x.target) ? { targetIp: hostAddress(x.target) } : {}),
        traffic,
      };
    });
  }
  const c = component(e);
  const target = s(d.target);
  const bad = /\.(down|stale|silent|degraded|broken|dropped|lost_events|sink_down|channel_broken)$/.test(e.type);
  return [
    {
      ...base,
      action: e.type.replace('.', '-').replace(/_/g, '-'),
      severity: OPERATIONAL_SEVERITY[e.type] ?? 'low',
      outcome:
        base.category === 'audit'
          ? s(d.outcome) === 'failed'
            ? 'failure'
            : s(d.outcome) === 'ok'
              ? 'success'
              : 'unknown'
          : bad
            ? 'failure'
            : 'success',
      message: base.category === 'audit' ? auditMessage(e) : operationalMessage(e),
      ...(target ? { target } : {}),
      ...(hostAddress(target) ? { targetIp: hostAddress(target) } : {}),
      ...(s(d.rule_id) ? { rule: exportRule(d) } : {}),
      ...(c ? { component: c } : {}),
    },
  ];
}

function auditMessage(e: WireEvent): string {
  const d = e.data as Data;
  if (e.type === 'operator.action')
    return `${txt(d.who)} ${txt(d.action)} via ${txt(d.through)}: ${(d.rule_ids as string[] | undefined)?.join(', ') ?? ''}${d.outcome ? ` (${txt(d.outcome)})` : ''}`;
  if (e.type === 'op.started')
    return `op ${txt(d.op_id)} started: ${txt(d.op)} ${txt(d.kind)} ${txt(d.action)} for ${txt(d.target)}`;
  return `${e.type}${s(d.message) ? `: ${s(d.message)}` : ''}`;
}

// ── The sink contract ─────────────────────────────────────────────────────────────────────────────────────────

/**
 * How one delivery of a batch ended: the alert classes (delivered, retry honouring the service's wait,
 * rejected, dead) plus `partial`, for services that answer per record (Elasticsearch `_bulk`): the records at
 * the `retry` indices go again (alone), those at `rejected` are dropped and counted; the rest are delivered.
 */
export type ExportOutcome =
  | DeliveryOutcome
  | {
      result: 'partial';
      retry: number[];
      rejected: { index: number; reason: string }[];
      reason: string;
      waitMs?: number;
    };

export interface ExportSink {
  /**
   * Delivers one batch, in order. Never throws for what the service answered (that is the outcome); a throw
   * counts as a network failure and is retried. The same batch may come again after a restart (at-least-once):
   * `record.id` is stable, for services that deduplicate.
   */
  send(records: readonly ExportRecord[], attempt: DeliveryAttempt): Promise<ExportOutcome>;
  /** Opens connections at start, so the first batch does not pay for it. Best effort. */
  warm?(signal: AbortSignal): Promise<void>;
  /** Where it sends, with every secret left out ("splunk.example:8088 index netsec, token from SPLUNK_TOKEN"). */
  describe(): string;
  close?(): Promise<void>;
}

export interface ExportSinkFactory<C = unknown> {
  apiVersion: typeof API_VERSION;
  /** The name policies use (`sink: splunk-hec`). Unique across all installed plugins. */
  kind: string;
  description: string;
  configSchema: ZodType<C>;
  /** How many records one send() gets at most, and about how many bytes (the service's documented limits). */
  batch: { maxRecords: number; maxBytes: number };
  /** Requests per second to the service; the policy may change it. */
  rateLimit: RateLimit;
  /** What a record sent twice does at the receiver (docs, `ft export list`): "deduplicated by _id", "a second line". */
  repeats: string;
  /** Credentials through ctx.secret(NAME) (an environment variable name in the policy). */
  create(config: C, ctx: PluginContext): Promise<ExportSink>;
}

/** `ft.exportSink(defineExportSink({...}))`: a sink kind, the same shape as an alert channel kind. */
export function defineExportSink<C>(factory: Omit<ExportSinkFactory<C>, 'apiVersion'>): ExportSinkFactory<C> {
  if (!(factory.batch.maxRecords >= 1) || !(factory.batch.maxBytes >= 1024))
    throw new Error(`export sink ${factory.kind}: batch needs maxRecords ≥ 1 and maxBytes ≥ 1024`);
  if (!(factory.rateLimit.perSecond > 0) || !(factory.rateLimit.burst >= 1))
    throw new Error(`export sink ${factory.kind}: rateLimit needs perSecond > 0 and burst ≥ 1`);
  return { apiVersion: API_VERSION, ...factory };
}
