// Telegram Bot API sendMessage (core.telegram.org/bots/api#sendmessage): POST /bot<token>/sendMessage with chat_id
// and text (1–4096 characters after entity parsing; parse_mode HTML allows <b>, <i>, <a href>, … and needs < > &
// escaped elsewhere). Answers {"ok":true,"result":{message_id,…}}; errors {"ok":false,"error_code":N,"description":…}
// with parameters.retry_after (seconds) on 429 and parameters.migrate_to_chat_id when a group became a supergroup;
// 401 Unauthorized for a bad token, 403 when the bot was blocked or kicked, 400 "Bad Request: chat not found".
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const TG_TOKEN = '123456:AAFakeTokenFakeTokenFakeTokenFake';

const ALLOWED_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'a',
  'code',
  'pre',
  'tg-spoiler',
  'blockquote',
  'span',
]);

/** The HTML parse_mode check Telegram does: only known tags, and no stray < or &. */
export function telegramHtmlProblem(text: string): string | undefined {
  const stripped = text.replace(/<\/?([a-z-]+)(\s[^>]*)?>/g, (m, tag: string) => (ALLOWED_TAGS.has(tag) ? '' : m));
  if (/</.test(stripped)) return "Bad Request: can't parse entities: unsupported start tag";
  if (/&(?!(amp|lt|gt|quot|#\d+);)/.test(stripped)) return "Bad Request: can't parse entities: unsupported entity";
  return undefined;
}

export function telegramFake(chats: Set<string> = new Set(['-1001234567890'])) {
  let messageId = 0;
  const handle = (r: Recorded): Answer => {
    if (r.path !== `/bot${TG_TOKEN}/sendMessage`)
      return json(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const b = JSON.parse(r.body) as { chat_id?: unknown; text?: string; parse_mode?: string };
    if (!chats.has(String(b.chat_id)))
      return json(400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' });
    if (!b.text || b.text.length > 4096)
      return json(400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty or too long' });
    if (b.parse_mode === 'HTML') {
      const p = telegramHtmlProblem(b.text);
      if (p) return json(400, { ok: false, error_code: 400, description: p });
    }
    return json(200, {
      ok: true,
      result: {
        message_id: ++messageId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: Number(b.chat_id) },
        text: b.text,
      },
    });
  };
  return new FakeServer('telegram', handle, (r) => r.method === 'POST' && r.path.startsWith('/bot'));
}

export const telegramTooMany = (seconds: number): Answer =>
  json(429, {
    ok: false,
    error_code: 429,
    description: `Too Many Requests: retry after ${seconds}`,
    parameters: { retry_after: seconds },
  });
export const telegramMigrated = (to: number): Answer =>
  json(400, {
    ok: false,
    error_code: 400,
    description: 'Bad Request: group chat was upgraded to a supergroup chat',
    parameters: { migrate_to_chat_id: to },
  });
