import { clip, defineAlertChannel, type AlertMessage, type DeliveryAttempt } from '@ft/sdk';
import { deliveryOutcome } from '@ft/http-vendor';
import { z } from 'zod';
import { HttpChannel } from './http-channel.js';
import { JSON_HEADERS, credentialName, pathOf, secretUrl } from './options.js';

export const teamsConfigSchema = z
  .object({
    url: credentialName(
      'the Workflows URL ("Post to a channel when a webhook request is received"; Office 365 connector URLs are retired)',
    ),
  })
  .strict();
export type TeamsConfig = z.output<typeof teamsConfigSchema>;

const COLOR = { low: 'Accent', medium: 'Warning', high: 'Attention', critical: 'Attention' } as const;

/**
 * A message with one Adaptive Card 1.4 attachment (adaptivecards.io): title, summary, the facts as a FactSet and
 * an Action.OpenUrl per link. Workflows answer 202 and run the flow later, so a card the flow cannot post fails
 * only in the flow's run history: keep it small and plain.
 */
export function teamsBody(m: AlertMessage): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    {
      type: 'TextBlock',
      size: 'Large',
      weight: 'Bolder',
      wrap: true,
      color: m.status === 'resolved' ? 'Good' : COLOR[m.severity],
      text: clip(`${m.test ? '[TEST] ' : ''}${m.title}`, 300),
    },
    { type: 'TextBlock', wrap: true, text: clip(m.summary, 1000) },
    {
      type: 'FactSet',
      facts: m.facts.slice(0, 20).map((f) => ({ title: clip(f.label, 100), value: clip(f.value, 500) })),
    },
  ];
  if (m.history.length)
    body.push({
      type: 'TextBlock',
      wrap: true,
      isSubtle: true,
      text: `Also: ${m.history.map((h) => `${h.kind} ${h.at}`).join(', ')}`,
    });
  body.push({ type: 'TextBlock', wrap: true, isSubtle: true, size: 'Small', text: `${m.node} · ${m.key} · ${m.at}` });
  const content: Record<string, unknown> = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body,
  };
  if (m.links.length)
    content.actions = m.links.slice(0, 5).map((l) => ({ type: 'Action.OpenUrl', title: l.text, url: l.url }));
  return {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }],
  };
}

class TeamsChannel extends HttpChannel {
  constructor(
    private readonly url: URL,
    private readonly ref: string,
  ) {
    super(url);
  }
  describe() {
    return `${this.url.host} (Workflows webhook; URL from ${this.ref})`;
  }
  protected async deliver(m: AlertMessage, a: DeliveryAttempt) {
    return deliveryOutcome(
      await this.post(pathOf(this.url), JSON.stringify(teamsBody(m)), { ...JSON_HEADERS }, a.signal),
    );
  }
}

export const teams = defineAlertChannel<TeamsConfig>({
  kind: 'teams',
  description: 'Microsoft Teams through a Workflows webhook, with an Adaptive Card.',
  configSchema: teamsConfigSchema,
  rateLimit: { perSecond: 1, burst: 4 },
  repeats: 'a second card in the channel',
  async create(config, ctx) {
    return new TeamsChannel(secretUrl(ctx, config.url, 'the Teams Workflows URL'), config.url);
  },
});
