import {
  Prefix,
  formatBitrate,
  formatDuration,
  formatPacketRate,
  grouped,
  alertVerb,
  clip,
  type AlertFact,
  type AlertIncident,
  type AlertKind,
  type AlertLink,
  type AlertMessage,
  type AlertRule,
  type IncidentJson,
  type Severity,
  type WireEvent,
} from '@ft/sdk';

/** What the builder needs from the policy: who a target belongs to, and the dashboard link. */
export interface MessageContext {
  /** The `targets:` entry and protected prefix an address falls in. */
  customerOf(target: string): { customer?: string; protectedPrefix?: string };
  /** URL template with {incident}, {tenant}, {target}. */
  dashboard?: string;
}

/** One message to send, with what it stands for in the stream (the seqs to acknowledge once it is delivered). */
export interface Built {
  message: AlertMessage;
  /** An amendment (more rules for a `mitigated` already built): only merged into a message still waiting. */
  amend?: boolean;
}

interface IncidentState {
  level: number;
  mitigated: Set<number>;
  rules: Map<string, AlertRule & { pops: string[] }>;
  withdrawn: number;
  last?: AlertIncident;
  resolvedAt?: number;
}

/** Operational alarms without a recovery event are sent at most once per key in this window. */
const REPEAT_WINDOW_MS = 10 * 60_000;
const MAX_TRACKED = 10_000;

/**
 * Turns the event stream into alert messages: one per incident state change (opened, escalated, de-escalated,
 * mitigated at a level, resolved) and one per operational alarm transition. Pure apart from what it remembers of
 * the incidents it has seen (their level and live rules), so a message says what a NOC needs without a lookup.
 * Every channel runs its own builder over its own cursor: what it produces depends only on the events.
 */
export class MessageBuilder {
  private readonly incidents = new Map<string, IncidentState>();
  private readonly lastSent = new Map<string, number>();

  constructor(
    private readonly ctx: MessageContext,
    /** This channel's own name: its own breakage is not news to itself. */
    private readonly self?: string,
  ) {}

  build(e: WireEvent): Built[] {
    switch (e.type) {
      case 'incident.opened': {
        const inc = this.incident(e.data.incident);
        const st = this.state(e.data.incident.id);
        st.last = inc;
        return [{ message: this.incidentMessage(e, 'incident.opened', inc, st, {}) }];
      }
      case 'incident.escalated':
      case 'incident.deescalated': {
        const inc = this.incident(e.data.incident);
        const st = this.state(e.data.incident.id);
        st.last = inc;
        st.level = e.data.level;
        return [
          {
            message: this.incidentMessage(e, e.type, inc, st, {
              level: e.data.level,
              previousLevel: e.data.previous_level,
              ...(e.data.reason ? { reason: e.data.reason } : {}),
            }),
          },
        ];
      }
      case 'incident.updated': {
        const st = this.state(e.data.incident.id);
        st.last = this.incident(e.data.incident);
        return [];
      }
      case 'incident.resolved': {
        const inc = this.incident(e.data.incident);
        inc.durationMs = e.data.duration_ms;
        const st = this.state(e.data.incident.id);
        st.last = inc;
        st.resolvedAt = Date.parse(e.at);
        const level = e.data.level ?? st.level;
        const built = this.incidentMessage(e, 'incident.resolved', inc, st, { level });
        return [{ message: built }];
      }
      case 'rule.added': {
        const d = e.data;
        if (!d.incident_id || (d.outcome !== 'ok' && d.outcome !== 'partial')) return [];
        const st = this.state(d.incident_id);
        st.rules.set(d.rule_id, {
          ruleId: d.rule_id,
          kind: d.kind,
          level: d.level,
          action: d.action,
          via: d.via,
          pops: d.pops ?? [],
        });
        if (d.level > st.level) st.level = d.level;
        const inc = st.last;
        if (!inc) return []; // an incident this channel never saw open (a cursor started after it): nothing to say
        const first = !st.mitigated.has(d.level);
        st.mitigated.add(d.level);
        const message = this.incidentMessage(e, 'incident.mitigated', inc, st, { level: d.level });
        // The first rule live at a level is the state change; more rules at that level only fill in a message
        // that is still waiting.
        return [{ message, ...(first ? {} : { amend: true }) }];
      }
      case 'rule.withdrawn': {
        const st = e.data.incident_id ? this.incidents.get(e.data.incident_id) : undefined;
        if (st && st.rules.delete(e.data.rule_id)) st.withdrawn++;
        return [];
      }
      case 'rule.failed':
        return this.once(e, `rule:${e.data.rule_id}:failed`, 'high', {
          title: `Rule ${e.data.kind} for ${hostText(e.data.target)} failed (${e.data.op})`,
          summary: `${e.data.action} via ${e.data.via.join(', ')}: ${errorsOf(e.data.results) || e.data.outcome}${e.data.retry_at ? `; next try ${e.data.retry_at}` : ''}`,
          facts: ruleFacts(e.data),
          pops: e.data.pops ?? [],
          target: hostText(e.data.target),
        });
      case 'rule.refused':
        return this.once(e, `rule:${e.data.rule_id}:refused:${e.data.rail}`, 'medium', {
          title: `Rule ${e.data.kind} for ${hostText(e.data.target)} refused (${e.data.rail})`,
          summary: e.data.message,
          facts: ruleFacts(e.data),
          pops: e.data.pops ?? [],
          target: hostText(e.data.target),
        });
      case 'rule.at_cap':
        return this.once(e, `cap:${e.tenant}`, 'high', {
          title: `Rule cap reached for tenant ${e.tenant} (${e.data.used ?? e.data.cap}/${e.data.cap})`,
          summary: e.data.message,
          facts: ruleFacts(e.data),
          pops: e.data.pops ?? [],
          target: hostText(e.data.target),
        });
      case 'rule.rolled_back':
        return this.once(e, `rule:${e.data.rule_id}:rollback`, 'high', {
          title: `Collateral damage: rule for ${hostText(e.data.target)} rolled back`,
          summary: `${e.data.message} (legitimate traffic ${grouped(e.data.legit_before)} → ${grouped(e.data.legit_after)} pps, -${Math.round(e.data.drop * 100)}%, allowed -${Math.round(e.data.allowed * 100)}%)`,
          facts: ruleFacts(e.data),
          pops: e.data.pops ?? [],
          target: hostText(e.data.target),
        });
      case 'rpki.stale':
        return this.pair(e, 'rpki', 'high', 'firing', 'RPKI data is stale', e.data.detail, []);
      case 'rpki.fresh':
        return this.pair(e, 'rpki', 'high', 'resolved', 'RPKI data is fresh again', e.data.detail ?? '', []);
      case 'speaker.down':
        return this.pair(
          e,
          `speaker:${e.data.speaker}`,
          'critical',
          'firing',
          `Speaker ${e.data.speaker} ${e.data.status}`,
          e.data.detail ?? `${e.data.adapter ?? 'action'} ${e.data.speaker} is ${e.data.status}`,
          e.data.pop ? [e.data.pop] : [],
        );
      case 'speaker.up':
        return this.pair(
          e,
          `speaker:${e.data.speaker}`,
          'critical',
          'resolved',
          `Speaker ${e.data.speaker} up`,
          `${e.data.detail ?? `${e.data.speaker} is healthy again`}${e.data.down_for_ms ? ` after ${formatDuration(Math.round(e.data.down_for_ms / 1000))}` : ''}`,
          e.data.pop ? [e.data.pop] : [],
        );
      case 'rtr.down':
        return this.pair(
          e,
          `rtr:${e.data.cache}`,
          'high',
          'firing',
          `RTR cache ${e.data.cache} down`,
          e.data.error,
          [],
        );
      case 'rtr.up':
        return this.pair(e, `rtr:${e.data.cache}`, 'high', 'resolved', `RTR cache ${e.data.cache} up`, '', []);
      case 'detector.silent':
        return this.pair(
          e,
          `detector:${e.data.detector}`,
          'high',
          'firing',
          `Detector ${e.data.detector} silent`,
          `no sample for ${formatDuration(Math.round(e.data.silent_for_ms / 1000))}${e.data.detail ? `: ${e.data.detail}` : ''}`,
          [],
        );
      case 'detector.resumed':
        return this.pair(
          e,
          `detector:${e.data.detector}`,
          'high',
          'resolved',
          `Detector ${e.data.detector} resumed`,
          `silent for ${formatDuration(Math.round(e.data.silent_for_ms / 1000))}`,
          [],
        );
      case 'exporter.silent':
      case 'exporter.degraded':
        return this.pair(
          e,
          `exporter:${e.data.detector}:${e.data.exporter}`,
          'medium',
          'firing',
          `Flow exporter ${e.data.exporter} ${e.type === 'exporter.silent' ? 'silent' : 'degraded'}`,
          e.data.detail ?? `heard by ${e.data.detector}`,
          [],
        );
      case 'exporter.ok':
        return this.pair(
          e,
          `exporter:${e.data.detector}:${e.data.exporter}`,
          'medium',
          'resolved',
          `Flow exporter ${e.data.exporter} ok`,
          e.data.detail ?? '',
          [],
        );
      case 'subscriber.lost_events':
        return this.once(e, `lost:${e.data.subscriber}:${e.data.from_seq}`, 'high', {
          title: `${e.data.subscriber} lost ${e.data.lost} events`,
          summary: `It fell behind the event log's retention: events ${e.data.from_seq}-${e.data.to_seq} were removed before it read them`,
          facts: [],
          pops: [],
        });
      case 'alert.channel_broken':
        if (e.data.channel === this.self) return [];
        return this.pair(
          e,
          `channel:${e.data.channel}`,
          'high',
          'firing',
          `Alert channel ${e.data.channel} is broken`,
          `${e.data.kind} answered${e.data.status ? ` ${e.data.status}` : ''}: ${e.data.reason}. ${e.data.pending} alert(s) wait for it; fix it and restart ft`,
          [],
        );
      case 'alert.channel_ok':
        if (e.data.channel === this.self) return [];
        return this.pair(
          e,
          `channel:${e.data.channel}`,
          'high',
          'resolved',
          `Alert channel ${e.data.channel} delivers again`,
          '',
          [],
        );
      case 'alert.dropped':
        if (e.data.channel === this.self) return [];
        return this.once(e, `dropped:${e.data.channel}:${e.id}`, 'medium', {
          title: `Alert channel ${e.data.channel} dropped an alert`,
          summary: `"${e.data.alert}" (${e.data.alert_kind}): ${e.data.reason} after ${e.data.attempts} attempt(s)`,
          facts: [],
          pops: [],
        });
      case 'export.sink_down':
        return this.pair(
          e,
          `export:${e.data.sink}`,
          'high',
          'firing',
          `Export sink ${e.data.sink} is ${e.data.state === 'broken' ? 'refusing ft' : 'down'}`,
          `${e.data.kind} answered${e.data.status ? ` ${e.data.status}` : ''}: ${e.data.reason}. ${e.data.pending} record(s) spooled on disk for it; the oldest are dropped when the spool is full`,
          [],
        );
      case 'export.sink_ok':
        return this.pair(
          e,
          `export:${e.data.sink}`,
          'high',
          'resolved',
          `Export sink ${e.data.sink} delivers again`,
          e.data.pending ? `${e.data.pending} record(s) still spooled; catching up` : '',
          [],
        );
      case 'export.dropped':
        return this.once(e, `export-dropped:${e.data.sink}:${e.data.reason}`, 'high', {
          title: `Export sink ${e.data.sink} dropped ${e.data.dropped} record(s)`,
          summary:
            e.data.reason === 'spool_full'
              ? `Its spool reached its size bound while it was down: the oldest records (events ${e.data.from_seq ?? '?'}-${e.data.to_seq ?? '?'}) were dropped; ${e.data.total} dropped in all`
              : `The sink refused them for their content${e.data.detail ? `: ${e.data.detail}` : ''}; ${e.data.total} dropped in all`,
          facts: [],
          pops: [],
        });
      default:
        return [];
    }
  }

  private state(id: string): IncidentState {
    let st = this.incidents.get(id);
    if (!st) {
      if (this.incidents.size >= MAX_TRACKED) this.prune();
      st = { level: 0, mitigated: new Set(), rules: new Map(), withdrawn: 0 };
      this.incidents.set(id, st);
    }
    return st;
  }

  /** Forgets resolved incidents first, then the oldest. */
  private prune(): void {
    for (const [id, st] of this.incidents) if (st.resolvedAt !== undefined) this.incidents.delete(id);
    while (this.incidents.size >= MAX_TRACKED) this.incidents.delete(this.incidents.keys().next().value as string);
  }

  private incident(j: IncidentJson): AlertIncident {
    const owner = this.ctx.customerOf(j.target);
    return {
      id: j.id,
      target: hostText(j.target),
      ...(owner.customer ? { customer: owner.customer } : {}),
      ...(owner.protectedPrefix ? { protectedPrefix: owner.protectedPrefix } : {}),
      family: j.attack_family,
      vectors: j.vector,
      severity: j.severity,
      pps: j.pps,
      bps: j.bps,
      peakPps: j.peak_pps,
      peakBps: j.peak_bps,
      sourceCount: j.source_ip_count,
      topSources: j.top_src_ips.slice(0, 5).map((s) => ({ ip: String(s.ip), count: Number(s.count) })),
      topDstPorts: j.top_dst_ports.slice(0, 5).map((p) => ({ port: Number(p.port), count: Number(p.count) })),
      topSrcPorts: j.top_src_ports.slice(0, 5).map((p) => ({ port: Number(p.port), count: Number(p.count) })),
      spoofed: j.spoofing_detected,
      botnet: j.botnet_detected,
      startedAt: j.started_at,
      ...(j.resolved_at ? { resolvedAt: j.resolved_at } : {}),
    };
  }

  private links(e: WireEvent, inc?: AlertIncident): AlertLink[] {
    if (!this.ctx.dashboard) return [];
    const url = this.ctx.dashboard
      .replaceAll('{incident}', encodeURIComponent(inc?.id ?? ''))
      .replaceAll('{tenant}', encodeURIComponent(e.tenant))
      .replaceAll('{target}', encodeURIComponent(inc?.target ?? ''));
    return [{ text: inc ? `Incident ${inc.id}` : 'Dashboard', url }];
  }

  private incidentMessage(
    e: WireEvent,
    kind: AlertKind,
    inc: AlertIncident,
    st: IncidentState,
    o: { level?: number; previousLevel?: number; reason?: string },
  ): AlertMessage {
    const rules = [...st.rules.values()];
    const pops = [...new Set(rules.flatMap((r) => r.pops))].sort();
    const verb = alertVerb({ kind, ...o });
    const peak = `${grouped(inc.peakPps)} pps / ${formatBitrate(inc.peakBps)}`;
    const facts: AlertFact[] = [{ label: 'Target', value: inc.target }];
    if (inc.customer || inc.protectedPrefix)
      facts.push({
        label: 'Customer',
        value: [inc.customer, inc.protectedPrefix && `in ${inc.protectedPrefix}`].filter(Boolean).join(' '),
      });
    facts.push({ label: 'Family', value: inc.family.replace('_', ' ') });
    if (inc.vectors.length) facts.push({ label: 'Vectors', value: inc.vectors.join(', ') });
    facts.push({ label: 'Severity', value: inc.severity });
    facts.push({ label: 'Peak', value: peak });
    if (kind !== 'incident.resolved')
      facts.push({ label: 'Now', value: `${grouped(inc.pps)} pps / ${formatBitrate(inc.bps)}` });
    if (inc.topSources.length || inc.sourceCount)
      facts.push({
        label: 'Sources',
        value: `${grouped(inc.sourceCount)}${inc.spoofed ? ' (spoofed)' : ''}${inc.botnet ? ' (botnet)' : ''}${
          inc.topSources.length
            ? `; top ${inc.topSources
                .slice(0, 3)
                .map((s) => s.ip)
                .join(', ')}`
            : ''
        }`,
      });
    if (inc.topDstPorts.length)
      facts.push({
        label: 'Ports',
        value: `dst ${inc.topDstPorts
          .slice(0, 3)
          .map((p) => p.port)
          .join(', ')}${
          inc.topSrcPorts.length
            ? `; src ${inc.topSrcPorts
                .slice(0, 3)
                .map((p) => p.port)
                .join(', ')}`
            : ''
        }`,
      });
    const level = o.level ?? st.level;
    if (level > 0 || kind !== 'incident.opened')
      facts.push({
        label: 'Level',
        value: `${level}${o.previousLevel !== undefined ? ` (was ${o.previousLevel})` : ''}`,
      });
    if (rules.length && kind !== 'incident.opened')
      facts.push({
        label: kind === 'incident.resolved' ? 'Withdrawing' : 'Actions',
        value: rules.map((r) => `${r.action} via ${r.via.join(', ')}`).join('; '),
      });
    if (kind === 'incident.resolved') {
      if (inc.durationMs !== undefined)
        facts.push({ label: 'Duration', value: formatDuration(Math.max(1, Math.round(inc.durationMs / 1000))) });
      facts.push({ label: 'Rules', value: `${rules.length} withdrawing, ${st.withdrawn} withdrawn` });
    }
    if (o.reason) facts.push({ label: 'Why', value: o.reason });
    facts.push({ label: 'POP', value: pops.length ? `${pops.join(', ')} (${e.node})` : e.node });
    const summaryBits = [
      `peak ${formatPacketRate(inc.peakPps)}, ${formatBitrate(inc.peakBps)}`,
      inc.vectors.length ? inc.vectors.join('+') : undefined,
      rules.length && kind === 'incident.mitigated'
        ? `${rules.length} rule(s): ${rules.map((r) => r.kind).join(', ')}`
        : undefined,
      kind === 'incident.resolved' && inc.durationMs !== undefined
        ? `after ${formatDuration(Math.max(1, Math.round(inc.durationMs / 1000)))}`
        : undefined,
    ].filter(Boolean);
    return {
      id: `ft-${e.id}`,
      kind,
      group: 'incident',
      severity: inc.severity,
      status: kind === 'incident.resolved' ? 'resolved' : 'firing',
      key: `ft:${e.tenant}:${inc.id}`,
      title: clip(`DDoS ${inc.family} on ${inc.target}: ${verb}`, 150),
      summary: clip(`${inc.customer ? `${inc.customer}: ` : ''}${summaryBits.join('; ')}`, 300),
      at: e.at,
      tenant: e.tenant,
      node: e.node,
      pops,
      incident: inc,
      ...(level > 0 || kind !== 'incident.opened' ? { level } : {}),
      ...(o.previousLevel !== undefined ? { previousLevel: o.previousLevel } : {}),
      ...(rules.length ? { rules: rules.map(({ pops: _p, ...r }) => r) } : {}),
      facts,
      links: this.links(e, inc),
      history: [],
    };
  }

  private opMessage(
    e: WireEvent,
    key: string,
    severity: Severity,
    status: 'firing' | 'resolved',
    m: { title: string; summary: string; facts: AlertFact[]; pops: string[]; target?: string },
  ): AlertMessage {
    const facts = [...m.facts, { label: 'POP', value: m.pops.length ? `${m.pops.join(', ')} (${e.node})` : e.node }];
    return {
      id: `ft-${e.id}`,
      kind: e.type as AlertKind,
      group: 'operational',
      severity,
      status,
      key: `ft:${e.tenant}:${key}`,
      title: clip(`ft: ${m.title}`, 150),
      summary: clip(m.summary || m.title, 300),
      at: e.at,
      tenant: e.tenant,
      node: e.node,
      pops: m.pops,
      facts,
      links: this.links(e),
      history: [],
    };
  }

  /** An alarm without a recovery event: once per key per window (by event time, so a replay decides the same). */
  private once(
    e: WireEvent,
    key: string,
    severity: Severity,
    m: { title: string; summary: string; facts: AlertFact[]; pops: string[]; target?: string },
  ): Built[] {
    const at = Date.parse(e.at);
    const last = this.lastSent.get(key);
    if (last !== undefined && at - last < REPEAT_WINDOW_MS) return [];
    if (this.lastSent.size >= MAX_TRACKED) this.lastSent.clear();
    this.lastSent.set(key, at);
    return [{ message: withTarget(this.opMessage(e, key, severity, 'firing', m), m.target) }];
  }

  /** A down/up pair: each transition is news; the pair shares its key, so trigger and resolve match. */
  private pair(
    e: WireEvent,
    key: string,
    severity: Severity,
    status: 'firing' | 'resolved',
    title: string,
    summary: string,
    pops: string[],
  ): Built[] {
    return [{ message: this.opMessage(e, key, severity, status, { title, summary, facts: [], pops }) }];
  }
}

/** "203.0.113.10/32" → "203.0.113.10": an attacked host reads as an address; a prefix keeps its length. */
export function hostText(target: string): string {
  try {
    const p = Prefix.parse(target);
    return p.isHost ? p.address : p.toString();
  } catch {
    return target;
  }
}

/** Operational alarms about a rule keep its target, so routes by target prefix reach them. */
function withTarget(m: AlertMessage, target: string | undefined): AlertMessage {
  if (!target) return m;
  return { ...m, facts: [{ label: 'Target', value: target }, ...m.facts] };
}

function ruleFacts(d: { kind: string; target: string; level: number; action: string; via: string[]; rule_id: string }) {
  return [
    { label: 'Rule', value: `${d.kind} ${d.rule_id}` },
    { label: 'Level', value: String(d.level) },
    { label: 'Action', value: d.action },
    { label: 'Via', value: d.via.join(', ') || '-' },
  ];
}

function errorsOf(results: readonly { adapter: string; error?: string | undefined; outcome: string }[]): string {
  return results
    .filter((r) => r.outcome !== 'ok')
    .map((r) => `${r.adapter}: ${r.error ?? r.outcome}`)
    .join('; ');
}

/** Folds a waiting message into the newer one for the same key: one message says both. */
export function mergeMessages(waiting: AlertMessage, next: AlertMessage, amend = false): AlertMessage {
  if (amend) {
    // More rules for a `mitigated` still waiting: its facts and rules become the newer, fuller ones.
    return { ...next, id: waiting.id, kind: waiting.kind, history: waiting.history, at: waiting.at };
  }
  const history = [...waiting.history, { kind: waiting.kind, at: waiting.at }].slice(-20);
  return { ...next, history };
}

/** The target an alert is about, for routes by prefix. */
export function alertTarget(m: AlertMessage): Prefix | undefined {
  const text = m.incident?.target ?? m.facts.find((f) => f.label === 'Target')?.value;
  if (!text) return undefined;
  try {
    return Prefix.parse(text);
  } catch {
    return undefined;
  }
}
