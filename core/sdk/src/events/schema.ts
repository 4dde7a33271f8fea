import { z } from 'zod';
import { ATTACK_FAMILIES, RULE_KINDS, SEVERITIES, type IncidentReport, type Rule } from '../model.js';
import { fromReport, toReport, type Incident } from '../incident.js';
import { isVector } from '../vectors.js';
import { reviveRule } from '../revive.js';
import {
  any,
  arr,
  named,
  bool,
  doc,
  foreign,
  int,
  num,
  obj,
  oneOf,
  opt,
  prefix,
  rec,
  str,
  time,
  type Dual,
  type InOf,
  type WireOf,
} from './dual.js';

// ── Shared pieces ──────────────────────────────────────────────────────────────────────────────────────────────

/** A rule in ft's own rule JSON, exactly as `ft mitigate list --json` prints it and `mitigate apply --rule` reads. */
const ruleJson = foreign<Rule, Record<string, unknown>>(
  'rule',
  z
    .looseObject({
      id: z.string().describe('Content-derived id: the same rule planned twice is one rule.'),
      kind: z.enum(RULE_KINDS),
      tenant: z.string(),
      target: z.string().meta({ format: 'ip-prefix', description: 'The protected address or prefix.' }),
      level: z.number().describe('Escalation level that asked for it.'),
      ttlSeconds: z.number().describe('TTL in seconds; kind-specific fields (match, action, communities…) follow.'),
    })
    .meta({
      id: 'Rule',
      description:
        "The whole rule in ft's rule JSON (as `ft mitigate list --json` prints it; camelCase, as plan files are).",
    }),
  (w) => reviveRule(w, 'event rule', false),
  (r) => JSON.parse(JSON.stringify(r)) as Record<string, unknown>,
);

const counted = <K extends z.ZodType>(key: string, k: K) => z.array(z.object({ [key]: k, count: z.number() }));

/** The reference agent's "Report Incident" body with ft's additions: the edge form of core's Incident. */
export const incidentJsonSchema = z
  .object({
    id: z.string().describe('Incident id (stable for its whole life; the same attack after a restart is a new one).'),
    target: z.string().meta({ format: 'ip-prefix', description: 'The attacked address or prefix.' }),
    state: z.enum(['open', 'resolved']),
    attack_family: z.enum(ATTACK_FAMILIES).describe('What the classifier calls it.'),
    severity: z.enum(SEVERITIES),
    vector: z.array(z.string()).describe('Amplification vectors by source-port signature, strongest first.'),
    confidence: z.number().describe('0..1: how sure the classifier is of family and vector.'),
    pps: z.number().describe('Packets per second in the last window.'),
    bps: z.number().describe('Bits per second in the last window.'),
    peak_pps: z.number().describe('Highest pps since it opened.'),
    peak_bps: z.number().describe('Highest bps since it opened.'),
    protocol_breakdown: z
      .object({
        tcp: z.number(),
        udp: z.number(),
        icmp: z.number(),
        other: z.number().optional(),
      })
      .describe('Packets per second by IP protocol.'),
    tcp_flag_breakdown: z.record(z.string(), z.number()).describe('Packets per second carrying each TCP flag.'),
    source_ip_count: z.number().describe('Estimated distinct sources.'),
    top_src_ips: counted('ip', z.string()).describe('Busiest sources.'),
    top_dst_ports: counted('port', z.number()).describe('Busiest destination ports.'),
    top_src_ports: counted('port', z.number()).describe('Busiest source ports (what the vectors are read from).'),
    packet_length: z.object({ min: z.number(), max: z.number() }).optional().describe('Packet length range, bytes.'),
    spoofing_detected: z.boolean().describe('Sources look spoofed (TTL and address spread).'),
    botnet_detected: z.boolean().describe('Sources look like a botnet (many real hosts).'),
    ioc_matches: z
      .array(z.looseObject({ ioc_id: z.string(), kind: z.string(), value: z.string(), count: z.number() }))
      .optional()
      .describe('IOCs packets of the attack matched (only where packets were captured: the pcap detector).'),
    packet_evidence: z
      .looseObject({
        packets: z.number(),
        spoofing: z.enum(['spoofed', 'not-spoofed', 'unknown']),
        spoofed_share: z.number(),
        spoofed_sources: z.array(z.string()),
        real_sources: z.array(z.string()),
        evidence: z.array(z.string()),
        signatures: z.array(
          z.looseObject({
            id: z.string(),
            kind: z.enum(['botnet', 'reflection']),
            packets: z.number(),
            share: z.number(),
            vector: z.string().optional(),
          }),
        ),
      })
      .optional()
      .describe(
        'What a packet capture of the attack showed: the TTL spoofing verdict and botnet/reflection signatures.',
      ),
    pcap: z
      .object({ id: z.string(), file: z.string() })
      .optional()
      .describe("The incident's capture (`ft pcap show|export ID`); the file exists once the incident resolved."),
    http: z.looseObject({ site: z.string() }).optional().describe('For http_flood: the site, top paths and agents.'),
    sources: z.array(z.string()).describe('Detector instances that saw it.'),
    started_at: z.iso.datetime({ offset: true }),
    updated_at: z.iso.datetime({ offset: true }),
    resolved_at: z.iso.datetime({ offset: true }).optional(),
    group: z
      .string()
      .optional()
      .describe('The policy host group the attack is on as a whole; the target is one of its members.'),
  })
  .meta({
    id: 'Incident',
    description: 'The incident in the reference "Report Incident" JSON (snake_case) with ft\'s additions.',
  });
export type IncidentJson = z.infer<typeof incidentJsonSchema>;

/** The one mapping between core's Incident and its edge JSON (the wire, `--json`, webhooks). */
export function incidentToJson(i: Incident): IncidentJson {
  return JSON.parse(JSON.stringify(toReport(i))) as IncidentJson;
}
export function incidentFromJson(j: IncidentJson): Incident {
  return fromReport({ ...j, vector: j.vector.filter(isVector) } as IncidentReport);
}
const incident = foreign<Incident, IncidentJson>('incident', incidentJsonSchema, incidentFromJson, incidentToJson);

const ruleFacts = {
  ruleId: str('The rule id (content-derived; also the tag on the router).'),
  kind: oneOf(RULE_KINDS, 'flowspec, rtbh, divert, host-filter or shape.'),
  target: prefix('The protected address or prefix the rule is about.'),
  level: int('Escalation level that asked for it (0: on-node rules and rules written by hand).'),
  action: str(
    'What it does, in router words: "discard", "rate-limit 6250000 bytes/s (50 Mbps)", "announce … community 65535:666 no-export", "… to scrubber cf".',
  ),
  match: opt(str('What it matches, for flowspec and on-node rules (RFC 8955 component words).')),
  via: arr(str(), 'Action instances (speakers, scrubbers, on-node mechanisms) that carry it.'),
  pops: opt(arr(str(), 'POPs of those instances (fleet).')),
  route: opt(str('Its identity on the wire: address family and NLRI (FlowSpec), or the prefix (RTBH, divert).')),
  incidentId: opt(str('The incident it mitigates.')),
  plannedBy: opt(
    str(
      'Who or what asked: planner, operator:NAME, lifecycle:ttl|retry|resolve|collateral, reconcile, rpki, shutdown.',
    ),
  ),
  rule: ruleJson,
};

const adapterResult = named(
  obj({
    adapter: str('Action instance (a speaker, scrubber or on-node mechanism) from the policy.'),
    outcome: oneOf(['ok', 'failed', 'timeout', 'skipped']),
    attempts: int('Calls made (retries within the op included).'),
    ms: num('Time the call took, retries included.'),
    detail: opt(str('What the action reported.')),
    error: opt(str('Why it failed.')),
  }),
  'AdapterResult',
  "One action instance's answer to an apply or withdraw.",
);
const results = doc(arr(adapterResult), 'Per action instance: outcome, attempts, time, error.');

const rendered = doc(
  arr(
    named(
      obj({
        adapter: str('Action instance.'),
        format: oneOf(['argv', 'exabgp', 'grpc', 'bird-config', 'vtysh', 'nft', 'http', 'text']),
        text: str('The command as preview prints it.'),
        argv: opt(arr(str(), 'The argv run, for command-line mechanisms.')),
        payload: opt(any('The request body sent, for API mechanisms.')),
      }),
      'RenderedCommand',
      'Exactly what one action runs for a rule.',
    ),
  ),
  'Exactly what each action runs (the same text preview prints).',
);

const rpkiVerdict = named(
  obj({
    state: oneOf(['valid', 'invalid', 'not-found', 'unknown', 'skipped'], 'Strict RFC 6811 state (skipped: rpki off).'),
    reason: str('Why the check let it through or refused it.'),
    loose: opt(oneOf(['valid', 'invalid', 'not-found'], 'For RTBH: the state ignoring maxLength.')),
    sessionId: opt(int('RTR session id of the data.')),
    serial: opt(int('RTR serial of the data.')),
    dataAgeSeconds: opt(num('Age of the data at the check.')),
  }),
  'RpkiVerdict',
  'The RPKI check before an announcement: strict for the covering route, loose for an RTBH host route.',
);

const reason = named(
  obj({
    summary: str('In words.'),
    level: opt(int('Escalation level.')),
    trigger: opt(str('The trigger that fired.')),
    observed: opt(rec(any(), 'The values it fired on.')),
  }),
  'Reason',
  'Why an op was planned: the level and trigger, and the values that fired it.',
);

const opName = oneOf(
  ['add', 'replace', 'refresh', 'withdraw'],
  'The op (replace: a new action on a route already on the wire).',
);
const outcome = oneOf(
  ['ok', 'partial', 'failed', 'skipped', 'interrupted'],
  'ok, partial (some instances failed), failed.',
);
const mode = oneOf(['enforce', 'preview']);

// ── The events ─────────────────────────────────────────────────────────────────────────────────────────────────

// `any` in these two constraints: any Dual at all; with `unknown`, Duals whose codec functions take narrower types
// would not fit (function parameters are contravariant).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
interface EventDef<D extends Dual<any, any>> {
  /** Group for docs and filters: incident, rule, op, operational. */
  group: 'incident' | 'rule' | 'op' | 'operational' | 'traffic';
  summary: string;
  data: D;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const def = <D extends Dual<any, any>>(group: EventDef<D>['group'], summary: string, data: D): EventDef<D> => ({
  group,
  summary,
  data,
});

const incidentLevel = {
  incident,
  level: int(
    "Escalation level now: the highest level of the incident's network rules wanted or held (cooldown) after this plan.",
  ),
  previousLevel: int('Level before.'),
  reason: opt(str('Why: the trigger that fired, or why the higher level came off.')),
};

export const EVENT_DEFS = {
  'incident.opened': def(
    'incident',
    'Detection opened an incident (before anything is planned for it).',
    obj({ incident }),
  ),
  'incident.escalated': def(
    'incident',
    'The incident went to a higher escalation level (a higher trigger holds).',
    obj(incidentLevel),
  ),
  'incident.deescalated': def(
    'incident',
    "The incident went to a lower level (the higher level's rules came off after the cooldown).",
    obj(incidentLevel),
  ),
  'incident.updated': def(
    'incident',
    'Rates, peaks, vectors or family changed. Coalesced: at most one per incident per window (default 10 s), and only when something changed by more than the noise.',
    obj({
      incident,
      changed: arr(
        str(),
        'What changed: peak_bps, peak_pps, bps, pps, vector, attack_family, severity, spoofing_detected, botnet_detected.',
      ),
      coalesced: int('How many detection updates this one stands for.'),
    }),
  ),
  'incident.resolved': def(
    'incident',
    'The attack is over (quiet for the resolve period).',
    obj({
      incident,
      durationMs: int('From start to resolve.'),
      level: opt(int('Highest level it reached.')),
    }),
  ),

  'op.started': def(
    'op',
    'The executor is about to touch actions for a rule (intent, written before any action is called).',
    obj({
      opId: str(
        "Pairs this with the op's outcome event (rule.added, rule.refreshed, rule.withdrawn, rule.failed, op.interrupted).",
      ),
      op: opName,
      mode: opt(mode),
      ...ruleFacts,
      reason: opt(reason),
      rendered,
      rpki: opt(rpkiVerdict),
      message: opt(str()),
    }),
  ),
  'op.interrupted': def(
    'op',
    'An op had started but ft stopped before its outcome (crash, kill -9); reconcile at the next start finished the job.',
    obj({
      opId: str(),
      op: opName,
      ruleId: opt(str()),
      incidentId: opt(str()),
      plannedBy: opt(str()),
      message: str(),
    }),
  ),

  'rule.added': def(
    'rule',
    'A rule went in (on every instance, or partly: outcome partial names the failures).',
    obj({
      opId: opt(str()),
      ...ruleFacts,
      outcome,
      expiresAt: time('When its TTL runs out unless refreshed.'),
      results,
      durationMs: num(),
      retried: opt(bool('A retry of an earlier failed apply (lifecycle or reconcile).')),
      message: opt(str()),
    }),
  ),
  'rule.refreshed': def(
    'rule',
    "A live rule's TTL was extended while its attack goes on (only extensions worth recording).",
    obj({
      opId: opt(str()),
      ...ruleFacts,
      outcome,
      expiresAt: time(),
      previousExpiresAt: opt(time()),
      message: opt(str()),
      results: opt(results),
      durationMs: opt(num()),
    }),
  ),
  'rule.replaced': def(
    'rule',
    'The action on one wire route changed (same speaker, address family and NLRI): escalation or de-escalation.',
    obj({
      ...ruleFacts,
      replacedRuleId: str('The rule that carried the route before.'),
      replacedAction: str(),
      replacedLevel: int(),
    }),
  ),
  'rule.withdrawn': def(
    'rule',
    'A rule came out (TTL, cooldown passed, incident resolved, operator, RPKI, shutdown).',
    obj({
      opId: opt(str()),
      ...ruleFacts,
      outcome,
      reason: str('Why it came out.'),
      message: opt(str()),
      results,
      durationMs: num(),
    }),
  ),
  'rule.failed': def(
    'rule',
    'Every instance failed an apply or withdraw; the lifecycle retries with backoff.',
    obj({
      opId: opt(str()),
      op: opName,
      ...ruleFacts,
      outcome,
      results,
      durationMs: num(),
      retryAt: opt(time('Earliest next attempt.')),
      message: opt(str()),
    }),
  ),
  'rule.refused': def(
    'rule',
    'A rule the policy wanted was not applied: a safety rail, RPKI, a missing action, a collateral suppression.',
    obj({
      ...ruleFacts,
      rail: str(
        'What refused it: a rail name (outside-protect, never-target, …), rpki, no-action, collateral-suppressed.',
      ),
      message: str(),
      reason: opt(reason),
      rendered: opt(rendered),
      rpki: opt(rpkiVerdict),
    }),
  ),
  'rule.at_cap': def(
    'rule',
    'A rule was refused (or aggregated) because the tenant is at its cap of live rules.',
    obj({
      ...ruleFacts,
      cap: int('The cap.'),
      used: opt(int('Live rules counted.')),
      message: str(),
      reason: opt(reason),
      rendered: opt(rendered),
    }),
  ),
  'rule.withdraw_held': def(
    'rule',
    'A superseded rule was kept because its replacement is not installed anywhere yet (make before break).',
    obj({ ...ruleFacts, replacements: arr(str()), message: str(), reason: opt(reason) }),
  ),
  'rule.held': def(
    'rule',
    'The cooldown keeps a higher action on the wire although the attack fell below its level (de-escalation waits).',
    obj({
      ...ruleFacts,
      until: time('When the cooldown ends.'),
      wantedLevel: int('The level the traffic warrants now.'),
      message: str(),
    }),
  ),
  'rule.rolled_back': def(
    'rule',
    'Collateral-damage rollback: legitimate traffic fell by more than the policy allows after the rule went in.',
    obj({
      ...ruleFacts,
      legitBefore: num('Legitimate traffic (pps) before the rule.'),
      legitAfter: num('After.'),
      drop: num('Fraction it fell (0..1).'),
      allowed: num("The policy's rollback.collateralDrop (0..1)."),
      suppressedUntil: opt(time('Not re-added before.')),
      message: str(),
    }),
  ),
  'rule.orphan_withdrawn': def(
    'rule',
    "Reconcile found an object tagged as ft's that no live rule wants, and withdrew it.",
    obj({
      adapter: str(),
      nativeId: str(),
      description: str(),
      ruleId: opt(str()),
      outcome: oneOf(['ok', 'failed']),
      results,
      message: str(),
    }),
  ),
  'rule.forgotten': def(
    'rule',
    'An operator dropped a rule from the store without touching any action.',
    obj({ ...ruleFacts, adapterStates: rec(str()), message: str() }),
  ),
  'rule.previewed': def(
    'rule',
    'Preview mode: what would have been done (nothing is executed). Once per op and rule a minute.',
    obj({ op: opName, ...ruleFacts, reason: opt(reason), rendered, rpki: opt(rpkiVerdict), message: str() }),
  ),
  'rpki.verdict_changed': def(
    'rule',
    "A VRP change altered a live announcement's RPKI verdict.",
    obj({
      ...ruleFacts,
      verdict: rpkiVerdict,
      announced: prefix('The route the check is about.'),
      withdrawn: bool('Withdrawn because of it (Invalid under rpki: enforce).'),
      message: str(),
    }),
  ),

  'speaker.down': def(
    'operational',
    'An action instance (BGP speaker, scrubber, on-node mechanism) stopped answering or reports down.',
    obj({
      speaker: str('Instance name from the policy.'),
      adapter: opt(str('Its kind (gobgp, exabgp, …).')),
      pop: opt(str()),
      status: oneOf(['down', 'degraded']),
      detail: opt(str()),
    }),
  ),
  'speaker.up': def(
    'operational',
    'An action instance is healthy again.',
    obj({ speaker: str(), adapter: opt(str()), pop: opt(str()), downForMs: opt(int()), detail: opt(str()) }),
  ),
  'rpki.stale': def(
    'operational',
    'RPKI data is older than its expiry: announcements follow policy (enforce/warn), diversion fails closed.',
    obj({ dataAgeSeconds: opt(num()), expireSeconds: opt(num()), detail: str() }),
  ),
  'rpki.fresh': def(
    'operational',
    'RPKI data is fresh again.',
    obj({
      dataAgeSeconds: opt(num()),
      serial: opt(int()),
      sessionId: opt(int()),
      vrps: opt(int()),
      detail: opt(str()),
    }),
  ),
  'rtr.down': def(
    'operational',
    'An RTR cache connection was lost or refused.',
    obj({ cache: str('host:port (tls:// when TLS).'), error: str() }),
  ),
  'rtr.up': def(
    'operational',
    'An RTR cache connection is up (End of Data received).',
    obj({ cache: str(), serial: opt(int()), sessionId: opt(int()) }),
  ),
  'detector.silent': def(
    'operational',
    'A detector delivered no sample for longer than its silence limit.',
    obj({ detector: str(), kind: opt(str()), silentForMs: int(), detail: opt(str()) }),
  ),
  'detector.resumed': def(
    'operational',
    'A silent detector delivers samples again.',
    obj({ detector: str(), kind: opt(str()), silentForMs: int() }),
  ),
  'exporter.silent': def(
    'operational',
    'A flow exporter the collector heard from went quiet.',
    obj({ detector: str(), exporter: str('Exporter address.'), silentForMs: opt(int()), detail: opt(str()) }),
  ),
  'exporter.degraded': def(
    'operational',
    'A flow exporter is heard but its data is impaired (kernel drops, sequence gaps, unknown templates).',
    obj({ detector: str(), exporter: str(), detail: str() }),
  ),
  'exporter.ok': def(
    'operational',
    'A silent or degraded exporter is healthy again.',
    obj({ detector: str(), exporter: str(), detail: opt(str()) }),
  ),
  'operator.action': def(
    'operational',
    'An operator asked for something (apply, withdraw, withdraw-all, forget), with who and through what.',
    obj({
      who: str('operator:NAME (the human behind sudo), or an API principal.'),
      action: str('apply, withdraw, withdraw-all, forget, …'),
      through: oneOf(['control-socket', 'direct', 'api'], 'Through the running ft run, directly, or the API.'),
      ruleIds: arr(str()),
      outcome: opt(outcome),
      detail: opt(str()),
    }),
  ),
  'audit.recorded': def(
    'op',
    'An audit record no more specific event type describes (written by a component that predates the stream).',
    obj({
      op: str(),
      phase: oneOf(['start', 'end', 'event']),
      outcome: opt(outcome),
      ruleId: opt(str()),
      incidentId: opt(str()),
      plannedBy: opt(str()),
      via: opt(arr(str())),
      message: opt(str()),
    }),
  ),
  'subscriber.lost_events': def(
    'operational',
    'A subscriber fell so far behind that retention removed events it had not read.',
    obj({
      subscriber: str(),
      lost: int('How many events it never got.'),
      fromSeq: int('First lost.'),
      toSeq: int('Last lost.'),
    }),
  ),

  'alert.channel_broken': def(
    'operational',
    'An alert channel answered that it is gone for good (a dead hook, a revoked key): it stops sending until ft restarts, and its undelivered alerts stay in the log.',
    obj({
      channel: str('Channel name from the policy.'),
      kind: str('Its kind (slack, pagerduty, …).'),
      status: opt(int('The HTTP status or SMTP reply code that said so.')),
      reason: str('What the service answered.'),
      pending: int('Alerts waiting for it.'),
    }),
  ),
  'alert.channel_ok': def(
    'operational',
    'An alert channel that was broken or failing delivered again.',
    obj({ channel: str(), kind: str(), downForMs: opt(int()) }),
  ),
  'alert.dropped': def(
    'operational',
    'An alert channel could not deliver one alert: the service refused that message (a 4xx about its content), or retries ran past the delivery deadline.',
    obj({
      channel: str(),
      kind: str(),
      alert: str('What the alert was about (its title).'),
      alertKind: str('incident.opened, rule.failed, …'),
      reason: str(),
      attempts: int(),
    }),
  ),

  'export.sink_down': def(
    'operational',
    'An export sink cannot deliver: the service refused the credentials or is gone (broken: it waits for a restart), or every attempt failed for a while (failing: it keeps retrying). Its records keep spooling to disk up to the configured size.',
    obj({
      sink: str('Sink name from the policy (export.sinks).'),
      kind: str('Its kind (splunk-hec, syslog, kafka, …).'),
      state: oneOf(['failing', 'broken']),
      status: opt(int('The HTTP status (or protocol error code) that said so.')),
      reason: str('What the sink answered, or the network error.'),
      pending: int('Records spooled and not yet delivered.'),
    }),
  ),
  'export.sink_ok': def(
    'operational',
    'An export sink that was failing or broken delivered again.',
    obj({ sink: str(), kind: str(), downForMs: opt(int()), pending: opt(int('Records still spooled.')) }),
  ),
  'export.dropped': def(
    'operational',
    'An export sink dropped records: its spool reached its size bound while the sink was down (the oldest went first), or the sink refused records for their content.',
    obj({
      sink: str(),
      kind: str(),
      reason: oneOf(
        ['spool_full', 'rejected'],
        'spool_full: the oldest records went to keep the spool within its bound; rejected: the sink refused them.',
      ),
      dropped: int('Records dropped this time.'),
      total: int('Records this sink dropped since it started.'),
      detail: opt(str()),
      fromSeq: opt(int('Event seq of the first record dropped.')),
      toSeq: opt(int('Event seq of the last record dropped.')),
    }),
  ),

  'traffic.summary': def(
    'traffic',
    "Per-target traffic over one summary interval (export.traffic.interval, default 60 s): averages and peaks of the detection engine's merged readings, not every window.",
    obj({
      intervalMs: int('Length of the interval summarised.'),
      from: time('Start of the interval.'),
      to: time('End of the interval.'),
      targets: arr(
        obj({
          target: str('The target as detection names it (an address, or a named prefix target).'),
          prefix: opt(str('The prefix it stands for, when it is not a single address.')),
          state: str('Detection state at the end: normal, alarm, incident, learning, …'),
          pps: num('Average inbound packets per second over the interval.'),
          bps: num('Average inbound bits per second over the interval.'),
          peakPps: num('Highest reading in the interval.'),
          peakBps: num(),
          baselinePps: opt(num('Learned baseline (p99) at the end.')),
          baselineBps: opt(num()),
          readings: int('Readings the averages are over.'),
          incidentId: opt(str('Open incident on it, if any.')),
          attackFamily: opt(str()),
          severity: opt(str()),
        }),
        'One entry per target heard from in the interval.',
      ),
    }),
  ),
} as const;

export type EventDefs = typeof EVENT_DEFS;
export type EventType = keyof EventDefs;
export const EVENT_TYPES = Object.keys(EVENT_DEFS) as EventType[];
export type EventData<T extends EventType> = InOf<EventDefs[T]['data']>;
export type WireEventData<T extends EventType> = WireOf<EventDefs[T]['data']>;

export function isEventType(t: unknown): t is EventType {
  return typeof t === 'string' && Object.hasOwn(EVENT_DEFS, t);
}

/** Fields every event has, before `data`. */
export interface EventEnvelope {
  /** Monotonic, gap-free per log (fleet: one sequence across the controllers). */
  seq: number;
  /** Unique per event (UUID): a consumer that got one twice (at-least-once) can tell. */
  id: string;
  /** Epoch ms. */
  at: number;
  tenant: string;
  /** The ft process that wrote it (host name, or the fleet controller id). */
  node: string;
}

export type FtEvent = { [T in EventType]: EventEnvelope & { type: T; data: EventData<T> } }[EventType];
export type EventOf<T extends EventType> = Extract<FtEvent, { type: T }>;

export type WireEvent = {
  [T in EventType]: {
    seq: number;
    id: string;
    type: T;
    at: string;
    tenant: string;
    node: string;
    data: WireEventData<T>;
  };
}[EventType];

const envelope = {
  seq: z.number().int().positive().describe('Monotonic sequence number (gap-free per log).'),
  id: z.string().describe('Unique event id (UUID).'),
  at: z.iso.datetime({ offset: true }).describe('When it happened (ISO 8601, UTC).'),
  tenant: z.string().describe("The tenant it is about (the policy's, or the rule's)."),
  node: z.string().describe('The ft process that wrote it.'),
};

const wireSchemas = EVENT_TYPES.map((t) =>
  z
    .strictObject({ ...envelope, type: z.literal(t), data: EVENT_DEFS[t].data.wire as z.ZodType })
    .describe(EVENT_DEFS[t].summary)
    .meta({ id: `event.${t}`, title: t }),
);

/** Every event as a subscriber, the API and `ft events --json` see it: a union discriminated on `type`. */
export const wireEventSchema = z.discriminatedUnion(
  'type',
  wireSchemas as unknown as [
    z.ZodObject<{ type: z.ZodLiteral<string> }>,
    ...z.ZodObject<{ type: z.ZodLiteral<string> }>[],
  ],
) as unknown as z.ZodType<WireEvent>;
