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
import { JSON_HEADERS, baseUrl, credentialName, escapeHtml, jsonOf } from './options.js';

export const telegramConfigSchema = z
  .object({
    token: credentialName('the bot token (123456:ABC…)'),
    chatId: z
      .union([z.number().int(), z.string().regex(/^(-?\d+|@[A-Za-z0-9_]{5,})$/)])
      .describe('Chat, group (-100…) or @channel.'),
    threadId: z.number().int().positive().optional().describe('Forum topic (message_thread_id).'),
    url: baseUrl('https://api.telegram.org'),
    silentBelow: z
      .enum(['low', 'medium', 'high', 'critical'])
      .default('high')
      .describe('Below this severity, send without a notification sound.'),
  })
  .strict();
export type TelegramConfig = z.output<typeof telegramConfigSchema>;

const RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

/** sendMessage with parse_mode HTML: only < > & need escaping (core.telegram.org/bots/api#html-style). */
export function telegramBody(
  m: AlertMessage,
  chatId: number | string,
  o: { threadId?: number; silentBelow?: keyof typeof RANK } = {},
): Record<string, unknown> {
  const lines = [
    `<b>${escapeHtml(`${m.test ? '[TEST] ' : ''}${m.title}`)}</b>`,
    escapeHtml(m.summary),
    '',
    ...m.facts.map((f) => `<b>${escapeHtml(f.label)}</b>: ${escapeHtml(f.value)}`),
    ...(m.history.length ? [`<i>Also: ${escapeHtml(m.history.map((h) => `${h.kind} ${h.at}`).join(', '))}</i>`] : []),
    ...m.links.map((l) => `<a href="${escapeHtml(l.url)}">${escapeHtml(l.text)}</a>`),
  ];
  return {
    chat_id: chatId,
    text: clip(lines.join('\n'), 4096),
    parse_mode: 'HTML',
    disable_notification: RANK[m.severity] < RANK[o.silentBelow ?? 'high'] || m.status === 'resolved',
    link_preview_options: { is_disabled: true },
    ...(o.threadId ? { message_thread_id: o.threadId } : {}),
  };
}

/**
 * `{"ok":false,"error_code":429,"parameters":{"retry_after":34}}` is a wait; 401 (bad token), 403 (the bot was
 * blocked or removed) and 400 "chat not found" are a dead channel; a group that became a supergroup answers
 * `migrate_to_chat_id`, and the channel resends there.
 */
export function telegramOutcome(a: HttpAnswer): DeliveryOutcome & { migrateTo?: number } {
  const j = jsonOf(a.text);
  const params = (j?.parameters ?? {}) as { retry_after?: number; migrate_to_chat_id?: number };
  if (a.status === 400 && typeof params.migrate_to_chat_id === 'number')
    return {
      result: 'retry',
      waitMs: 0,
      reason: `the group moved to chat ${params.migrate_to_chat_id}`,
      migrateTo: params.migrate_to_chat_id,
    };
  return deliveryOutcome(a, {
    waitMs: () => (typeof params.retry_after === 'number' ? params.retry_after * 1000 : undefined),
    message: () => (typeof j?.description === 'string' ? j.description : undefined),
    dead: () =>
      a.status === 401 ||
      a.status === 403 ||
      (a.status === 400 && /chat not found/i.test(typeof j?.description === 'string' ? j.description : ''))
        ? typeof j?.description === 'string'
          ? j.description
          : `HTTP ${a.status}`
        : undefined,
  });
}

class TelegramChannel extends HttpChannel {
  private chatId: number | string;
  constructor(
    private readonly token: Secret,
    private readonly config: TelegramConfig,
    private readonly logger: { warn(o: object, m: string): void },
  ) {
    super(config.url);
    this.chatId = config.chatId;
  }
  describe() {
    return `${new URL(this.config.url).host} chat ${this.chatId} (token from ${this.config.token})`;
  }
  protected async deliver(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    const body = telegramBody(m, this.chatId, {
      ...(this.config.threadId ? { threadId: this.config.threadId } : {}),
      silentBelow: this.config.silentBelow,
    });
    const res = await this.post(
      `/bot${this.token.reveal()}/sendMessage`,
      JSON.stringify(body),
      { ...JSON_HEADERS },
      a.signal,
    );
    const out = telegramOutcome(res);
    if (out.migrateTo !== undefined) {
      this.logger.warn(
        { from: this.chatId, to: out.migrateTo },
        'Telegram group became a supergroup: sending to its new chat id (update chatId in the policy)',
      );
      this.chatId = out.migrateTo;
    }
    return out;
  }
}

export const telegram = defineAlertChannel<TelegramConfig>({
  kind: 'telegram',
  description: 'Telegram Bot API sendMessage (HTML), to a chat, group, channel or forum topic.',
  configSchema: telegramConfigSchema,
  // Unpublished: about 1 message per second per chat (20 per minute in groups); ignoring 429 risks a ban.
  rateLimit: { perSecond: 1 / 3, burst: 3 },
  repeats: 'a second message in the chat',
  async create(config, ctx) {
    return new TelegramChannel(ctx.secret(config.token), config, ctx.logger);
  },
});
