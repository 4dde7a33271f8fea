// A receiver of Standard Webhooks (standardwebhooks.com spec): it verifies webhook-id / webhook-timestamp /
// webhook-signature over the raw body with the `standardwebhooks` library itself (not with ft's code), within the
// library's ±5 minute tolerance, remembers ids it has processed (a retry or replay with the same id is accepted
// and dropped), and answers 2xx; 410 Gone tells the sender to disable the endpoint.
import { Webhook } from 'standardwebhooks';
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const WEBHOOK_PATH = '/hooks/ft';
/** whsec_ + base64 of 32 bytes, as the spec describes secrets. */
export const WH_SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
export const WH_OLD_SECRET = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;

export function webhookReceiver(secret = WH_SECRET) {
  const seen = new Set<string>();
  const processed: { id: string; payload: Record<string, unknown> }[] = [];
  const duplicates: string[] = [];
  const verifier = new Webhook(secret);
  const handle = (r: Recorded): Answer => {
    let payload: Record<string, unknown>;
    try {
      payload = verifier.verify(r.body, {
        'webhook-id': String(r.headers['webhook-id']),
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      }) as Record<string, unknown>;
    } catch (err) {
      return json(401, { error: (err as Error).message });
    }
    const id = String(r.headers['webhook-id']);
    if (seen.has(id)) duplicates.push(id);
    else {
      seen.add(id);
      processed.push({ id, payload });
    }
    return { status: 204 };
  };
  return Object.assign(new FakeServer('webhook', handle, (r) => r.method === 'POST' && r.path === WEBHOOK_PATH), {
    processed,
    duplicates,
  });
}
