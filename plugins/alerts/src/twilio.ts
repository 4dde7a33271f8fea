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
import { baseUrl, credentialName, jsonOf } from './options.js';

const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number like +15551234567');

export const twilioConfigSchema = z
  .object({
    accountSid: z
      .string()
      .regex(/^AC[0-9a-fA-F]{32}$/)
      .describe('The account SID (AC…, not a secret: it is in the URL).'),
    authToken: credentialName('the auth token (or an API key secret with apiKeySid)'),
    apiKeySid: z
      .string()
      .regex(/^SK[0-9a-fA-F]{32}$/)
      .optional()
      .describe('Authenticate with an API key (SK…) instead of the account SID.'),
    from: e164.optional(),
    messagingServiceSid: z
      .string()
      .regex(/^MG[0-9a-fA-F]{32}$/)
      .optional(),
    to: z.array(e164).min(1).max(20),
    url: baseUrl('https://api.twilio.com'),
  })
  .strict()
  .refine((c) => (c.from === undefined) !== (c.messagingServiceSid === undefined), {
    message: 'give exactly one of from or messagingServiceSid',
    path: ['from'],
  });
export type TwilioConfig = z.output<typeof twilioConfigSchema>;

/** One SMS segment where possible: the title and the numbers (160 GSM characters; Body may be up to 1600). */
export function smsText(m: AlertMessage): string {
  const inc = m.incident;
  const bits = [`${m.test ? '[TEST] ' : ''}${m.title}`];
  if (inc && m.kind === 'incident.opened') bits.push(m.summary);
  if (m.level !== undefined && m.kind !== 'incident.resolved') bits.push(`L${m.level}`);
  if (!inc) bits.push(m.summary);
  return clip(bits.join(' | '), 320);
}

/** Form fields for Create a Message (twilio.com/docs/messaging/api/message-resource). */
export function twilioForm(
  m: AlertMessage,
  to: string,
  config: Pick<TwilioConfig, 'from' | 'messagingServiceSid'>,
): string {
  const f = new URLSearchParams({ To: to, Body: smsText(m) });
  if (config.messagingServiceSid) f.set('MessagingServiceSid', config.messagingServiceSid);
  else if (config.from) f.set('From', config.from);
  return f.toString();
}

/**
 * 201 is queued. Errors are JSON `{code, message, more_info, status}`: 20003 (401) is the credential, 21211 a bad
 * number, 21610 a recipient who replied STOP, 21608 an unverified number on a trial account; 20429 (HTTP 429) and
 * 5xx retry, after Retry-After.
 */
export function twilioOutcome(a: HttpAnswer): DeliveryOutcome {
  const j = jsonOf(a.text);
  const code = typeof j?.code === 'number' ? j.code : undefined;
  return deliveryOutcome(a, {
    message: () => (j ? `${code ?? ''} ${typeof j.message === 'string' ? j.message : ''}`.trim() : undefined),
    dead: () =>
      a.status === 401 || code === 20003
        ? `${code ?? 401} ${typeof j?.message === 'string' ? j.message : 'authentication failed'}`
        : undefined,
  });
}

class TwilioChannel extends HttpChannel {
  /** Recipients that already have a message, so a retry after a partial failure does not text them twice. */
  private readonly sent = new Map<string, Set<string>>();
  constructor(
    private readonly secret: Secret,
    private readonly config: TwilioConfig,
  ) {
    super(config.url);
  }
  describe() {
    return `${new URL(this.config.url).host} SMS to ${this.config.to.length} number(s) (token from ${this.config.authToken})`;
  }
  protected async deliver(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    const user = this.config.apiKeySid ?? this.config.accountSid;
    const auth = `Basic ${Buffer.from(`${user}:${this.secret.reveal()}`).toString('base64')}`;
    const done = this.sent.get(m.id) ?? new Set<string>();
    this.sent.set(m.id, done);
    if (this.sent.size > 1000) this.sent.delete(this.sent.keys().next().value as string);
    const refused: string[] = [];
    for (const to of this.config.to) {
      if (done.has(to)) continue;
      const out = twilioOutcome(
        await this.post(
          `/2010-04-01/Accounts/${this.config.accountSid}/Messages.json`,
          twilioForm(m, to, this.config),
          { 'content-type': 'application/x-www-form-urlencoded', authorization: auth, 'user-agent': 'ft-alerts' },
          a.signal,
        ),
      );
      if (out.result === 'delivered') done.add(to);
      else if (out.result === 'rejected') {
        // One number refused (STOP, invalid): the others still get it.
        refused.push(`${to}: ${out.reason}`);
        done.add(to);
      } else return out;
    }
    this.sent.delete(m.id);
    if (refused.length === this.config.to.length) return { result: 'rejected', reason: refused.join('; ') };
    return { result: 'delivered', ...(refused.length ? { detail: `refused: ${refused.join('; ')}` } : {}) };
  }
}

export const twilio = defineAlertChannel<TwilioConfig>({
  kind: 'twilio',
  description: 'SMS through the Twilio Messages API (one text per number, one segment where possible).',
  configSchema: twilioConfigSchema,
  // A long-code number sends about one message per second.
  rateLimit: { perSecond: 1, burst: 2 },
  repeats: 'a second text message (SMS has no deduplication); a retry skips numbers that already got it',
  async create(config, ctx) {
    return new TwilioChannel(ctx.secret(config.authToken), config);
  },
});
