import { randomUUID } from 'node:crypto';
import { defineExportSink, type DeliveryAttempt, type ExportOutcome, type ExportRecord, type Secret } from '@ft/sdk';
import { httpUrl, serverWaitMs, type HttpAnswer } from '@ft/http-vendor';
import { z } from 'zod';
import { envName } from '../options.js';
import { HttpSink, joinPath, jsonOf } from './http.js';

export const splunkConfigSchema = z
  .object({
    url: httpUrl().describe(
      'The HEC base URL, e.g. https://splunk.example:8088 (Splunk Cloud: https://http-inputs-STACK.splunkcloud.com).',
    ),
    token: envName('the HEC token'),
    index: z.string().min(1).optional().describe("Index (default: the token's default index)."),
    sourcetypePrefix: z
      .string()
      .min(1)
      .default('ft')
      .describe('sourcetype is PREFIX:CATEGORY (ft:incident, ft:rule, …).'),
    source: z.string().min(1).default('ft'),
    ack: z
      .boolean()
      .default(false)
      .describe(
        'The token has indexer acknowledgement on: send a channel and wait until Splunk says the events are indexed.',
      ),
    ackTimeout: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(8)
      .describe('Seconds to wait for an ack before sending again (keep it under the sink timeout).'),
  })
  .strict();
export type SplunkConfig = z.output<typeof splunkConfigSchema>;

/** One record as a HEC event: epoch seconds with ms, host, source, sourcetype, the record, flat indexed fields. */
export function hecEvent(r: ExportRecord, c: Pick<SplunkConfig, 'index' | 'sourcetypePrefix' | 'source'>) {
  const { data: _data, ...event } = r;
  const fields: Record<string, string> = { ft_type: r.type, tenant: r.tenant, severity: r.severity };
  if (r.target) fields.target = r.target;
  if (r.incident) fields.attack_family = r.incident.attack_family;
  if (r.rule?.rail) fields.rail = r.rule.rail;
  return {
    time: r.atMs / 1000,
    host: r.node,
    source: c.source,
    sourcetype: `${c.sourcetypePrefix}:${r.category}`,
    ...(c.index ? { index: c.index } : {}),
    event: { ...event, data: r.data },
    fields,
  };
}

/** HEC's answer codes (Splunk docs "Troubleshoot HTTP Event Collector"): 8 and 9 are worth retrying, the rest not. */
export function hecOutcome(a: HttpAnswer): ExportOutcome {
  const body = jsonOf(a.text);
  const code = typeof body?.code === 'number' ? body.code : undefined;
  const text = typeof body?.text === 'string' ? body.text : a.text.slice(0, 200);
  const reason = `HTTP ${a.status}${code !== undefined ? ` code ${code}` : ''}: ${text}`;
  if (a.status === 200 && (code === 0 || code === undefined)) return { result: 'delivered', detail: reason };
  if (code === 8 || code === 9 || a.status === 429 || a.status >= 500) {
    const wait = serverWaitMs(a.headers);
    return { result: 'retry', status: a.status, reason, ...(wait !== undefined ? { waitMs: wait } : {}) };
  }
  // 1 disabled, 2 token required, 3 invalid authorization, 4 invalid token, 7 incorrect index, 10/11 channel,
  // 14 ack disabled, 16 query-string auth: configuration, the sink cannot go on until it is fixed.
  if (
    code === 1 ||
    code === 2 ||
    code === 3 ||
    code === 4 ||
    code === 7 ||
    code === 10 ||
    code === 11 ||
    code === 14 ||
    code === 16 ||
    a.status === 401 ||
    a.status === 403 ||
    a.status === 404
  )
    return { result: 'dead', status: a.status, reason };
  // 5 no data, 6 invalid data format, 12/13 event field, 15 indexed fields: this batch (an ft bug): dropped.
  return { result: 'rejected', status: a.status, reason };
}

class SplunkHecSink extends HttpSink {
  private readonly base: URL;
  private readonly channel = randomUUID();

  constructor(
    private readonly token: Secret,
    private readonly c: SplunkConfig,
  ) {
    const base = new URL(c.url);
    super(base);
    this.base = base;
  }

  describe() {
    return `${this.base.host} HEC${this.c.index ? ` index ${this.c.index}` : ''}${this.c.ack ? ' with indexer ack' : ''} (token from ${this.c.token})`;
  }

  private headers(): Record<string, string> {
    return {
      authorization: `Splunk ${this.token.reveal()}`,
      'content-type': 'application/json',
      'user-agent': 'ft-export',
      ...(this.c.ack ? { 'x-splunk-request-channel': this.channel } : {}),
    };
  }

  protected async deliver(records: readonly ExportRecord[], a: DeliveryAttempt): Promise<ExportOutcome> {
    // A batch is concatenated event objects, no array and no commas.
    const body = records.map((r) => JSON.stringify(hecEvent(r, this.c))).join('');
    const answer = await this.post(joinPath(this.base, '/services/collector/event'), body, this.headers(), a.signal);
    const out = hecOutcome(answer);
    if (out.result !== 'delivered' || !this.c.ack) return out;
    const ackId = jsonOf(answer.text)?.ackId;
    if (typeof ackId !== 'number')
      return { result: 'rejected', reason: 'HEC accepted the batch without an ackId although ack is on' };
    return this.waitForAck(ackId, a.signal);
  }

  /** Polls /services/collector/ack until Splunk says the batch is indexed, or sends it again after ackTimeout. */
  private async waitForAck(ackId: number, signal: AbortSignal): Promise<ExportOutcome> {
    const deadline = Date.now() + this.c.ackTimeout * 1000;
    let wait = 100;
    while (Date.now() < deadline && !signal.aborted) {
      const answer = await this.post(
        `${joinPath(this.base, '/services/collector/ack')}?channel=${this.channel}`,
        JSON.stringify({ acks: [ackId] }),
        this.headers(),
        signal,
      );
      if (answer.status !== 200) return hecOutcome(answer);
      const acks = jsonOf(answer.text)?.acks as Record<string, boolean> | undefined;
      if (acks?.[String(ackId)] === true) return { result: 'delivered', detail: `indexed (ack ${ackId})` };
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 2000);
    }
    return {
      result: 'retry',
      reason: `Splunk did not acknowledge ack ${ackId} within ${this.c.ackTimeout} s: sending again`,
    };
  }
}

export const splunkHec = defineExportSink<SplunkConfig>({
  kind: 'splunk-hec',
  description:
    'Splunk HTTP Event Collector (batched events, sourcetype per category, optional indexer acknowledgement).',
  configSchema: splunkConfigSchema,
  batch: { maxRecords: 500, maxBytes: 900 * 1024 },
  rateLimit: { perSecond: 20, burst: 20 },
  repeats: 'a second event with the same event.id (dedup in search: | dedup event.id)',
  async create(config, ctx) {
    return new SplunkHecSink(ctx.secret(config.token), config);
  },
});
