import { z } from 'zod';
import {
  ALERT_KINDS,
  INCIDENT_ALERT_KINDS,
  isAlertKind,
  type AlertKind,
  type AttackFamily,
  type Prefix,
  type RateLimit,
  type Severity,
} from '@ft/sdk';
import type { Registry } from '../plugin-host/registry.js';
import { adapterKind, duration, family, name, oneOrMany, prefix, severity } from './fields.js';
import { closest, describeIssues, type Located } from './zod-issues.js';

/**
 * The policy's `alerts:` section: named channels (a kind from a plugin, its options beside it, credentials by
 * environment variable name) and routes that say which channel hears which alert.
 */

const rateLimitSchema = z
  .object({
    perSecond: z.number().positive().max(1000),
    burst: z.number().int().min(1).max(1000),
  })
  .strict()
  .describe("Override the channel kind's documented limit: on average perSecond messages, up to burst at once.");

/** ft's own keys on a channel; everything else is the kind's options, validated by its plugin. */
const channelSchema = z
  .object({
    channel: adapterKind().describe('The channel kind (slack, discord, teams, pagerduty, …; see `ft registry`).'),
    rateLimit: rateLimitSchema.optional(),
    timeout: duration()
      .optional()
      .describe('Bound on one delivery attempt, connect and answer (default 5s; at most 60s).'),
    deadline: duration()
      .optional()
      .describe('Give an alert up when it could not be delivered for this long (default 1h).'),
  })
  .catchall(z.unknown());

const GROUPS = ['incident', 'operational'] as const;
const eventName = z
  .string()
  .refine((s) => (GROUPS as readonly string[]).includes(s) || isAlertKind(s), {
    message: `expected incident, operational or an alert kind (${ALERT_KINDS.join(', ')})`,
  })
  .describe('An alert kind (incident.opened, rule.failed, …) or a group: incident, operational.');

const routeSchema = z
  .object({
    to: oneOrMany(name()).describe('Channels (from alerts.channels) that hear what this route matches.'),
    events: oneOrMany(eventName).optional().describe('Default: every alert kind.'),
    severity: severity().optional().describe('Minimum severity.'),
    family: oneOrMany(family()).optional().describe('Attack families (incident alerts only).'),
    tenant: oneOrMany(name()).optional(),
    target: oneOrMany(prefix()).optional().describe('Alerts about a target inside one of these prefixes.'),
    pop: oneOrMany(name()).optional().describe("POPs: the rules' speakers' POPs, the component's, or the node name."),
  })
  .strict();

export const alertsSchema = z
  .object({
    dashboard: z
      .string()
      .url()
      .optional()
      .describe(
        'Link every incident alert carries: a URL template with {incident}, {tenant} and {target}, e.g. https://noc.example/ft/incidents/{incident}.',
      ),
    channels: z.record(name(), channelSchema).default({}),
    routes: z
      .array(routeSchema)
      .optional()
      .describe('Who hears what. Without routes, every channel hears every alert.'),
  })
  .strict()
  .describe('Alert channels and the routes that decide who hears what (docs/alerts.md).');

export type RawAlerts = z.output<typeof alertsSchema>;

export interface AlertChannelInstance {
  name: string;
  kind: string;
  options: Record<string, unknown>;
  rateLimit?: RateLimit;
  timeoutMs: number;
  deadlineMs: number;
  validated: boolean;
  source: readonly PropertyKey[];
}

export interface AlertRoute {
  index: number;
  to: string[];
  /** Undefined: every kind. */
  kinds?: Set<AlertKind>;
  /** As written, for explanations. */
  events?: string[];
  severity?: Severity;
  family?: AttackFamily[];
  tenant?: string[];
  target?: Prefix[];
  pop?: string[];
}

export interface AlertsPolicy {
  dashboard?: string;
  channels: Map<string, AlertChannelInstance>;
  /** Routes as written; an implicit "every channel hears everything" when the policy has none. */
  routes: AlertRoute[];
  implicitRoute: boolean;
}

export const DEFAULT_ALERT_TIMEOUT_MS = 5000;
export const DEFAULT_ALERT_DEADLINE_MS = 3_600_000;

export function emptyAlerts(): AlertsPolicy {
  return { channels: new Map(), routes: [], implicitRoute: true };
}

export function buildAlerts(raw: RawAlerts | undefined, issues: Located[]): AlertsPolicy {
  if (!raw) return emptyAlerts();
  const channels = new Map<string, AlertChannelInstance>();
  for (const [n, c] of Object.entries(raw.channels)) {
    const { channel, rateLimit, timeout, deadline, ...options } = c as typeof c & Record<string, unknown>;
    if (timeout !== undefined && (timeout <= 0 || timeout > 60))
      issues.push({ path: ['alerts', 'channels', n, 'timeout'], message: 'must be more than 0s and at most 60s' });
    if (deadline !== undefined && deadline < 60)
      issues.push({ path: ['alerts', 'channels', n, 'deadline'], message: 'must be at least 60s' });
    channels.set(n, {
      name: n,
      kind: channel,
      options,
      ...(rateLimit ? { rateLimit } : {}),
      timeoutMs: timeout !== undefined ? timeout * 1000 : DEFAULT_ALERT_TIMEOUT_MS,
      deadlineMs: deadline !== undefined ? deadline * 1000 : DEFAULT_ALERT_DEADLINE_MS,
      validated: false,
      source: ['alerts', 'channels', n],
    });
  }
  const routes: AlertRoute[] = (raw.routes ?? []).map((r, index) => {
    const to = [r.to].flat();
    to.forEach((t, j) => {
      if (!channels.has(t)) {
        const hint = closest(t, [...channels.keys()]);
        issues.push({
          path: ['alerts', 'routes', index, 'to', ...(Array.isArray(r.to) ? [j] : [])],
          message: `no channel "${t}" under alerts.channels${hint ? `: did you mean "${hint}"?` : ''}`,
        });
      }
    });
    const events = r.events === undefined ? undefined : [r.events].flat();
    const kinds = events ? new Set(events.flatMap((e) => expandEvent(e))) : undefined;
    return {
      index,
      to,
      ...(kinds ? { kinds, events } : {}),
      ...(r.severity ? { severity: r.severity } : {}),
      ...(r.family ? { family: [r.family].flat() } : {}),
      ...(r.tenant ? { tenant: [r.tenant].flat() } : {}),
      ...(r.target ? { target: [r.target].flat() } : {}),
      ...(r.pop ? { pop: [r.pop].flat() } : {}),
    };
  });
  return {
    ...(raw.dashboard ? { dashboard: raw.dashboard } : {}),
    channels,
    routes,
    implicitRoute: raw.routes === undefined,
  };
}

function expandEvent(e: string): AlertKind[] {
  if (e === 'incident') return [...INCIDENT_ALERT_KINDS];
  if (e === 'operational') return ALERT_KINDS.filter((k) => !k.startsWith('incident.'));
  return [e as AlertKind];
}

/** Each channel's options go through its kind's configSchema, with the policy's own paths. */
export function checkAlertChannels(alerts: AlertsPolicy, registry: Registry): Located[] {
  const issues: Located[] = [];
  for (const c of alerts.channels.values()) {
    const entry = registry.alertChannel(c.kind);
    if (!entry) {
      const hint = closest(c.kind, [...registry.alertChannels.keys()]);
      issues.push({
        path: [...c.source, 'channel'],
        message: `no installed alert channel kind "${c.kind}"${hint ? `: did you mean "${hint}"?` : ` (installed: ${[...registry.alertChannels.keys()].join(', ') || 'none'})`}`,
      });
      continue;
    }
    const r = entry.factory.configSchema.safeParse(c.options, { reportInput: true });
    if (r.success) {
      c.options = (r.data ?? {}) as Record<string, unknown>;
      c.validated = true;
    } else issues.push(...describeIssues(r.error.issues, entry.factory.configSchema, [...c.source]));
  }
  return issues;
}

/** Channels no route names: they would never hear anything. */
export function alertWarnings(alerts: AlertsPolicy): string[] {
  if (alerts.implicitRoute) return [];
  const heard = new Set(alerts.routes.flatMap((r) => r.to));
  return [...alerts.channels.keys()]
    .filter((n) => !heard.has(n))
    .map((n) => `alerts.channels.${n} is in no route under alerts.routes: it hears nothing`);
}

export interface ExplainedChannel {
  channel: string;
  kind: string;
  hears: string[];
}

function describeRoute(r: AlertRoute): string {
  const parts: string[] = [];
  parts.push(r.events ? r.events.join(', ') : 'every alert');
  if (r.severity) parts.push(`severity >= ${r.severity}`);
  if (r.family) parts.push(`family ${r.family.join('|')}`);
  if (r.tenant) parts.push(`tenant ${r.tenant.join('|')}`);
  if (r.target) parts.push(`target in ${r.target.map(String).join(', ')}`);
  if (r.pop) parts.push(`POP ${r.pop.join('|')}`);
  return `${parts[0]}${parts.length > 1 ? ` when ${parts.slice(1).join(' and ')}` : ''} (route ${r.index})`;
}

/** Who hears what, per channel, in words (`ft policy explain`). */
export function explainAlerts(alerts: AlertsPolicy): { lines: string[]; channels: ExplainedChannel[] } {
  const channels = [...alerts.channels.values()].map((c) => ({
    channel: c.name,
    kind: c.kind,
    hears: alerts.implicitRoute
      ? ['every alert (no routes: every channel hears everything)']
      : alerts.routes.filter((r) => r.to.includes(c.name)).map(describeRoute),
  }));
  const lines: string[] = [];
  if (channels.length === 0) {
    lines.push('alerts: no channels: alerts go to the log only');
    return { lines, channels };
  }
  lines.push(
    `alerts: ${channels.length} channel(s)${alerts.dashboard ? `; incident alerts link to ${alerts.dashboard}` : ''}`,
  );
  for (const c of channels) {
    const inst = alerts.channels.get(c.channel) as AlertChannelInstance;
    const limit = inst.rateLimit ? `, at most ${inst.rateLimit.perSecond}/s (burst ${inst.rateLimit.burst})` : '';
    lines.push(`  ${c.channel} (${c.kind}${limit}) hears ${c.hears.length ? c.hears.join('; ') : 'nothing'}`);
  }
  return { lines, channels };
}
