import { z } from 'zod';
import {
  ATTACK_FAMILIES,
  Prefix,
  SEVERITIES,
  VECTOR_NAMES,
  isVector,
  makeRule,
  parseBitrate,
  parsePacketRate,
  vectorForSourcePort,
  type IncidentReport,
  type Rule,
  type TcpFlagName,
  type Vector,
} from '@ft/sdk';
import { fromReport, type Incident } from '../model/incident.js';
import type { ActiveRule } from '../model/plan.js';
import { formatPath } from '../policy/errors.js';
import { describeIssues } from '../policy/zod-issues.js';

/** A bad incident, active-rules file or --simulate text: every problem, each with where it is. */
export class InputError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
    /** Which input: the error code it is reported with (FT_E_INCIDENT_INVALID or FT_E_ACTIVE_INVALID). */
    readonly what: 'incident' | 'active' = 'incident',
  ) {
    super(`${source}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
    this.name = 'InputError';
  }
}

const counted = <K extends z.ZodType>(key: K, name: string) =>
  z.array(z.object({ [name]: key, count: z.number().min(0) })).default([]);

const port = z.number().int().min(0).max(65535);
const rate = z.number().min(0).finite();
const isoTime = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'not an ISO 8601 time');

/**
 * The reference agent's "Report Incident" body, plus ft's `target` (the attacked address or prefix), and optional
 * `vector`, `top_src_ports`, `bps`/`pps` (current rates; the peaks stand in when absent) and `packet_length`.
 * Unknown fields (geo_breakdown, ioc_matches, ...) are accepted and ignored, as the reference sends them.
 */
export const incidentInputSchema = z
  .object({
    id: z.union([z.string().min(1).max(128), z.number().int()]).optional(),
    target: z.string(),
    state: z.enum(['open', 'resolved']).default('open'),
    attack_family: z.enum(ATTACK_FAMILIES),
    severity: z.enum(SEVERITIES),
    vector: z.union([z.string(), z.array(z.string())]).optional(),
    confidence: z.number().min(0).max(1).default(1),
    pps: rate.optional(),
    bps: rate.optional(),
    peak_pps: rate.optional(),
    peak_bps: rate.optional(),
    protocol_breakdown: z
      .object({
        tcp: z.number().default(0),
        udp: z.number().default(0),
        icmp: z.number().default(0),
        other: z.number().optional(),
      })
      .default({ tcp: 0, udp: 0, icmp: 0 }),
    tcp_flag_breakdown: z.record(z.string(), z.number()).default({}),
    source_ip_count: z.number().int().min(0).default(0),
    top_src_ips: counted(z.string(), 'ip'),
    top_dst_ports: counted(port, 'port'),
    top_src_ports: counted(port, 'port'),
    packet_length: z
      .object({ min: z.number().int().min(0).max(65535), max: z.number().int().min(0).max(65535) })
      .optional(),
    spoofing_detected: z.boolean().default(false),
    botnet_detected: z.boolean().default(false),
    sources: z.array(z.string()).default([]),
    started_at: isoTime.optional(),
    updated_at: isoTime.optional(),
    resolved_at: isoTime.optional(),
    group: z.string().min(1).max(63).optional(),
  })
  .passthrough();

export function parseIncident(value: unknown, source: string, now: Date): Incident {
  const r = incidentInputSchema.safeParse(value, { reportInput: true });
  if (!r.success)
    throw new InputError(
      source,
      describeIssues(r.error.issues, incidentInputSchema).map(
        (i) => `${formatPath(i.path) || '(incident)'}: ${i.message}`,
      ),
    );
  const d = r.data;
  const problems: string[] = [];
  let target: Prefix | undefined;
  try {
    target = Prefix.parse(d.target);
  } catch (err) {
    problems.push(`target: ${(err as Error).message}`);
  }
  const vectors: Vector[] = [];
  for (const v of d.vector === undefined ? [] : Array.isArray(d.vector) ? d.vector : [d.vector]) {
    if (isVector(v)) vectors.push(v);
    else problems.push(`vector: "${v}" is not a known amplification vector (${VECTOR_NAMES.join(', ')})`);
  }
  if (d.packet_length && d.packet_length.min > d.packet_length.max) problems.push('packet_length: min is above max');
  if (problems.length > 0 || !target) throw new InputError(source, problems);
  const bps = d.bps ?? d.peak_bps ?? 0;
  const pps = d.pps ?? d.peak_pps ?? 0;
  const at = now.toISOString();
  const report: IncidentReport = {
    id: d.id === undefined ? 'preview' : String(d.id),
    target: target.toString(),
    state: d.state,
    attack_family: d.attack_family,
    severity: d.severity,
    vector: vectors,
    confidence: d.confidence,
    pps,
    bps,
    peak_pps: Math.max(d.peak_pps ?? 0, pps),
    peak_bps: Math.max(d.peak_bps ?? 0, bps),
    protocol_breakdown: d.protocol_breakdown,
    tcp_flag_breakdown: d.tcp_flag_breakdown,
    source_ip_count: d.source_ip_count,
    top_src_ips: d.top_src_ips as { ip: string; count: number }[],
    top_dst_ports: d.top_dst_ports as { port: number; count: number }[],
    top_src_ports: d.top_src_ports as { port: number; count: number }[],
    spoofing_detected: d.spoofing_detected,
    botnet_detected: d.botnet_detected,
    sources: d.sources,
    started_at: d.started_at ?? at,
    updated_at: d.updated_at ?? at,
  };
  if (d.packet_length) report.packet_length = d.packet_length;
  if (d.resolved_at) report.resolved_at = d.resolved_at;
  if (d.group) report.group = d.group;
  // The edge: from here on the incident is core's (camelCase, epoch ms, Prefix), vectors decided once.
  return fromReport(report, target);
}

/**
 * Quick what-ifs: `udp_flood 3Gbps to 203.0.113.10 vector=dns`, `syn_flood 2Mpps 800Mbps to 2001:db8:100::10`.
 * Extra keys: vector=a,b  severity=high  src_ports=53,123  sources=198.51.100.7,...  spoofed=true  state=resolved  id=X
 */
export function parseSimulate(text: string, now: Date): Incident {
  const source = '--simulate';
  const words = text.trim().split(/\s+/).filter(Boolean);
  const problems: string[] = [];
  const family = words.shift();
  const body: Record<string, unknown> = { attack_family: family, severity: 'high' };
  const to = words.indexOf('to');
  if (to < 0 || to + 1 >= words.length) {
    throw new InputError(source, [
      `expected "<family> <rate> [<rate>] to <target> [key=value ...]", e.g. "udp_flood 3Gbps to 203.0.113.10 vector=dns"`,
    ]);
  }
  for (const w of words.slice(0, to)) {
    try {
      if (/bps$/i.test(w)) body.bps = parseBitrate(w);
      else if (/pps$/i.test(w)) body.pps = parsePacketRate(w);
      else problems.push(`"${w}" is neither a bit rate (3Gbps) nor a packet rate (2Mpps)`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  body.target = words[to + 1];
  for (const kv of words.slice(to + 2)) {
    const m = /^([a-z_]+)=(.+)$/.exec(kv);
    if (!m) {
      problems.push(`"${kv}" is not key=value`);
      continue;
    }
    const [, key, value] = m as unknown as [string, string, string];
    const list = value.split(',');
    switch (key) {
      case 'vector':
        body.vector = list;
        break;
      case 'severity':
      case 'state':
      case 'id':
        body[key] = value;
        break;
      case 'src_ports':
        body.top_src_ports = list.map((p) => ({ port: Number(p), count: 1 }));
        break;
      case 'sources':
        body.top_src_ips = list.map((ip, i) => ({ ip, count: list.length - i }));
        break;
      case 'spoofed':
        body.spoofing_detected = value === 'true';
        break;
      case 'bps':
        body.bps = safe(() => parseBitrate(value), problems);
        break;
      case 'pps':
        body.pps = safe(() => parsePacketRate(value), problems);
        break;
      default:
        problems.push(`unknown key "${key}" (vector, severity, src_ports, sources, spoofed, state, id, bps, pps)`);
    }
  }
  if (problems.length > 0) throw new InputError(source, problems);
  if (body.vector === undefined && body.top_src_ports === undefined && family === 'udp_flood') {
    // A bare "udp_flood" what-if has no vector; keep it so: a guess would put ports in a rule.
  }
  return parseIncident(body, source, now);
}

function safe(fn: () => number, problems: string[]): number | undefined {
  try {
    return fn();
  } catch (err) {
    problems.push((err as Error).message);
    return undefined;
  }
}

/** Detector-side helper for tests and tools: vectors by the source ports that carry them. */
export function vectorsFromPorts(ports: number[]): Vector[] {
  return [...new Set(ports.map(vectorForSourcePort).filter((v): v is Vector => v !== undefined))];
}

const PREFIX_FIELDS = ['target', 'destination', 'source'];

function revive(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => revive(v, key === 'sources' ? 'source' : undefined));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v, k)]));
  }
  if (typeof value === 'string' && key && PREFIX_FIELDS.includes(key)) return Prefix.parse(value);
  return value;
}

const activeSchema = z.object({
  rule: z
    .object({
      kind: z.enum(['flowspec', 'rtbh', 'divert', 'host-filter', 'shape']),
      id: z.string().optional(),
      tenant: z.string(),
      target: z.string(),
      level: z.number().int().min(0),
      ttlSeconds: z.number().positive(),
    })
    .passthrough(),
  via: z.array(z.string()).min(1),
  appliedAt: isoTime,
  expiresAt: isoTime,
  incidentId: z.string().optional(),
});

const TCP_FLAG_NAMES = [
  'fin',
  'syn',
  'rst',
  'psh',
  'ack',
  'urg',
  'ece',
  'cwr',
] as const satisfies readonly TcpFlagName[];

// What each kind of rule must hold before the planner looks at it (a rule without `match` was a TypeError deep in
// the planner). Prefixes are text here; they are parsed (and refused with their path) when revived.
const num = (max: number) => z.number().int().min(0).max(max);
const rangeList = (max: number) => z.array(z.object({ min: num(max), max: num(max) }).strict()).min(1);
const tcpFlags = z.object({ set: z.array(z.enum(TCP_FLAG_NAMES)), unset: z.array(z.enum(TCP_FLAG_NAMES)) }).strict();
const flowspecMatch = z
  .object({
    destination: z.string(),
    source: z.string().optional(),
    protocols: z.array(num(255)).min(1).optional(),
    sourcePorts: rangeList(65535).optional(),
    destinationPorts: rangeList(65535).optional(),
    tcpFlags: tcpFlags.optional(),
    packetLength: rangeList(65535).optional(),
    fragment: z
      .array(z.enum(['dont-fragment', 'is-fragment', 'first-fragment', 'last-fragment']))
      .min(1)
      .optional(),
    icmpType: z.array(num(255)).min(1).optional(),
    icmpCode: z.array(num(255)).min(1).optional(),
    dscp: z.array(num(63)).min(1).optional(),
  })
  .strict();
const hostMatch = z
  .object({
    destination: z.string(),
    sources: z.array(z.string()).optional(),
    protocol: z.enum(['tcp', 'udp', 'icmp']).optional(),
    sourcePorts: rangeList(65535).optional(),
    destinationPorts: rangeList(65535).optional(),
    tcpFlags: tcpFlags.optional(),
  })
  .strict();
const positive = z.number().positive().finite();
const ruleContentSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('flowspec'),
      match: flowspecMatch,
      action: z.discriminatedUnion('type', [
        z.object({ type: z.literal('discard') }).strict(),
        z.object({ type: z.literal('rate-limit'), bytesPerSecond: positive }).strict(),
        z.object({ type: z.literal('redirect'), routeTarget: z.string() }).strict(),
        z.object({ type: z.literal('mark'), dscp: num(63) }).strict(),
      ]),
    })
    .passthrough(),
  z
    .object({
      kind: z.literal('rtbh'),
      communities: z.array(z.string()),
      noExport: z.boolean(),
      nextHop: z.string().optional(),
    })
    .passthrough(),
  z.object({ kind: z.literal('divert'), provider: z.string().min(1) }).passthrough(),
  z
    .object({
      kind: z.literal('host-filter'),
      match: hostMatch,
      action: z.discriminatedUnion('type', [
        z.object({ type: z.enum(['drop', 'reject', 'syn-cookies']) }).strict(),
        z.object({ type: z.literal('rate-limit'), packetsPerSecond: positive, burst: positive }).strict(),
        z
          .object({
            type: z.literal('hashlimit'),
            packetsPerSecond: positive,
            burst: positive,
            per: z.enum(['source', 'destination']),
          })
          .strict(),
        z.object({ type: z.literal('connlimit'), maxConnections: positive }).strict(),
      ]),
    })
    .passthrough(),
  z.object({ kind: z.literal('shape'), match: hostMatch, bitsPerSecond: positive }).passthrough(),
]);

/**
 * Active rules as JSON (a list of ActiveRule, or { active: [...] }). Each id must match the rule's content, so a
 * hand-edited file cannot claim to be a rule it is not.
 */
export function parseActiveRules(value: unknown, source: string): ActiveRule[] {
  const list = Array.isArray(value) ? value : (value as { active?: unknown })?.active;
  if (!Array.isArray(list))
    throw new InputError(source, ['expected a JSON list of active rules (or { "active": [...] })'], 'active');
  const problems: string[] = [];
  const out: ActiveRule[] = [];
  list.forEach((item, i) => {
    const r = activeSchema.safeParse(item, { reportInput: true });
    if (!r.success) {
      problems.push(
        ...describeIssues(r.error.issues, activeSchema, [i]).map((p) => `${formatPath(p.path)}: ${p.message}`),
      );
      return;
    }
    const c = ruleContentSchema.safeParse(r.data.rule, { reportInput: true });
    if (!c.success) {
      problems.push(
        ...describeIssues(c.error.issues, ruleContentSchema, [i, 'rule']).map(
          (p) => `${formatPath(p.path)}: ${p.message}`,
        ),
      );
      return;
    }
    try {
      const { id, level, ttlSeconds, ...content } = revive(r.data.rule) as Rule;
      const rule = makeRule<Rule>({ ...(content as object), level, ttlSeconds } as never);
      if (id !== undefined && id !== rule.id) {
        problems.push(`[${i}].rule.id: ${id} does not match the rule's content (${rule.id})`);
        return;
      }
      const a: ActiveRule = {
        rule,
        via: r.data.via,
        appliedAt: Date.parse(r.data.appliedAt),
        expiresAt: Date.parse(r.data.expiresAt),
      };
      if (r.data.incidentId !== undefined) a.incidentId = r.data.incidentId;
      out.push(a);
    } catch (err) {
      problems.push(`[${i}].rule: ${(err as Error).message}`);
    }
  });
  if (problems.length > 0) throw new InputError(source, problems, 'active');
  return out;
}
