import { defineExportSink, type DeliveryAttempt, type ExportOutcome, type ExportRecord, type Secret } from '@ft/sdk';
import { deliveryOutcome, httpUrl, serverWaitMs } from '@ft/http-vendor';
import { z } from 'zod';
import { toEcs } from '../format/ecs.js';
import { FT_VERSION, envName } from '../options.js';
import { HttpSink, joinPath, jsonOf } from './http.js';

export const elasticConfigSchema = z
  .object({
    url: httpUrl().describe('Elasticsearch or OpenSearch base URL, e.g. https://es.example:9200.'),
    apiKey: envName('an API key (the `encoded` value of create API key)').optional(),
    username: z.string().min(1).optional().describe('Basic authentication user (with password).'),
    password: envName('the Basic authentication password').optional(),
    index: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._{}-]*$/, 'lower-case letters, digits, . _ - and {category}')
      .default('logs-ft.{category}-default')
      .describe('Index or data stream; {category} becomes incident, rule, traffic, operational or audit.'),
    product: z
      .enum(['elasticsearch', 'opensearch'])
      .default('elasticsearch')
      .describe(
        'elasticsearch checks the X-Elastic-Product answer header (a proxy or another product answering is refused).',
      ),
  })
  .strict()
  .refine((c) => !(c.apiKey && c.username), { message: 'use apiKey or username/password, not both' })
  .refine((c) => !c.username === !c.password, { message: 'username and password go together' });
export type ElasticConfig = z.output<typeof elasticConfigSchema>;

interface BulkItem {
  status: number;
  error?: { type?: string; reason?: string };
}

/** The `_bulk` body: one `create` action line per document (data streams take only create), with its id. */
export function bulkBody(records: readonly ExportRecord[], index: string): string {
  let out = '';
  for (const r of records) {
    out += `${JSON.stringify({ create: { _index: index.replace('{category}', r.category), _id: r.id } })}\n`;
    out += `${JSON.stringify(toEcs(r, { version: FT_VERSION }))}\n`;
  }
  return out;
}

/**
 * Reads a `_bulk` answer item by item: created (201) and already there (409 version conflict on our _id: a
 * record sent twice) are delivered; 429 and 5xx items go again alone; anything else (400 mapping errors) is
 * refused for its content.
 */
export function bulkOutcome(items: BulkItem[], count: number): ExportOutcome {
  const retry: number[] = [];
  const rejected: { index: number; reason: string }[] = [];
  for (let i = 0; i < count; i++) {
    const it = items[i];
    if (!it) {
      retry.push(i);
      continue;
    }
    if ((it.status >= 200 && it.status < 300) || it.status === 409) continue;
    if (it.status === 429 || it.status >= 500) retry.push(i);
    else rejected.push({ index: i, reason: `${it.status} ${it.error?.type ?? ''}: ${it.error?.reason ?? ''}`.trim() });
  }
  if (retry.length === 0 && rejected.length === 0) return { result: 'delivered' };
  return {
    result: 'partial',
    retry,
    rejected,
    reason: `${count - retry.length - rejected.length} of ${count} indexed; ${retry.length} to retry, ${rejected.length} refused`,
  };
}

class ElasticSink extends HttpSink {
  private readonly base: URL;
  constructor(
    private readonly c: ElasticConfig,
    private readonly auth: string | undefined,
  ) {
    const base = new URL(c.url);
    super(base);
    this.base = base;
  }

  describe() {
    return `${this.base.host} _bulk into ${this.c.index}${this.c.apiKey ? ` (API key from ${this.c.apiKey})` : this.c.username ? ` (user ${this.c.username})` : ''}`;
  }

  protected async deliver(records: readonly ExportRecord[], a: DeliveryAttempt): Promise<ExportOutcome> {
    const answer = await this.post(
      joinPath(this.base, '/_bulk'),
      bulkBody(records, this.c.index),
      {
        'content-type': 'application/x-ndjson',
        'user-agent': 'ft-export',
        ...(this.auth ? { authorization: this.auth } : {}),
      },
      a.signal,
    );
    if (
      answer.status === 200 &&
      this.c.product === 'elasticsearch' &&
      answer.headers.get('x-elastic-product') !== 'Elasticsearch'
    )
      return {
        result: 'dead',
        status: 200,
        reason:
          'the answer has no X-Elastic-Product: Elasticsearch header: not an Elasticsearch node (set product: opensearch for OpenSearch)',
      };
    if (answer.status === 413)
      return {
        result: 'rejected',
        status: 413,
        reason: 'HTTP 413: the batch is above http.max_content_length: lower batch.maxSize',
      };
    if (answer.status !== 200) {
      const o = deliveryOutcome(answer);
      if (o.result === 'retry' && o.waitMs === undefined) {
        const w = serverWaitMs(answer.headers);
        if (w !== undefined) return { ...o, waitMs: w };
      }
      return o;
    }
    const body = jsonOf(answer.text);
    if (!body || !Array.isArray(body.items)) return { result: 'retry', reason: 'HTTP 200 without bulk items' };
    if (body.errors !== true) return { result: 'delivered', detail: `${records.length} created` };
    const items = (body.items as Record<string, BulkItem>[]).map((x) => Object.values(x)[0] as BulkItem);
    return bulkOutcome(items, records.length);
  }
}

export const elasticsearch = defineExportSink<ElasticConfig>({
  kind: 'elasticsearch',
  description: 'Elasticsearch or OpenSearch _bulk (NDJSON, ECS documents in data streams; per-document retries).',
  configSchema: elasticConfigSchema,
  batch: { maxRecords: 1000, maxBytes: 5 * 1024 * 1024 },
  rateLimit: { perSecond: 20, burst: 20 },
  repeats: 'absorbed: each document has the record id as _id, a second create is a 409 ft counts as delivered',
  async create(config, ctx) {
    let auth: string | undefined;
    if (config.apiKey) auth = `ApiKey ${ctx.secret(config.apiKey).reveal()}`;
    else if (config.username && config.password) {
      const pw: Secret = ctx.secret(config.password);
      auth = `Basic ${Buffer.from(`${config.username}:${pw.reveal()}`).toString('base64')}`;
    }
    return new ElasticSink(config, auth);
  },
});
