import {
  defineAlertChannel,
  type AlertMessage,
  type DeliveryAttempt,
  type DeliveryOutcome,
  type Secret,
} from '@ft/sdk';
import { deliveryOutcome, isPrivateAddress, signWebhook, type HttpAnswer } from '@ft/http-vendor';
import { z } from 'zod';
import { HttpChannel } from './http-channel.js';
import { JSON_HEADERS, checkedUrl, credentialName } from './options.js';

export const webhookConfigSchema = z
  .object({
    url: z.string().url().describe('Where to POST (https; plain http only to loopback).'),
    secret: credentialName('the signing secret, whsec_<base64> (24–64 bytes)'),
    previousSecrets: z
      .array(credentialName('an older signing secret still accepted by receivers during a rotation'))
      .max(4)
      .default([])
      .describe('During a key rotation: each message is signed with the current and these older keys.'),
    allowPrivate: z
      .boolean()
      .default(false)
      .describe(
        'Allow loopback and private addresses (an on-premises receiver). Off: a policy cannot make ft POST into its own network.',
      ),
  })
  .strict()
  .superRefine((c, ctx) => {
    let host: string;
    try {
      host = new URL(c.url).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return;
    }
    if (!c.allowPrivate && isPrivateAddress(host))
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `${host} is a loopback or private address: set allowPrivate: true for an on-premises receiver`,
      });
  });
export type WebhookConfig = z.output<typeof webhookConfigSchema>;

/** The Standard Webhooks payload: `{type, timestamp, data}` (standardwebhooks.com), data being the alert. */
export function webhookPayload(m: AlertMessage): string {
  return JSON.stringify({ type: `alert.${m.kind}`, timestamp: m.at, data: m });
}

/**
 * `webhook-signature` carries one `v1,<sig>` per key, space-separated, so receivers that know either the new or
 * the old key accept it during a rotation.
 */
export function webhookHeaders(secrets: string[], id: string, body: string, at = new Date()): Record<string, string> {
  const signed = secrets.map((s) => signWebhook(s, id, body, at));
  const first = signed[0] as Record<string, string>;
  return { ...first, 'webhook-signature': signed.map((h) => h['webhook-signature']).join(' ') };
}

/** 2xx delivered; 410 Gone disables the endpoint (the spec's dead answer); 429/502/504 throttle; 3xx is a failure. */
export function webhookOutcome(a: HttpAnswer): DeliveryOutcome {
  return deliveryOutcome(a, {
    dead: (x) => (x.status === 410 ? 'the receiver says the endpoint is gone (410)' : undefined),
  });
}

class WebhookChannel extends HttpChannel {
  private readonly path: string;
  constructor(
    private readonly url: URL,
    private readonly secrets: Secret[],
    private readonly config: WebhookConfig,
  ) {
    super(url, { refusePrivate: !config.allowPrivate });
    this.path = `${url.pathname}${url.search}`;
  }
  describe() {
    return `${this.url.host}${this.url.pathname} (Standard Webhooks, ${this.secrets.length} key(s) from ${[this.config.secret, ...this.config.previousSecrets].join(', ')})`;
  }
  protected async deliver(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    const body = webhookPayload(m);
    // The id stays the same on every retry and after a restart (it is derived from the event): receivers dedupe on it.
    const headers = {
      ...JSON_HEADERS,
      ...webhookHeaders(
        this.secrets.map((s) => s.reveal()),
        m.id,
        body,
      ),
    };
    return webhookOutcome(await this.post(this.path, body, headers, a.signal));
  }
}

export const webhook = defineAlertChannel<WebhookConfig>({
  kind: 'webhook',
  description:
    'Generic webhook signed per Standard Webhooks (HMAC-SHA256, webhook-id/timestamp/signature, key rotation).',
  configSchema: webhookConfigSchema,
  rateLimit: { perSecond: 10, burst: 20 },
  repeats: 'the same webhook-id again: receivers that remember ids (as the spec asks) drop it',
  async create(config, ctx) {
    const url = checkedUrl(config.url, 'the webhook url');
    return new WebhookChannel(
      url,
      [config.secret, ...config.previousSecrets].map((r) => ctx.secret(r)),
      config,
    );
  },
});
