// Discord Execute Webhook, as documented (discord.com/developers/docs/resources/webhook#execute-webhook and
// topics/rate-limits): POST /api/webhooks/{id}/{token}; with ?wait=true the answer is 200 with the message object,
// without it 204. One of content/embeds/…; embeds ≤ 10 with their field limits. 429 body
// {"message":"You are being rate limited.","retry_after":<seconds float>,"global":false} plus Retry-After and
// X-RateLimit-* headers; 404 {"message":"Unknown Webhook","code":10015}; 401 {"message":"Invalid Webhook Token","code":50027}.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const DISCORD_PATH = '/api/webhooks/123456789012345678/fake-token';

function handle(r: Recorded): Answer {
  if (r.method !== 'POST') return json(405, { message: '405: Method Not Allowed', code: 0 });
  const b = JSON.parse(r.body) as { content?: string; embeds?: Record<string, unknown>[] };
  if (!b.content && !(b.embeds && b.embeds.length))
    return json(400, { message: 'Cannot send an empty message', code: 50006 });
  for (const e of b.embeds ?? []) {
    if (String(e.title ?? '').length > 256 || String(e.description ?? '').length > 4096)
      return json(400, { message: 'Invalid Form Body', code: 50035 });
    if (((e.fields as unknown[]) ?? []).length > 25) return json(400, { message: 'Invalid Form Body', code: 50035 });
  }
  const headers = {
    'x-ratelimit-limit': '5',
    'x-ratelimit-remaining': '4',
    'x-ratelimit-reset-after': '0.4',
    'x-ratelimit-bucket': 'fake',
  };
  if (r.url.searchParams.get('wait') === 'true')
    return json(200, { id: String(Date.now()), type: 0, content: b.content ?? '', embeds: b.embeds ?? [] }, headers);
  return { status: 204, headers };
}

export const discordFake = () => new FakeServer('discord', handle, (r) => r.path === DISCORD_PATH);
export const discordRateLimited = (retryAfter: number): Answer =>
  json(
    429,
    { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
    { 'retry-after': String(Math.ceil(retryAfter)), 'x-ratelimit-scope': 'user' },
  );
export const discordUnknownWebhook: Answer = json(404, { message: 'Unknown Webhook', code: 10015 });
