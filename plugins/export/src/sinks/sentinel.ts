import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { defineExportSink, type DeliveryAttempt, type ExportOutcome, type ExportRecord, type Secret } from '@ft/sdk';
import { DeliveryHttp, deliveryOutcome, httpBase, httpUrl, serverWaitMs } from '@ft/http-vendor';
import { z } from 'zod';
import { envName } from '../options.js';
import { HttpSink, joinPath, jsonOf } from './http.js';

export const sentinelConfigSchema = z
  .object({
    endpoint: httpUrl().describe("The data collection endpoint (DCE) or the DCR's own logs ingestion endpoint."),
    dcrImmutableId: z.string().regex(/^dcr-[0-9a-f]{32}$/, 'the DCR immutable id: dcr- and 32 hex digits'),
    stream: z
      .string()
      .regex(/^Custom-[A-Za-z0-9_]+$/, 'a custom stream: Custom-TABLE, e.g. Custom-FtEvents_CL')
      .default('Custom-FtEvents_CL'),
    tenantId: z.string().min(1).describe('The Entra (Azure AD) tenant id of the app registration.'),
    clientId: z.string().min(1).describe('The app registration (client) id.'),
    clientSecret: envName('the app registration client secret'),
    authority: httpBase('https://login.microsoftonline.com').describe('Entra authority (sovereign clouds, tests).'),
    scope: z.string().default('https://monitor.azure.com/.default'),
    gzip: z.boolean().default(true),
  })
  .strict();
export type SentinelConfig = z.output<typeof sentinelConfigSchema>;

/** One record as a row of the stream (the columns docs/export.md lists for the DCR and table). */
export function sentinelRow(r: ExportRecord): Record<string, unknown> {
  const i = r.incident;
  return {
    TimeGenerated: r.at,
    EventId: r.id,
    EventType: r.type,
    Category: r.category,
    Action: r.action,
    Severity: r.severity,
    Outcome: r.outcome,
    Message: r.message,
    Tenant: r.tenant,
    Node: r.node,
    Target: r.target ?? '',
    TargetIp: r.targetIp ?? '',
    IncidentId: i?.id ?? r.rule?.incident_id ?? r.traffic?.incident_id ?? '',
    AttackFamily: i?.attack_family ?? r.traffic?.attack_family ?? '',
    PeakPps: i?.peak_pps ?? r.traffic?.peak_pps ?? 0,
    PeakBps: i?.peak_bps ?? r.traffic?.peak_bps ?? 0,
    RuleId: r.rule?.id ?? '',
    RuleKind: r.rule?.kind ?? '',
    RuleAction: r.rule?.action ?? '',
    Rail: r.rule?.rail ?? '',
    Component: r.component ? `${r.component.type}:${r.component.name}` : '',
    Data: r.data,
  };
}

/** The Logs Ingestion API takes at most 1 MB per call (what the Azure SDK chunks to). */
const MAX_CALL = 1_000_000;

/** Client credentials grant against Entra; the token is kept until 5 minutes before it expires. */
class EntraToken {
  private token?: { value: string; until: number };
  private readonly http: DeliveryHttp;
  constructor(
    private readonly c: SentinelConfig,
    private readonly secret: Secret,
  ) {
    this.http = new DeliveryHttp({ origin: new URL(c.authority).origin });
  }
  invalidate() {
    this.token = undefined;
  }
  async get(signal: AbortSignal): Promise<string | ExportOutcome> {
    if (this.token && Date.now() < this.token.until) return this.token.value;
    const base = new URL(this.c.authority);
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.c.clientId,
      client_secret: this.secret.reveal(),
      scope: this.c.scope,
    }).toString();
    const a = await this.http.send(
      {
        method: 'POST',
        path: joinPath(base, `/${encodeURIComponent(this.c.tenantId)}/oauth2/v2.0/token`),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      },
      signal,
    );
    const j = jsonOf(a.text);
    if (a.status !== 200 || typeof j?.access_token !== 'string') {
      const o = deliveryOutcome(a, {
        message: () => (typeof j?.error_description === 'string' ? j.error_description.split('\n')[0] : undefined),
      });
      if (o.result === 'delivered') return { result: 'retry', reason: 'token: no access_token in the answer' };
      // 400/401 from the token endpoint: the app id or secret is wrong.
      if (o.result === 'rejected') return { result: 'dead', status: a.status, reason: `token: ${o.reason}` };
      return { ...o, reason: `token: ${o.reason}` };
    }
    const expires = typeof j.expires_in === 'number' ? j.expires_in : Number(j.expires_in ?? 3599);
    this.token = { value: j.access_token, until: Date.now() + Math.max(60, expires - 300) * 1000 };
    return this.token.value;
  }
  close() {
    return this.http.close();
  }
}

class SentinelSink extends HttpSink {
  private readonly base: URL;
  private readonly token: EntraToken;
  constructor(
    private readonly c: SentinelConfig,
    secret: Secret,
  ) {
    const base = new URL(c.endpoint);
    super(base);
    this.base = base;
    this.token = new EntraToken(c, secret);
  }

  describe() {
    return `${this.base.host} ${this.c.dcrImmutableId}/${this.c.stream} (app ${this.c.clientId}, secret from ${this.c.clientSecret})`;
  }

  protected async deliver(records: readonly ExportRecord[], a: DeliveryAttempt): Promise<ExportOutcome> {
    const token = await this.token.get(a.signal);
    if (typeof token !== 'string') return token;
    // Chunks of at most 1 MB of JSON, sent in order; a chunk that fails sends the rest (and itself) again.
    const rows = records.map(sentinelRow);
    const chunks: { from: number; to: number }[] = [];
    let from = 0;
    let size = 2;
    for (let i = 0; i < rows.length; i++) {
      const b = Buffer.byteLength(JSON.stringify(rows[i])) + 1;
      if (i > from && size + b > MAX_CALL) {
        chunks.push({ from, to: i });
        from = i;
        size = 2;
      }
      size += b;
    }
    chunks.push({ from, to: rows.length });
    for (const ch of chunks) {
      const json = JSON.stringify(rows.slice(ch.from, ch.to));
      const body = this.c.gzip ? gzipSync(json) : json;
      const answer = await this.http.send(
        {
          method: 'POST',
          path: `${joinPath(this.base, `/dataCollectionRules/${this.c.dcrImmutableId}/streams/${this.c.stream}`)}?api-version=2023-01-01`,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'x-ms-client-request-id': randomUUID(),
            ...(this.c.gzip ? { 'content-encoding': 'gzip' } : {}),
          },
          body,
        },
        a.signal,
      );
      if (answer.status === 204) continue;
      if (answer.status === 401) this.token.invalidate();
      const delivered = Array.from({ length: ch.from }, (_, i) => i);
      const o: ExportOutcome =
        answer.status === 413
          ? { result: 'rejected', status: 413, reason: 'HTTP 413: a chunk above the 1 MB limit' }
          : answer.status === 401
            ? { result: 'retry', status: 401, reason: 'HTTP 401: token refused; fetching a new one' }
            : deliveryOutcome(answer, { waitMs: (x) => serverWaitMs(x.headers) });
      if (o.result === 'delivered') return { result: 'retry', reason: `HTTP ${answer.status}` };
      if (delivered.length === 0 || o.result !== 'retry') return o;
      // The chunks before this one are in: only the rest goes again.
      return {
        result: 'partial',
        retry: Array.from({ length: rows.length - ch.from }, (_, i) => ch.from + i),
        rejected: [],
        reason: o.reason,
        ...(o.waitMs !== undefined ? { waitMs: o.waitMs } : {}),
      };
    }
    return { result: 'delivered', detail: `HTTP 204 (${chunks.length} call(s))` };
  }

  override async close(): Promise<void> {
    await super.close();
    await this.token.close();
  }
}

export const sentinel = defineExportSink<SentinelConfig>({
  kind: 'sentinel',
  description: 'Microsoft Sentinel / Azure Monitor Logs Ingestion API (DCR stream, Entra client credentials).',
  configSchema: sentinelConfigSchema,
  batch: { maxRecords: 2000, maxBytes: 4 * 1024 * 1024 },
  rateLimit: { perSecond: 10, burst: 10 },
  repeats: 'a second row with the same EventId (summarize arg_max(TimeGenerated, *) by EventId)',
  async create(config, ctx) {
    return new SentinelSink(config, ctx.secret(config.clientSecret));
  },
});
