// Slack incoming webhook, as documented (api.slack.com/messaging/webhooks, Block Kit reference, the 2016 changelog
// of webhook error bodies): POST JSON to /services/T…/B…/…, no auth header; success is 200 with the plain-text body
// `ok`; errors are plain-text bodies (400 invalid_payload / no_text, 403 action_prohibited, 404 channel_not_found,
// 410 channel_is_archived, 500 rollup_error); over ~1 message/s: 429 with Retry-After (seconds).
import { FakeServer, text, type Answer, type Recorded } from './http.js';

export const SLACK_PATH = '/services/T0000FAKE/B0000FAKE/XXXXXXXXXXXXXXXXXXXXXXXX';

function handle(r: Recorded): Answer {
  if (r.method !== 'POST') return text(405, 'invalid_method');
  if (!String(r.headers['content-type']).startsWith('application/json')) return text(400, 'invalid_payload');
  let body: { text?: unknown; blocks?: { type: string; text?: { type: string; text: string }; fields?: unknown[] }[] };
  try {
    body = JSON.parse(r.body);
  } catch {
    return text(400, 'invalid_payload');
  }
  if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) return text(400, 'no_text');
  for (const b of body.blocks ?? []) {
    if (b.type === 'header' && (b.text?.type !== 'plain_text' || b.text.text.length > 150))
      return text(400, 'invalid_blocks');
    if (b.type === 'section' && (b.fields?.length ?? 0) > 10) return text(400, 'invalid_blocks');
  }
  if ((body.blocks?.length ?? 0) > 50) return text(400, 'invalid_blocks');
  return text(200, 'ok');
}

export const slackFake = () => new FakeServer('slack', handle, (r) => r.path === SLACK_PATH);
export const slackRateLimited = (seconds: number): Answer =>
  text(429, 'rate_limited', { 'retry-after': String(seconds) });
export const slackArchived: Answer = text(410, 'channel_is_archived');
