import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  isRuleId,
  type Action,
  type Applied,
  type Health,
  type InstalledRef,
  type PluginContext,
  type RenderedCommand,
  type Rule,
  type RuleKind,
} from '@ft/sdk';
import { z } from 'zod';
import { VendorClient } from './client.js';
import { credential } from './util.js';
import { signWebhook } from './webhook.js';

export const webhookConfigSchema = z
  .object({
    url: z
      .string()
      .url()
      .refine((u) => {
        const url = new URL(u);
        return (
          url.protocol === 'https:' ||
          (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
        );
      }, 'must be https (plain http only to a loopback address, for tests)')
      .describe('Receiver URL; every event is POSTed here.'),
    secret: z
      .string()
      .min(1)
      .describe('Name of the credential (environment variable) holding the signing secret, whsec_<base64>.'),
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    retries: z.number().int().min(0).max(10).default(4),
  })
  .strict();
export type WebhookConfig = z.output<typeof webhookConfigSchema>;

/** What the receiver gets: the rule as ft planned it (prefixes as text), and what to do with it. */
export function webhookBody(
  event: 'rule.apply' | 'rule.withdraw',
  instance: string,
  rule: Rule | { id: string },
): Record<string, unknown> {
  return { type: event, instance, rule: JSON.parse(JSON.stringify(rule)) as unknown };
}

interface Sent {
  ruleId: string;
  nativeId: string;
  description: string;
}

/**
 * A signed JSON webhook per rule event. The receiver may answer `{"state":"pending"}` for slow work; ft then
 * re-sends the apply (with a new id) each time the executor polls, until the receiver answers anything else.
 * list() reports what was applied and not withdrawn, from this instance's state file: a webhook receiver has no
 * standard read API, so reconcile cannot see changes made on the receiver's side.
 */
export class WebhookAction implements Action {
  readonly #client: VendorClient;
  readonly #secret: () => string;
  readonly #file: string;
  #sent: Map<string, Sent> | undefined;
  #signing = new Map<string, string>();

  constructor(
    readonly capabilities: readonly RuleKind[],
    readonly kind: string,
    readonly config: WebhookConfig,
    readonly ctx: PluginContext,
  ) {
    const url = new URL(config.url);
    const secret = credential(ctx, config.secret);
    this.#secret = () => secret().reveal();
    this.#file = join(ctx.stateDir, 'webhook-sent.json');
    this.#client = new VendorClient({
      vendor: kind,
      baseUrl: url.origin,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      logger: ctx.logger,
      signal: ctx.signal,
      authorize: (req) => {
        // Same id on every attempt (receivers dedupe on it), fresh timestamp so the tolerance window holds.
        const id = this.#signing.get(req.body) ?? `msg_${randomUUID()}`;
        Object.assign(req.headers, signWebhook(this.#secret(), id, req.body));
      },
    });
  }

  #path(): string {
    const u = new URL(this.config.url);
    return `${u.pathname}${u.search}`;
  }

  render(rule: Rule): RenderedCommand[] {
    const body = webhookBody('rule.apply', this.ctx.name, rule);
    return [
      {
        adapter: this.kind,
        format: 'http',
        text: `POST ${this.config.url} (Standard Webhooks signed: webhook-id, webhook-timestamp, webhook-signature) ${JSON.stringify(body)}`,
        payload: { method: 'POST', url: this.config.url, body },
      },
    ];
  }

  async #load(): Promise<Map<string, Sent>> {
    if (this.#sent) return this.#sent;
    try {
      const list = JSON.parse(await readFile(this.#file, 'utf8')) as Sent[];
      this.#sent = new Map(list.map((s) => [s.ruleId, s]));
    } catch {
      this.#sent = new Map();
    }
    return this.#sent;
  }

  async #save(): Promise<void> {
    await mkdir(this.ctx.stateDir, { recursive: true });
    const tmp = `${this.#file}.tmp`;
    await writeFile(tmp, JSON.stringify([...(this.#sent ?? new Map()).values()]), { mode: 0o600 });
    await rename(tmp, this.#file);
  }

  async #post(body: Record<string, unknown>): Promise<{ body: unknown; id: string }> {
    const text = JSON.stringify(body);
    const id = `msg_${randomUUID()}`;
    this.#signing.set(text, id);
    try {
      const res = await this.#client.request({ method: 'POST', path: this.#path(), body, idempotent: true });
      return { body: res.body, id };
    } finally {
      this.#signing.delete(text);
    }
  }

  async apply(rule: Rule): Promise<Applied> {
    const sent = await this.#load();
    const had = sent.get(rule.id);
    if (had) return { ruleId: rule.id, state: 'installed', nativeId: had.nativeId };
    const res = await this.#post(webhookBody('rule.apply', this.ctx.name, rule));
    const answer = res.body as { state?: unknown; id?: unknown } | undefined;
    if (answer && typeof answer === 'object' && answer.state === 'pending') {
      return { ruleId: rule.id, state: 'pending', nativeId: res.id, detail: 'receiver reported pending' };
    }
    const nativeId = typeof answer?.id === 'string' ? answer.id : res.id;
    sent.set(rule.id, { ruleId: rule.id, nativeId, description: `${rule.kind} ${String(rule.target)}` });
    await this.#save();
    return { ruleId: rule.id, state: 'installed', nativeId };
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const sent = await this.#load();
    const id = 'id' in rule ? rule.id : (rule.ruleId ?? rule.nativeId);
    if (!sent.has(id)) return;
    await this.#post(webhookBody('rule.withdraw', this.ctx.name, 'kind' in rule ? rule : { id }));
    sent.delete(id);
    await this.#save();
  }

  async list(): Promise<InstalledRef[]> {
    const sent = await this.#load();
    return [...sent.values()].map((s) => ({
      ...(isRuleId(s.ruleId) ? { ruleId: s.ruleId } : {}),
      nativeId: s.nativeId,
      description: s.description,
    }));
  }

  async health(): Promise<Health> {
    // A webhook has no status endpoint; a receiver that refuses deliveries shows up as failed applies.
    return { status: 'ok', detail: `delivers to ${new URL(this.config.url).origin}` };
  }
}
