import { z } from 'zod';
import {
  EXPORT_CATEGORIES,
  isEventType,
  type ExportCategory,
  type Prefix,
  type RateLimit,
  type Severity,
} from '@ft/sdk';
import type { Registry } from '../plugin-host/registry.js';
import { adapterKind, byteSize, duration, name, oneOrMany, prefix, severity } from './fields.js';
import { closest, describeIssues, type Located } from './zod-issues.js';

/**
 * The policy's `export:` section: named sinks (a kind from a plugin, its options beside it, credentials by
 * environment variable name), what each receives (categories or event types, a minimum severity, tenants,
 * targets), its spool bound, and how often per-target traffic summaries are written to the stream.
 */

const eventName = z
  .string()
  .refine((s) => (EXPORT_CATEGORIES as readonly string[]).includes(s) || isEventType(s), {
    message: `expected a category (${EXPORT_CATEGORIES.join(', ')}) or an event type (incident.opened, rule.refused, …; see docs/events.md)`,
  })
  .describe('A category (incident, rule, traffic, operational, audit) or an event type.');

const sinkSchema = z
  .object({
    sink: adapterKind().describe('The sink kind (splunk-hec, elasticsearch, syslog, kafka, …; see `ft registry`).'),
    events: oneOrMany(eventName).optional().describe('What it receives. Default: every category.'),
    severity: severity().optional().describe('Only records of at least this severity.'),
    tenant: oneOrMany(name()).optional(),
    target: oneOrMany(prefix())
      .optional()
      .describe('Only records about a target inside one of these prefixes (records with no target still go).'),
    spool: z
      .object({
        maxSize: byteSize().describe('Bound on the backlog kept on disk while the sink is down (default 64MiB).'),
      })
      .strict()
      .optional(),
    rateLimit: z
      .object({ perSecond: z.number().positive().max(100_000), burst: z.number().int().min(1).max(100_000) })
      .strict()
      .optional()
      .describe("Override the kind's request rate: on average perSecond requests, up to burst at once."),
    batch: z
      .object({
        maxRecords: z.number().int().min(1).max(100_000).optional(),
        maxSize: byteSize().optional(),
      })
      .strict()
      .optional()
      .describe("Lower (or raise) the kind's batch: records and bytes per request."),
    timeout: duration().optional().describe('Bound on one delivery attempt, connect and answer (default 10s).'),
    maxBackoff: duration().optional().describe('Longest wait between retries while the sink is down (default 60s).'),
  })
  .catchall(z.unknown());

export const exportSchema = z
  .object({
    traffic: z
      .object({
        interval: duration().describe(
          'How often per-target traffic summaries are written (default 60s; 0 turns them off).',
        ),
      })
      .strict()
      .optional(),
    sinks: z.record(name(), sinkSchema).default({}),
  })
  .strict()
  .describe('Telemetry export to SIEMs, syslog, files and Kafka (docs/export.md).');

export type RawExport = z.output<typeof exportSchema>;

export interface ExportSinkInstance {
  name: string;
  kind: string;
  options: Record<string, unknown>;
  /** Undefined: every category. */
  categories?: Set<ExportCategory>;
  types?: Set<string>;
  /** As written, for explanations. */
  events?: string[];
  severity?: Severity;
  tenant?: string[];
  target?: Prefix[];
  spoolBytes: number;
  rateLimit?: RateLimit;
  batch?: { maxRecords?: number; maxBytes?: number };
  timeoutMs: number;
  maxBackoffMs: number;
  validated: boolean;
  source: readonly PropertyKey[];
}

export interface ExportPolicy {
  /** 0: no traffic summaries. */
  trafficIntervalMs: number;
  sinks: Map<string, ExportSinkInstance>;
}

export const DEFAULT_SPOOL_BYTES = 64 * 1024 * 1024;
export const DEFAULT_EXPORT_TIMEOUT_MS = 10_000;
export const DEFAULT_EXPORT_MAX_BACKOFF_MS = 60_000;
export const DEFAULT_TRAFFIC_INTERVAL_MS = 60_000;

export function emptyExport(): ExportPolicy {
  return { trafficIntervalMs: DEFAULT_TRAFFIC_INTERVAL_MS, sinks: new Map() };
}

export function buildExport(raw: RawExport | undefined, issues: Located[]): ExportPolicy {
  if (!raw) return emptyExport();
  const sinks = new Map<string, ExportSinkInstance>();
  const interval = raw.traffic?.interval;
  if (interval !== undefined && interval !== 0 && (interval < 1 || interval > 86_400))
    issues.push({ path: ['export', 'traffic', 'interval'], message: 'must be 0 (off) or between 1s and 24h' });
  for (const [n, c] of Object.entries(raw.sinks)) {
    const {
      sink,
      events,
      severity: sev,
      tenant,
      target,
      spool,
      rateLimit,
      batch,
      timeout,
      maxBackoff,
      ...options
    } = c as typeof c & Record<string, unknown>;
    const at = (k: string) => ['export', 'sinks', n, k];
    if (timeout !== undefined && (timeout <= 0 || timeout > 120))
      issues.push({ path: at('timeout'), message: 'must be more than 0s and at most 120s' });
    if (maxBackoff !== undefined && (maxBackoff < 1 || maxBackoff > 3600))
      issues.push({ path: at('maxBackoff'), message: 'must be between 1s and 1h' });
    if (spool && (spool.maxSize < 1024 * 1024 || spool.maxSize > 1024 ** 4))
      issues.push({ path: [...at('spool'), 'maxSize'], message: 'must be between 1MiB and 1TiB' });
    if (batch?.maxSize !== undefined && (batch.maxSize < 1024 || batch.maxSize > 100 * 1024 * 1024))
      issues.push({ path: [...at('batch'), 'maxSize'], message: 'must be between 1kB and 100MiB' });
    const list = events === undefined ? undefined : [events].flat();
    const categories = list
      ? new Set(list.filter((e): e is ExportCategory => (EXPORT_CATEGORIES as readonly string[]).includes(e)))
      : undefined;
    const types = list ? new Set(list.filter((e) => isEventType(e))) : undefined;
    sinks.set(n, {
      name: n,
      kind: sink,
      options,
      ...(list ? { categories, types, events: list } : {}),
      ...(sev ? { severity: sev } : {}),
      ...(tenant ? { tenant: [tenant].flat() } : {}),
      ...(target ? { target: [target].flat() } : {}),
      spoolBytes: spool?.maxSize ?? DEFAULT_SPOOL_BYTES,
      ...(rateLimit ? { rateLimit } : {}),
      ...(batch
        ? {
            batch: {
              ...(batch.maxRecords ? { maxRecords: batch.maxRecords } : {}),
              ...(batch.maxSize ? { maxBytes: batch.maxSize } : {}),
            },
          }
        : {}),
      timeoutMs: timeout !== undefined ? timeout * 1000 : DEFAULT_EXPORT_TIMEOUT_MS,
      maxBackoffMs: maxBackoff !== undefined ? maxBackoff * 1000 : DEFAULT_EXPORT_MAX_BACKOFF_MS,
      validated: false,
      source: ['export', 'sinks', n],
    });
  }
  return {
    trafficIntervalMs: interval !== undefined ? interval * 1000 : DEFAULT_TRAFFIC_INTERVAL_MS,
    sinks,
  };
}

/** Each sink's options go through its kind's configSchema, with the policy's own paths. */
export function checkExportSinks(exp: ExportPolicy, registry: Registry): Located[] {
  const issues: Located[] = [];
  for (const c of exp.sinks.values()) {
    const entry = registry.exportSink(c.kind);
    if (!entry) {
      const hint = closest(c.kind, [...registry.exportSinks.keys()]);
      issues.push({
        path: [...c.source, 'sink'],
        message: `no installed export sink kind "${c.kind}"${hint ? `: did you mean "${hint}"?` : ` (installed: ${[...registry.exportSinks.keys()].join(', ') || 'none'})`}`,
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

/** What each sink receives, in words (`ft policy explain`). */
export function explainExport(exp: ExportPolicy): string[] {
  if (exp.sinks.size === 0) return ['export: no sinks: nothing leaves the box but /metrics'];
  const lines = [
    `export: ${exp.sinks.size} sink(s); traffic summaries ${exp.trafficIntervalMs > 0 ? `every ${exp.trafficIntervalMs / 1000}s` : 'off'}`,
  ];
  for (const s of exp.sinks.values()) {
    const parts = [s.events ? s.events.join(', ') : 'everything'];
    if (s.severity) parts.push(`severity >= ${s.severity}`);
    if (s.tenant) parts.push(`tenant ${s.tenant.join('|')}`);
    if (s.target) parts.push(`target in ${s.target.map(String).join(', ')}`);
    lines.push(
      `  ${s.name} (${s.kind}) receives ${parts[0]}${parts.length > 1 ? ` when ${parts.slice(1).join(' and ')}` : ''}; spool up to ${Math.round(s.spoolBytes / 1024 / 1024)} MiB`,
    );
  }
  return lines;
}
