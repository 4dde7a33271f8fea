import type { ZodType } from 'zod';
import { API_VERSION, type PluginContext } from './contract.js';
import type { Severity } from './model.js';

// ── What is sent ───────────────────────────────────────────────────────────────────────────────────────────────

/**
 * What an alert is about. Incident state changes (one message per change per channel), and the operational alarms
 * a NOC must hear about; the names are the event stream's types, plus `incident.mitigated`, which ft derives from
 * the incident's first rules going live at a level.
 */
export const ALERT_KINDS = [
  'incident.opened',
  'incident.escalated',
  'incident.deescalated',
  'incident.mitigated',
  'incident.resolved',
  'rule.failed',
  'rule.refused',
  'rule.at_cap',
  'rule.rolled_back',
  'rpki.stale',
  'rpki.fresh',
  'speaker.down',
  'speaker.up',
  'rtr.down',
  'rtr.up',
  'detector.silent',
  'detector.resumed',
  'exporter.silent',
  'exporter.degraded',
  'exporter.ok',
  'subscriber.lost_events',
  'alert.channel_broken',
  'alert.channel_ok',
  'alert.dropped',
  'export.sink_down',
  'export.sink_ok',
  'export.dropped',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const isAlertKind = (k: unknown): k is AlertKind =>
  typeof k === 'string' && (ALERT_KINDS as readonly string[]).includes(k);

/** Incident kinds, and the operational ones (everything else). */
export const INCIDENT_ALERT_KINDS = ALERT_KINDS.filter((k) => k.startsWith('incident.'));

/** One line a NOC reads at a glance ("Peak", "892,401 pps"). */
export interface AlertFact {
  label: string;
  value: string;
}

export interface AlertLink {
  text: string;
  url: string;
}

/** A rule that mitigates the incident, as the message shows it. */
export interface AlertRule {
  ruleId: string;
  kind: string;
  level: number;
  /** In router words: "discard", "rate-limit 6250000 bytes/s (50 Mbps)", "announce … community 65535:666". */
  action: string;
  via: string[];
}

/** The incident as an alert carries it (wire JSON: plain values, text prefixes, ISO times). */
export interface AlertIncident {
  id: string;
  target: string;
  /** The policy's name for the protected target (a `targets:` entry), and the protected prefix it falls in. */
  customer?: string;
  protectedPrefix?: string;
  family: string;
  vectors: string[];
  severity: Severity;
  pps: number;
  bps: number;
  peakPps: number;
  peakBps: number;
  sourceCount: number;
  topSources: { ip: string; count: number }[];
  topDstPorts: { port: number; count: number }[];
  topSrcPorts: { port: number; count: number }[];
  spoofed: boolean;
  botnet: boolean;
  startedAt: string;
  resolvedAt?: string;
  durationMs?: number;
}

/**
 * One alert, ready to render: every channel gets the same facts and shapes them its own way. Built by ft from the
 * event stream; a channel plugin never reads events itself.
 */
export interface AlertMessage {
  /**
   * Unique per state change and stable across retries and restarts (derived from the event that made it): the
   * Standard Webhooks `webhook-id`, a receiver's dedup key.
   */
  id: string;
  kind: AlertKind;
  group: 'incident' | 'operational';
  severity: Severity;
  /** firing: something is wrong (trigger/open); resolved: it is over (resolve/close). */
  status: 'firing' | 'resolved';
  /**
   * What the alert is about, stable over its life: the incident ("ft:TENANT:INCIDENT") or the component
   * ("ft:TENANT:speaker:NAME"). PagerDuty's dedup_key, OpsGenie's alias, Datadog's aggregation_key: trigger and
   * resolve share it, so repeats are harmless.
   */
  key: string;
  /** "DDoS udp_flood on 203.0.113.10: opened" (≤ 150 characters). */
  title: string;
  /** One line with the numbers (notifications, SMS). */
  summary: string;
  /** When the state changed (ISO 8601). */
  at: string;
  tenant: string;
  /** The ft process that saw it. */
  node: string;
  /** POPs involved (of the rules' speakers, or the component's). */
  pops: string[];
  incident?: AlertIncident;
  /** Escalation level now and before (escalated, deescalated, mitigated). */
  level?: number;
  previousLevel?: number;
  /** Rules live for the incident (mitigated), or withdrawn with it (resolved). */
  rules?: AlertRule[];
  /** What else the NOC should read, in order: target, customer, family, peak, sources, ports, level, actions, POP. */
  facts: AlertFact[];
  links: AlertLink[];
  /**
   * Earlier state changes of the same incident that this message stands for: they were still waiting for the
   * channel (rate limit, a slow service) when this one came, and one message says it all.
   */
  history: { kind: AlertKind; at: string }[];
  /** A sample sent by `ft alert test`, not a real alert (channels say so in the text). */
  test?: boolean;
}

// ── What a channel answers ────────────────────────────────────────────────────────────────────────────────────

/**
 * How one delivery attempt ended, in the classes every vendor's docs come down to. The host retries `retry`
 * (honouring `waitMs`, the service's Retry-After), drops a `rejected` message and tells the other channels, and
 * stops a `dead` channel (its hook or key is gone) and tells the other channels.
 */
export type DeliveryOutcome =
  | { result: 'delivered'; detail?: string }
  | { result: 'retry'; reason: string; status?: number; waitMs?: number }
  | { result: 'rejected'; reason: string; status?: number }
  | { result: 'dead'; reason: string; status?: number };

/** What the host tells a channel about the attempt it asks for. */
export interface DeliveryAttempt {
  /** 1 for the first try. */
  attempt: number;
  /** Aborted at the attempt's time limit or at shutdown. */
  signal: AbortSignal;
}

/** A token bucket: on average `perSecond`, at most `burst` at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface AlertChannel {
  /** Sends one message; never throws for what the service answered (that is the outcome), only for bugs. */
  send(message: AlertMessage, attempt: DeliveryAttempt): Promise<DeliveryOutcome>;
  /** Opens the connection pool at start (TCP + TLS), so the first alert does not pay for it. Best effort. */
  warm?(signal: AbortSignal): Promise<void>;
  /** Where it sends, for `ft alert list`, with every secret left out ("hooks.slack.com, URL from SLACK_URL"). */
  describe(): string;
  close?(): Promise<void>;
}

export interface AlertChannelFactory<C = unknown> {
  apiVersion: typeof API_VERSION;
  /** The name policies use (`channel: slack`). Unique across all installed plugins. */
  kind: string;
  description: string;
  /** Validates this kind's options in the policy; errors point at the policy's own lines. */
  configSchema: ZodType<C>;
  /** The service's documented limit for one destination; the policy may lower (or raise) it per channel. */
  rateLimit: RateLimit;
  /** What a repeat does at the receiver (docs and `ft alert list`): "deduplicated by dedup_key", "a second message". */
  repeats: string;
  /** Credentials are resolved through ctx.secret(NAME) (an environment variable name in the policy). */
  create(config: C, ctx: PluginContext): Promise<AlertChannel>;
}

/** `ft.alertChannel(defineAlertChannel({...}))`: a channel kind, the same shape as an action kind. */
export function defineAlertChannel<C>(factory: Omit<AlertChannelFactory<C>, 'apiVersion'>): AlertChannelFactory<C> {
  if (!(factory.rateLimit.perSecond > 0) || !(factory.rateLimit.burst >= 1))
    throw new Error(`alert channel ${factory.kind}: rateLimit needs perSecond > 0 and burst ≥ 1`);
  return { apiVersion: API_VERSION, ...factory };
}

// ── Text every channel shares ─────────────────────────────────────────────────────────────────────────────────

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
export const severityRank = (s: Severity): number => SEVERITY_RANK[s];

/** 892401 → "892,401" (en-US grouping: NOCs read logs in many locales, the digits must not change meaning). */
export const grouped = (n: number): string => Math.round(n).toLocaleString('en-US');

/** What the state change was, in a few words ("opened", "escalated to level 2", …). */
export function alertVerb(m: Pick<AlertMessage, 'kind' | 'level' | 'previousLevel'>): string {
  switch (m.kind) {
    case 'incident.opened':
      return 'opened';
    case 'incident.escalated':
      return `escalated to level ${m.level ?? '?'}`;
    case 'incident.deescalated':
      return `de-escalated to level ${m.level ?? '?'}`;
    case 'incident.mitigated':
      return m.level === 0 ? 'mitigated on the node' : `mitigated at level ${m.level ?? '?'}`;
    case 'incident.resolved':
      return 'resolved';
    default:
      return m.kind;
  }
}

/** Plain text of a whole message (email bodies, SMS, Telegram): title, summary, facts, links. */
export function alertText(m: AlertMessage, o: { facts?: boolean; links?: boolean } = {}): string {
  const lines = [`${m.test ? '[TEST] ' : ''}${m.title}`, m.summary];
  if (o.facts !== false) for (const f of m.facts) lines.push(`${f.label}: ${f.value}`);
  if (m.history.length > 0) lines.push(`Also: ${m.history.map((h) => `${h.kind} at ${h.at}`).join(', ')}`);
  if (o.links !== false) for (const l of m.links) lines.push(`${l.text}: ${l.url}`);
  return lines.join('\n');
}

/** Cuts text to `max` characters (a vendor's field limit), marking the cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}
