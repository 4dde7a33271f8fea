import { clip, defineAlertChannel, type AlertMessage, type DeliveryAttempt, type DeliveryOutcome } from '@ft/sdk';
import { deliveryOutcome, type HttpAnswer } from '@ft/http-vendor';
import { z } from 'zod';
import { HttpChannel } from './http-channel.js';
import { JSON_HEADERS, credentialName, jsonOf, secretUrl } from './options.js';

export const discordConfigSchema = z
  .object({
    url: credentialName('the webhook URL (https://discord.com/api/webhooks/{id}/{token})'),
    threadId: z
      .string()
      .regex(/^\d+$/)
      .optional()
      .describe('Post into this thread of the channel (forum channels need one).'),
    username: z.string().min(1).max(80).default('ft'),
  })
  .strict();
export type DiscordConfig = z.output<typeof discordConfigSchema>;

const COLOR = { low: 0x3498db, medium: 0xf1c40f, high: 0xe67e22, critical: 0xed4245, resolved: 0x57f287 };

/**
 * Execute Webhook with one embed (discord.com/developers/docs/resources/webhook). `allowed_mentions: {parse: []}`:
 * an attacker-chosen string (a site name, an HTTP path) containing @everyone or <@id> must never ping anyone.
 * Embed limits: title 256, description 4096, ≤ 25 fields (name 256, value 1024), footer 2048, 6000 in all.
 */
export function discordBody(m: AlertMessage, username = 'ft'): Record<string, unknown> {
  const fields = m.facts
    .slice(0, 25)
    .map((f) => ({ name: clip(f.label, 256), value: clip(f.value || '-', 1024), inline: f.value.length < 40 }));
  const embed: Record<string, unknown> = {
    title: clip(`${m.test ? '[TEST] ' : ''}${m.title}`, 256),
    description: clip(
      m.summary + (m.history.length ? `\nAlso: ${m.history.map((h) => `${h.kind} ${h.at}`).join(', ')}` : ''),
      2000,
    ),
    color: m.status === 'resolved' ? COLOR.resolved : COLOR[m.severity],
    timestamp: m.at,
    fields,
    footer: { text: clip(`ft ${m.node} · ${m.key}`, 2048) },
  };
  if (m.links[0]) embed.url = m.links[0].url;
  return { username, allowed_mentions: { parse: [] }, embeds: [embed] };
}

/**
 * 429 bodies carry `retry_after` in seconds (a float; old API revisions said ms) beside the Retry-After header;
 * 401 (invalid webhook token) and 404 (Unknown Webhook, code 10015) mean the hook is gone.
 */
export function discordOutcome(a: HttpAnswer): DeliveryOutcome {
  return deliveryOutcome(a, {
    waitMs: (x) => {
      const r = jsonOf(x.text)?.retry_after;
      return typeof r === 'number' && r >= 0 ? Math.ceil(r * 1000) : undefined;
    },
    message: (x) => {
      const j = jsonOf(x.text);
      return j && typeof j.message === 'string'
        ? `${j.message}${j.code !== undefined ? ` (code ${JSON.stringify(j.code)})` : ''}`
        : undefined;
    },
    dead: (x) => {
      if (x.status !== 401 && x.status !== 404) return undefined;
      const j = jsonOf(x.text);
      return j && typeof j.message === 'string' ? j.message : 'the webhook is gone';
    },
  });
}

class DiscordChannel extends HttpChannel {
  private readonly path: string;
  constructor(
    private readonly url: URL,
    private readonly config: DiscordConfig,
  ) {
    super(url);
    const u = new URL(url);
    // wait=true: Discord answers 200 with the message once it is saved (without it a 204 says nothing of that).
    u.searchParams.set('wait', 'true');
    if (config.threadId) u.searchParams.set('thread_id', config.threadId);
    this.path = `${u.pathname}${u.search}`;
  }
  describe() {
    return `${this.url.host} (webhook; URL from ${this.config.url})`;
  }
  protected async deliver(m: AlertMessage, a: DeliveryAttempt) {
    return discordOutcome(
      await this.post(this.path, JSON.stringify(discordBody(m, this.config.username)), { ...JSON_HEADERS }, a.signal),
    );
  }
}

export const discord = defineAlertChannel<DiscordConfig>({
  kind: 'discord',
  description: 'Discord webhook with an embed; mentions disabled (allowed_mentions empty).',
  configSchema: discordConfigSchema,
  // About 5 requests per 2 s per webhook; the 429 answer says exactly how long to wait.
  rateLimit: { perSecond: 2.5, burst: 5 },
  repeats: 'a second message in the channel',
  async create(config, ctx) {
    return new DiscordChannel(secretUrl(ctx, config.url, 'the Discord webhook URL'), config);
  },
});
