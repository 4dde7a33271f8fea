import {
  alertText,
  clip,
  defineAlertChannel,
  type AlertMessage,
  type DeliveryAttempt,
  type DeliveryOutcome,
} from '@ft/sdk';
import { deliveryOutcome, type HttpAnswer } from '@ft/http-vendor';
import { z } from 'zod';
import { HttpChannel } from './http-channel.js';
import { JSON_HEADERS, credentialName, pathOf, secretUrl } from './options.js';

export const slackConfigSchema = z
  .object({
    url: credentialName('the incoming webhook URL (https://hooks.slack.com/services/T…/B…/…)'),
  })
  .strict();
export type SlackConfig = z.output<typeof slackConfigSchema>;

/** Slack mrkdwn: &, < and > are control characters; attacker-chosen strings (site names, paths) must not be links. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const EMOJI = {
  low: ':information_source:',
  medium: ':warning:',
  high: ':rotating_light:',
  critical: ':rotating_light:',
};

/**
 * Block Kit body (api.slack.com/reference/block-kit): a header (plain_text ≤ 150), the summary, the facts as
 * section fields (≤ 10 per section, ≤ 2000 each), a context line, and a button per link. `text` is the fallback
 * notifications show.
 */
export function slackBody(m: AlertMessage): Record<string, unknown> {
  const icon = m.status === 'resolved' ? ':white_check_mark:' : EMOJI[m.severity];
  const blocks: Record<string, unknown>[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`${m.test ? '[TEST] ' : ''}${m.title}`, 150), emoji: true },
    },
    { type: 'section', text: { type: 'mrkdwn', text: clip(`${icon} ${esc(m.summary)}`, 3000) } },
  ];
  for (let i = 0; i < m.facts.length && i < 20; i += 10) {
    blocks.push({
      type: 'section',
      fields: m.facts
        .slice(i, i + 10)
        .map((f) => ({ type: 'mrkdwn', text: clip(`*${esc(f.label)}*\n${esc(f.value)}`, 2000) })),
    });
  }
  if (m.history.length > 0)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: clip(`Also: ${m.history.map((h) => `${h.kind} ${h.at}`).join(', ')}`, 3000) }],
    });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: clip(esc(`${m.node} · ${m.key} · ${m.at}`), 3000) }],
  });
  if (m.links.length > 0)
    blocks.push({
      type: 'actions',
      elements: m.links
        .slice(0, 5)
        .map((l) => ({ type: 'button', text: { type: 'plain_text', text: clip(l.text, 75) }, url: l.url })),
    });
  return { text: clip(alertText(m, { facts: false, links: false }), 3000), blocks };
}

/** Slack's plain-text error bodies that mean the hook is gone (not the message): api.slack.com changelog 2016. */
const DEAD = new Set([
  'invalid_token',
  'no_service',
  'no_service_id',
  'no_team',
  'team_disabled',
  'channel_not_found',
  'channel_is_archived',
  'action_prohibited',
  'posting_to_general_channel_denied',
]);

export function slackOutcome(a: HttpAnswer): DeliveryOutcome {
  return deliveryOutcome(a, {
    dead: (x) =>
      DEAD.has(x.text.trim()) || x.status === 404 || x.status === 410 || x.status === 403
        ? x.text.trim() || 'gone'
        : undefined,
  });
}

class SlackChannel extends HttpChannel {
  constructor(
    private readonly url: URL,
    private readonly ref: string,
    timeoutMs?: number,
  ) {
    super(url, timeoutMs ? { timeoutMs } : {});
  }
  describe() {
    return `${this.url.host} (incoming webhook; URL from ${this.ref})`;
  }
  protected async deliver(m: AlertMessage, a: DeliveryAttempt) {
    return slackOutcome(await this.post(pathOf(this.url), JSON.stringify(slackBody(m)), { ...JSON_HEADERS }, a.signal));
  }
}

export const slack = defineAlertChannel<SlackConfig>({
  kind: 'slack',
  description: 'Slack incoming webhook with a Block Kit message (header, facts, links).',
  configSchema: slackConfigSchema,
  // "about one message per second per channel, short bursts tolerated"; over it 429 with Retry-After.
  rateLimit: { perSecond: 1, burst: 3 },
  repeats: 'a second message in the channel (Slack webhooks do not deduplicate)',
  async create(config, ctx) {
    return new SlackChannel(secretUrl(ctx, config.url, 'the Slack webhook URL'), config.url);
  },
});
