import { gzipSync } from 'node:zlib';
import { defineExportSink, type DeliveryAttempt, type ExportOutcome, type ExportRecord, type Secret } from '@ft/sdk';
import { deliveryOutcome, httpUrl } from '@ft/http-vendor';
import { z } from 'zod';
import { envName } from '../options.js';
import { HttpSink, joinPath } from './http.js';

export const datadogLogsConfigSchema = z
  .object({
    apiKey: envName('a Datadog API key'),
    site: z
      .enum([
        'datadoghq.com',
        'us3.datadoghq.com',
        'us5.datadoghq.com',
        'ap1.datadoghq.com',
        'ap2.datadoghq.com',
        'datadoghq.eu',
        'ddog-gov.com',
      ])
      .default('datadoghq.com'),
    url: httpUrl().optional().describe('Overrides `site` (tests, proxies): the intake base URL.'),
    service: z.string().min(1).default('ft'),
    tags: z.array(z.string().min(1)).max(50).default([]),
    gzip: z.boolean().default(true),
  })
  .strict();
export type DatadogLogsConfig = z.output<typeof datadogLogsConfigSchema>;

const STATUS = { low: 'info', medium: 'warn', high: 'error', critical: 'critical' } as const;
const tag = (k: string, v: string) => `${k}:${v.toLowerCase().replace(/[^a-z0-9_.:/-]/g, '_')}`;

/** One record as a Datadog log: ddsource ft, ddtags, hostname, service, status, the record's fields under `ft`. */
export function datadogLog(r: ExportRecord, c: Pick<DatadogLogsConfig, 'service' | 'tags'>): Record<string, unknown> {
  const tags = [
    tag('ft_type', r.type),
    tag('category', r.category),
    tag('tenant', r.tenant),
    tag('severity', r.severity),
    ...(r.incident ? [tag('attack_family', r.incident.attack_family)] : []),
    ...(r.rule?.rail ? [tag('rail', r.rule.rail)] : []),
    ...c.tags,
  ];
  const { data, ...ft } = r;
  return {
    ddsource: 'ft',
    ddtags: tags.join(','),
    hostname: r.node,
    service: c.service,
    status: STATUS[r.severity],
    timestamp: r.atMs,
    message: r.message,
    ...(r.targetIp ? { network: { destination: { ip: r.targetIp } } } : {}),
    ft: { ...ft, data },
  };
}

class DatadogLogsSink extends HttpSink {
  private readonly base: URL;
  constructor(
    private readonly key: Secret,
    private readonly c: DatadogLogsConfig,
  ) {
    const base = new URL(c.url ?? `https://http-intake.logs.${c.site}`);
    super(base);
    this.base = base;
  }
  describe() {
    return `${this.base.host} logs intake v2 (key from ${this.c.apiKey})`;
  }
  protected async deliver(records: readonly ExportRecord[], a: DeliveryAttempt): Promise<ExportOutcome> {
    const json = JSON.stringify(records.map((r) => datadogLog(r, this.c)));
    const answer = await this.post(
      joinPath(this.base, '/api/v2/logs'),
      this.c.gzip ? gzipSync(json) : json,
      {
        'dd-api-key': this.key.reveal(),
        'content-type': 'application/json',
        'user-agent': 'ft-export',
        ...(this.c.gzip ? { 'content-encoding': 'gzip' } : {}),
      },
      a.signal,
    );
    // 202 accepted; 400 a bad body; 403 the key; 413 too large; 429/5xx later.
    return deliveryOutcome(answer);
  }
}

export const datadogLogs = defineExportSink<DatadogLogsConfig>({
  kind: 'datadog-logs',
  description: 'Datadog logs intake (HTTP v2, gzip; tags per record).',
  configSchema: datadogLogsConfigSchema,
  // The intake takes at most 1000 entries and 5 MB uncompressed per request.
  batch: { maxRecords: 1000, maxBytes: 4 * 1024 * 1024 },
  rateLimit: { perSecond: 20, burst: 20 },
  repeats: 'a second log with the same ft.id',
  async create(config, ctx) {
    return new DatadogLogsSink(ctx.secret(config.apiKey), config);
  },
});
