import { defineAlertChannel, type AlertMessage, type DeliveryAttempt, type DeliveryOutcome } from '@ft/sdk';
import { deliveryOutcome } from '@ft/http-vendor';
import { z } from 'zod';
import { HttpChannel } from './http-channel.js';
import { JSON_HEADERS, baseUrl } from './options.js';

export const alertmanagerConfigSchema = z
  .object({
    url: baseUrl('http://127.0.0.1:9093').describe('Alertmanager base URL.'),
    generatorUrl: z
      .string()
      .url()
      .optional()
      .describe("Link back from Alertmanager (default: the alert's dashboard link)."),
  })
  .strict();
export type AlertmanagerConfig = z.output<typeof alertmanagerConfigSchema>;

const labelValue = (s: string) => s.replace(/[\r\n]/g, ' ').slice(0, 200);

/**
 * POST /api/v2/alerts (Alertmanager's OpenAPI): the 1-second path beside the Prometheus rules, which can only
 * fire after a scrape and an evaluation. Resolved = endsAt now. An open alert is re-sent by Prometheus itself in
 * the rules path; here, Alertmanager resolves it after its resolve_timeout if ft never says more.
 */
export function alertmanagerBody(m: AlertMessage, generatorUrl?: string): Record<string, unknown>[] {
  const labels: Record<string, string> = {
    alertname:
      m.group === 'incident'
        ? 'FtDdosIncident'
        : `Ft${m.kind
            .split('.')
            .map((w) => w.charAt(0).toUpperCase() + w.slice(1).replace(/_(\w)/g, (_, c: string) => c.toUpperCase()))
            .join('')}`,
    severity: m.severity,
    tenant: labelValue(m.tenant),
    ft_key: labelValue(m.key),
    node: labelValue(m.node),
  };
  if (m.incident) {
    labels.target = m.incident.target;
    labels.attack_family = m.incident.family;
  }
  if (m.pops[0]) labels.pop = labelValue(m.pops[0]);
  const start = m.incident?.startedAt ?? m.at;
  const gen = generatorUrl ?? m.links[0]?.url;
  return [
    {
      labels,
      annotations: {
        summary: m.title,
        description: `${m.summary}\n${m.facts.map((f) => `${f.label}: ${f.value}`).join('\n')}`,
        state: m.kind,
      },
      startsAt: start,
      ...(m.status === 'resolved' ? { endsAt: m.incident?.resolvedAt ?? m.at } : {}),
      ...(gen ? { generatorURL: gen } : {}),
    },
  ];
}

class AlertmanagerChannel extends HttpChannel {
  private readonly prefix: string;
  constructor(private readonly config: AlertmanagerConfig) {
    const base = new URL(config.url);
    super(base);
    this.prefix = base.pathname.replace(/\/+$/, '');
  }
  describe() {
    return `${new URL(this.config.url).host} /api/v2/alerts`;
  }
  protected async deliver(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    const body = JSON.stringify(alertmanagerBody(m, this.config.generatorUrl));
    return deliveryOutcome(await this.post(`${this.prefix}/api/v2/alerts`, body, { ...JSON_HEADERS }, a.signal));
  }
}

export const alertmanager = defineAlertChannel<AlertmanagerConfig>({
  kind: 'alertmanager',
  description: 'Push to Prometheus Alertmanager (/api/v2/alerts): firing, then endsAt on resolve.',
  configSchema: alertmanagerConfigSchema,
  rateLimit: { perSecond: 20, burst: 50 },
  repeats: 'the same alert again (same labels): Alertmanager merges it',
  async create(config) {
    return new AlertmanagerChannel(config);
  },
});
