import { createHash } from 'node:crypto';
import {
  clip,
  defineAlertChannel,
  type AlertMessage,
  type DeliveryAttempt,
  type DeliveryOutcome,
  type Secret,
} from '@ft/sdk';
import { deliveryOutcome, type HttpAnswer } from '@ft/http-vendor';
import { z } from 'zod';
import { HttpChannel } from './http-channel.js';
import { JSON_HEADERS, baseUrl, credentialName, jsonOf } from './options.js';

export const pagerdutyConfigSchema = z
  .object({
    routingKey: credentialName('the Events API v2 integration key (32 characters)'),
    url: baseUrl('https://events.pagerduty.com').describe('https://events.eu.pagerduty.com for EU service regions.'),
    acknowledgeOnMitigated: z
      .boolean()
      .default(false)
      .describe(
        'Acknowledge the PagerDuty alert once ft has mitigation live (default: page until a human acknowledges).',
      ),
  })
  .strict();
export type PagerDutyConfig = z.output<typeof pagerdutyConfigSchema>;

const SEVERITY = { low: 'info', medium: 'warning', high: 'error', critical: 'critical' } as const;

/** dedup_key ≤ 255: ft's key, or its hash when a long tenant or component name makes it longer. */
export function dedupKey(key: string): string {
  return key.length <= 255 ? key : `ft:${createHash('sha256').update(key).digest('hex')}`;
}

export type PdAction = 'trigger' | 'acknowledge' | 'resolve';

/** The events one message becomes: resolve closes what trigger opened (same routing key, same dedup_key). */
export function pagerdutyActions(m: AlertMessage, ackOnMitigated: boolean): PdAction[] {
  if (m.status === 'resolved') {
    // A trigger that never went out (it waited behind a rate limit and was folded into this message) goes first:
    // PagerDuty drops a resolve for a key it does not know, and the NOC would never hear of the attack.
    return m.history.some((h) => h.kind !== 'incident.resolved') ? ['trigger', 'resolve'] : ['resolve'];
  }
  if (m.kind === 'incident.mitigated' && ackOnMitigated) return ['trigger', 'acknowledge'];
  return ['trigger'];
}

/** An Events API v2 event (developer.pagerduty.com, "Send an Alert Event"). */
export function pagerdutyEvent(m: AlertMessage, routingKey: string, action: PdAction): Record<string, unknown> {
  const base = { routing_key: routingKey, event_action: action, dedup_key: dedupKey(m.key) };
  if (action !== 'trigger') return base;
  const details: Record<string, unknown> = Object.fromEntries(m.facts.map((f) => [f.label, f.value]));
  if (m.incident) {
    details.peak_pps = m.incident.peakPps;
    details.peak_bps = m.incident.peakBps;
    details.incident = m.incident.id;
  }
  if (m.level !== undefined) details.level = m.level;
  details.state = m.kind;
  const link = m.links[0];
  return {
    ...base,
    payload: {
      summary: clip(`${m.test ? '[TEST] ' : ''}${m.title} (${m.summary})`, 1024),
      source: m.node,
      severity: SEVERITY[m.severity],
      timestamp: m.at,
      component: m.incident?.target ?? m.key,
      group: m.pops[0] ?? m.tenant,
      class: m.incident?.family ?? m.kind,
      custom_details: details,
    },
    client: 'ft',
    ...(link ? { client_url: link.url, links: m.links.map((l) => ({ href: l.url, text: l.text })) } : {}),
  };
}

/** 202 success; 400 is an invalid event (not retried) unless it is the routing key; 429 and 5xx retry. */
export function pagerdutyOutcome(a: HttpAnswer): DeliveryOutcome {
  return deliveryOutcome(a, {
    message: (x) => {
      const j = jsonOf(x.text);
      const errors = Array.isArray(j?.errors) ? (j?.errors as unknown[]).join('; ') : undefined;
      return [j?.message, errors].filter(Boolean).join(': ') || undefined;
    },
    dead: (x) =>
      x.status === 400 && /routing.?key/i.test(x.text)
        ? 'the routing key is invalid'
        : x.status === 404
          ? 'no such endpoint'
          : undefined,
  });
}

class PagerDutyChannel extends HttpChannel {
  constructor(
    private readonly key: Secret,
    private readonly config: PagerDutyConfig,
  ) {
    super(config.url);
  }
  describe() {
    return `${new URL(this.config.url).host} Events API v2 (routing key from ${this.config.routingKey})`;
  }
  protected deliver(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    // A repeat of the whole message is harmless: PagerDuty deduplicates on dedup_key.
    const requests = pagerdutyActions(m, this.config.acknowledgeOnMitigated).map((action) => ({
      path: '/v2/enqueue',
      body: JSON.stringify(pagerdutyEvent(m, this.key.reveal(), action)),
      headers: { ...JSON_HEADERS },
    }));
    return this.postAll(requests, pagerdutyOutcome, a.signal);
  }
}

export const pagerduty = defineAlertChannel<PagerDutyConfig>({
  kind: 'pagerduty',
  description: 'PagerDuty Events API v2: trigger, acknowledge and resolve with a dedup_key per incident.',
  configSchema: pagerdutyConfigSchema,
  // About 120 events per minute per routing key.
  rateLimit: { perSecond: 2, burst: 10 },
  repeats: 'deduplicated by PagerDuty (same dedup_key: one alert; a repeated trigger updates it)',
  async create(config, ctx) {
    return new PagerDutyChannel(ctx.secret(config.routingKey), config);
  },
});
