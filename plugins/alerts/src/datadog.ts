import { createHash } from 'node:crypto';
import {
  clip,
  defineAlertChannel,
  type AlertMessage,
  type DeliveryAttempt,
  type DeliveryOutcome,
  type Secret,
} from '@ft/sdk';
import { deliveryOutcome } from '@ft/http-vendor';
import { z } from 'zod';
import { HttpChannel } from './http-channel.js';
import { JSON_HEADERS, baseUrl, credentialName } from './options.js';

export const datadogConfigSchema = z
  .object({
    apiKey: credentialName('a Datadog API key'),
    site: z
      .enum([
        'datadoghq.com',
        'us3.datadoghq.com',
        'us5.datadoghq.com',
        'ap1.datadoghq.com',
        'ap2.datadoghq.com',
        'uk1.datadoghq.com',
        'datadoghq.eu',
        'ddog-gov.com',
        'us2.ddog-gov.com',
      ])
      .default('datadoghq.com'),
    url: baseUrl('https://event-management-intake.datadoghq.com')
      .optional()
      .describe('Overrides `site` (tests, proxies).'),
    tags: z.array(z.string().min(1)).max(20).default([]),
  })
  .strict();
export type DatadogConfig = z.output<typeof datadogConfigSchema>;

const STATUS = { low: 'info', medium: 'warn', high: 'error', critical: 'error' } as const;
const PRIORITY = { low: '4', medium: '3', high: '2', critical: '1' } as const;

/** aggregation_key ≤ 100: trigger and resolve share it. */
export const aggregationKey = (key: string) =>
  key.length <= 100 ? key : `ft:${createHash('sha256').update(key).digest('hex').slice(0, 64)}`;

const tag = (k: string, v: string) => `${k}:${v.toLowerCase().replace(/[^a-z0-9_.:/-]/g, '_')}`;

/** Events API v2 (event-management-intake): category alert; status ok with the same aggregation_key resolves. */
export function datadogBody(m: AlertMessage, extraTags: string[] = []): Record<string, unknown> {
  const custom: Record<string, unknown> = Object.fromEntries(
    m.facts.slice(0, 90).map((f) => [f.label.toLowerCase(), f.value]),
  );
  if (m.incident)
    Object.assign(custom, { peak_pps: m.incident.peakPps, peak_bps: m.incident.peakBps, incident: m.incident.id });
  custom.state = m.kind;
  const tags = [
    'service:ft',
    'source:ft',
    tag('tenant', m.tenant),
    tag('alert_kind', m.kind),
    tag('severity', m.severity),
    ...(m.incident ? [tag('attack_family', m.incident.family), tag('target', m.incident.target)] : []),
    ...m.pops.map((p) => tag('pop', p)),
    ...extraTags,
  ];
  return {
    data: {
      type: 'event',
      attributes: {
        category: 'alert',
        title: clip(`${m.test ? '[TEST] ' : ''}${m.title}`, 500),
        message: clip(`${m.summary}\n${m.facts.map((f) => `${f.label}: ${f.value}`).join('\n')}`, 4000),
        aggregation_key: aggregationKey(m.key),
        host: m.node,
        integration_id: 'custom-events',
        tags: tags.slice(0, 100),
        timestamp: m.at,
        attributes: {
          status: m.status === 'resolved' ? 'ok' : STATUS[m.severity],
          priority: PRIORITY[m.severity],
          custom,
          ...(m.links.length ? { links: m.links.slice(0, 20).map((l) => ({ url: l.url, title: l.text })) } : {}),
        },
      },
    },
  };
}

class DatadogChannel extends HttpChannel {
  private readonly base: URL;
  constructor(
    private readonly key: Secret,
    private readonly config: DatadogConfig,
  ) {
    const base = new URL(config.url ?? `https://event-management-intake.${config.site}`);
    super(base);
    this.base = base;
  }
  describe() {
    return `${this.base.host} Events v2 (key from ${this.config.apiKey})`;
  }
  protected async deliver(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    const headers = { ...JSON_HEADERS, 'dd-api-key': this.key.reveal() };
    const path = `${this.base.pathname.replace(/\/+$/, '')}/api/v2/events`;
    return deliveryOutcome(await this.post(path, JSON.stringify(datadogBody(m, this.config.tags)), headers, a.signal));
  }
}

export const datadog = defineAlertChannel<DatadogConfig>({
  kind: 'datadog',
  description: 'Datadog events (v2 intake, category alert; resolved with status ok on the same aggregation_key).',
  configSchema: datadogConfigSchema,
  rateLimit: { perSecond: 5, burst: 20 },
  repeats: 'a second event, grouped with the first by aggregation_key',
  async create(config, ctx) {
    return new DatadogChannel(ctx.secret(config.apiKey), config);
  },
});
