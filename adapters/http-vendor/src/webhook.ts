import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp` (unix seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>`; the key is the base64 secret after an
 * optional `whsec_` prefix. A retry keeps the id (receivers dedupe on it) and is signed with a fresh timestamp.
 */
export function signWebhook(secret: string, id: string, body: string, at: Date = new Date()): Record<string, string> {
  const signature = new Webhook(secret).sign(id, at, body);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

export class WebhookVerifyError extends Error {}

/**
 * Receiver side: checks the signature over the exact raw body and a 5-minute timestamp tolerance, and returns
 * the parsed JSON. Receivers should also remember recent `webhook-id`s: a retry carries the same id.
 */
export function verifyWebhook(
  secret: string,
  rawBody: string | Buffer,
  headers: Record<string, string | string[] | undefined>,
): unknown {
  const pick = (k: string) => {
    const v = headers[k] ?? headers[k.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = pick('webhook-id');
  const ts = pick('webhook-timestamp');
  const sig = pick('webhook-signature');
  if (!id || !ts || !sig)
    throw new WebhookVerifyError('missing webhook-id, webhook-timestamp or webhook-signature header');
  try {
    return new Webhook(secret).verify(typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8'), {
      'webhook-id': id,
      'webhook-timestamp': ts,
      'webhook-signature': sig,
    });
  } catch (err) {
    throw new WebhookVerifyError(`webhook signature rejected: ${(err as Error).message}`);
  }
}
