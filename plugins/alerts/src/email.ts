import { createHash } from 'node:crypto';
import {
  alertText,
  defineAlertChannel,
  type AlertChannel,
  type AlertMessage,
  type DeliveryAttempt,
  type DeliveryOutcome,
  type Secret,
} from '@ft/sdk';
import { z } from 'zod';
import { credentialName, escapeHtml } from './options.js';

const address = z.string().regex(/^[^\s@<>]+@[^\s@<>]+$/, 'an address like noc@example.net');

export const emailConfigSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(587),
    tls: z
      .enum(['starttls', 'tls', 'none'])
      .default('starttls')
      .describe(
        'starttls: upgrade on 587 and refuse to send in clear; tls: TLS from the start (465); none: only to a relay on this box.',
      ),
    user: credentialName('the SMTP user').optional(),
    password: credentialName('the SMTP password').optional(),
    from: address,
    to: z.array(address).min(1).max(50),
    subjectPrefix: z.string().max(40).default('[ft]'),
    /** Trust this CA file for the server's certificate (a private relay). */
    ca: z.string().min(1).optional().describe('PEM file with the CA of the relay certificate (default: system CAs).'),
  })
  .strict()
  .refine((c) => (c.user === undefined) === (c.password === undefined), {
    message: 'give both user and password, or neither',
    path: ['user'],
  })
  .refine((c) => c.tls !== 'none' || ['127.0.0.1', 'localhost', '::1'].includes(c.host), {
    message:
      'tls: none only to a relay on this box (127.0.0.1, ::1, localhost): credentials and alerts must not cross a network in clear',
    path: ['tls'],
  });
export type EmailConfig = z.output<typeof emailConfigSchema>;

/** A Message-ID derived from the alert, so a repeat is the same message to clients that deduplicate by it. */
const messageId = (id: string, domain: string) => `<${id}@${domain}>`;
/** The incident's thread: every message of one incident refers to the same root, so mail clients group them. */
const threadRoot = (key: string, domain: string) =>
  `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}.thread@${domain}>`;

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  messageId: string;
}

export function emailContent(m: AlertMessage, o: { subjectPrefix: string; domain: string }): EmailContent {
  const subject =
    `${o.subjectPrefix ? `${o.subjectPrefix} ` : ''}${m.test ? '[TEST] ' : ''}${m.severity.toUpperCase()} ${m.title}`.replace(
      /[\r\n]+/g,
      ' ',
    );
  const rows = m.facts
    .map((f) => `<tr><th align="left">${escapeHtml(f.label)}</th><td>${escapeHtml(f.value)}</td></tr>`)
    .join('');
  const html = `<h2>${escapeHtml(m.title)}</h2><p>${escapeHtml(m.summary)}</p><table>${rows}</table>${m.history.length ? `<p><i>Also: ${escapeHtml(m.history.map((h) => `${h.kind} ${h.at}`).join(', '))}</i></p>` : ''}${m.links.map((l) => `<p><a href="${escapeHtml(l.url)}">${escapeHtml(l.text)}</a></p>`).join('')}<p><small>${escapeHtml(`${m.node} · ${m.key} · ${m.at}`)}</small></p>`;
  const root = threadRoot(m.key, o.domain);
  const id = messageId(m.id, o.domain);
  return {
    subject,
    text: `${alertText(m)}\n\n${m.node} · ${m.key} · ${m.at}\n`,
    html,
    messageId: id,
    headers: {
      'X-Ft-Alert': m.kind,
      'X-Ft-Severity': m.severity,
      'X-Ft-Key': m.key,
      ...(id !== root ? { 'In-Reply-To': root, References: root } : {}),
    },
  };
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** SMTP replies: 4xx transient (retry), 5xx permanent; 530/534/535/538 are the credentials (a dead channel). */
export function smtpOutcome(err: SmtpError): DeliveryOutcome {
  const code = err.responseCode;
  const reason = `${code ? `${code} ` : ''}${err.response ?? err.message}`.slice(0, 300);
  if (code === undefined) return { result: 'retry', reason: `${err.code ? `${err.code}: ` : ''}${err.message}` };
  if (code >= 400 && code < 500) return { result: 'retry', reason, status: code };
  if ([530, 534, 535, 538].includes(code) || err.code === 'EAUTH') return { result: 'dead', reason, status: code };
  return { result: 'rejected', reason, status: code };
}

class EmailChannel implements AlertChannel {
  private transport?: import('nodemailer').Transporter;
  constructor(
    private readonly config: EmailConfig,
    private readonly auth?: { user: Secret; pass: Secret },
  ) {}
  describe() {
    return `smtp://${this.config.host}:${this.config.port} (${this.config.tls}) to ${this.config.to.length} address(es)${this.auth ? `, user from ${this.config.user}` : ''}`;
  }
  private async open(): Promise<import('nodemailer').Transporter> {
    if (this.transport) return this.transport;
    const nodemailer = await import('nodemailer');
    const { readFile } = await import('node:fs/promises');
    const ca = this.config.ca ? await readFile(this.config.ca, 'utf8') : undefined;
    // Pooled, with short timeouts: nodemailer's defaults (2 min connect, 10 min socket) would hold alerts far too long.
    this.transport = nodemailer.createTransport({
      host: this.config.host,
      port: this.config.port,
      secure: this.config.tls === 'tls',
      requireTLS: this.config.tls === 'starttls',
      ignoreTLS: this.config.tls === 'none',
      ...(this.auth ? { auth: { user: this.auth.user.reveal(), pass: this.auth.pass.reveal() } } : {}),
      ...(ca ? { tls: { ca } } : {}),
      pool: true,
      maxConnections: 2,
      connectionTimeout: 3000,
      greetingTimeout: 3000,
      socketTimeout: 10_000,
    });
    return this.transport;
  }
  async warm(): Promise<void> {
    // verify() connects, says EHLO, upgrades and authenticates: the same steps the first alert would pay for.
    await (await this.open()).verify();
  }
  async send(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    try {
      const t = await this.open();
      const domain = this.config.from.split('@')[1] as string;
      const c = emailContent(m, { subjectPrefix: this.config.subjectPrefix, domain });
      const sending = t.sendMail({
        from: this.config.from,
        to: this.config.to,
        subject: c.subject,
        text: c.text,
        html: c.html,
        messageId: c.messageId,
        headers: c.headers,
        date: new Date(m.at),
      });
      const aborted = new Promise<never>((_, reject) => {
        if (a.signal.aborted) reject(new Error('aborted'));
        a.signal.addEventListener('abort', () => reject(new Error('no answer in time')), { once: true });
      });
      const info = await Promise.race([sending, aborted]);
      const rejected = (info.rejected ?? []).map(String);
      if (rejected.length === this.config.to.length)
        return { result: 'rejected', reason: `every recipient refused: ${info.response}` };
      return {
        result: 'delivered',
        detail: `${info.response}${rejected.length ? `; refused ${rejected.join(', ')}` : ''}`,
      };
    } catch (err) {
      return smtpOutcome(err as SmtpError);
    }
  }
  async close(): Promise<void> {
    this.transport?.close();
  }
}

export const email = defineAlertChannel<EmailConfig>({
  kind: 'email',
  description: 'Email over SMTP (nodemailer): STARTTLS or TLS, auth, threaded per incident.',
  configSchema: emailConfigSchema,
  rateLimit: { perSecond: 1, burst: 5 },
  repeats: 'the same Message-ID again (clients that deduplicate by Message-ID show one; others show two)',
  async create(config, ctx) {
    const auth =
      config.user && config.password ? { user: ctx.secret(config.user), pass: ctx.secret(config.password) } : undefined;
    return new EmailChannel(config, auth);
  },
});
