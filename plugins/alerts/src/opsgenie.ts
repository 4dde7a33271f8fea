import { createHash } from 'node:crypto';
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
import { JSON_HEADERS, baseUrl, credentialName, jsonOf } from './options.js';

/** Opsgenie's REST API and Jira Service Management's alert API take the same bodies under different bases. */
export const OPSGENIE_BASES = {
  opsgenie: 'https://api.opsgenie.com',
  'opsgenie-eu': 'https://api.eu.opsgenie.com',
  jsm: 'https://api.atlassian.com/jsm/ops/integration',
} as const;

export const opsgenieConfigSchema = z
  .object({
    apiKey: credentialName('an API integration key (an account key cannot create or close alerts)'),
    api: z
      .enum(['opsgenie', 'opsgenie-eu', 'jsm'])
      .default('opsgenie')
      .describe('Opsgenie support ends 5 April 2027: plan for jsm.'),
    url: baseUrl('https://api.opsgenie.com').optional().describe('Overrides `api` (tests, proxies).'),
    responders: z
      .array(z.object({ type: z.enum(['team', 'user', 'escalation', 'schedule']), name: z.string().min(1) }).strict())
      .max(50)
      .default([]),
    tags: z.array(z.string().min(1)).max(10).default([]),
    acknowledgeOnMitigated: z.boolean().default(false),
  })
  .strict();
export type OpsgenieConfig = z.output<typeof opsgenieConfigSchema>;

const PRIORITY = { low: 'P4', medium: 'P3', high: 'P2', critical: 'P1' } as const;

/** alias ≤ 512 (one open alert per alias). */
export const aliasOf = (key: string) =>
  key.length <= 512 ? key : `ft:${createHash('sha256').update(key).digest('hex')}`;

export interface OgRequest {
  path: string;
  body: Record<string, unknown>;
}

/** Create (deduplicated by alias while open), then acknowledge/close by alias; a note says what changed. */
export function opsgenieRequests(
  m: AlertMessage,
  config: Pick<OpsgenieConfig, 'responders' | 'tags' | 'acknowledgeOnMitigated'>,
): OgRequest[] {
  const alias = encodeURIComponent(aliasOf(m.key));
  const byAlias = (verb: string) => `/v2/alerts/${alias}/${verb}?identifierType=alias`;
  const create: OgRequest = {
    path: '/v2/alerts',
    body: {
      message: clip(`${m.test ? '[TEST] ' : ''}${m.title}`, 130),
      alias: aliasOf(m.key),
      description: clip(
        m.facts.map((f) => `${f.label}: ${f.value}`).join('\n') +
          (m.links.length ? `\n${m.links.map((l) => l.url).join('\n')}` : ''),
        15000,
      ),
      priority: PRIORITY[m.severity],
      source: 'ft',
      entity: m.incident?.target ?? m.key,
      tags: [
        ...new Set([
          'ft',
          m.group === 'incident' ? 'ddos' : 'ft-operational',
          ...(m.incident ? [m.incident.family] : []),
          m.severity,
          ...config.tags,
        ]),
      ].slice(0, 20),
      details: Object.fromEntries([
        ...m.facts.map((f) => [f.label, clip(f.value, 1000)]),
        ['state', m.kind],
        ['node', m.node],
      ]),
      ...(config.responders.length ? { responders: config.responders } : {}),
    },
  };
  const note = (text: string): OgRequest => ({
    path: byAlias('notes'),
    body: { source: 'ft', note: clip(text, 25000) },
  });
  if (m.status === 'resolved') {
    const close: OgRequest = {
      path: byAlias('close'),
      body: { source: 'ft', note: clip(`${m.title}: ${m.summary}`, 25000) },
    };
    return m.history.some((h) => h.kind !== 'incident.resolved') ? [create, close] : [close];
  }
  const out = [create];
  if (m.kind !== 'incident.opened') out.push(note(`${m.title}: ${m.summary}`));
  if (m.kind === 'incident.mitigated' && config.acknowledgeOnMitigated)
    out.push({ path: byAlias('acknowledge'), body: { source: 'ft', note: 'mitigation is live' } });
  return out;
}

/**
 * Every call is asynchronous: 202 `{"result":"Request will be processed","took":…,"requestId":…}`. 401/403 is the
 * key; 422 a body it refused; 429 (with X-RateLimit-State: THROTTLED) and 5xx retry.
 */
export function opsgenieOutcome(a: HttpAnswer): DeliveryOutcome {
  return deliveryOutcome(a, {
    message: (x) => {
      const j = jsonOf(x.text);
      return typeof j?.message === 'string' ? j.message : undefined;
    },
  });
}

class OpsgenieChannel extends HttpChannel {
  private readonly prefix: string;
  constructor(
    private readonly key: Secret,
    private readonly config: OpsgenieConfig,
  ) {
    const base = new URL(config.url ?? OPSGENIE_BASES[config.api]);
    super(base);
    this.prefix = base.pathname.replace(/\/+$/, '');
  }
  describe() {
    return `${new URL(this.config.url ?? OPSGENIE_BASES[this.config.api]).host} (${this.config.api}; key from ${this.config.apiKey})`;
  }
  protected deliver(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    const headers = { ...JSON_HEADERS, authorization: `GenieKey ${this.key.reveal()}` };
    const requests = opsgenieRequests(m, this.config).map((r) => ({
      path: `${this.prefix}${r.path}`,
      body: JSON.stringify(r.body),
      headers,
    }));
    return this.postAll(requests, opsgenieOutcome, a.signal);
  }
}

export const opsgenie = defineAlertChannel<OpsgenieConfig>({
  kind: 'opsgenie',
  description: 'Opsgenie or Jira Service Management alerts: create by alias, close on resolve.',
  configSchema: opsgenieConfigSchema,
  rateLimit: { perSecond: 2, burst: 10 },
  repeats: 'deduplicated by alias while the alert is open (its count goes up); a repeated note is a second note',
  async create(config, ctx) {
    return new OpsgenieChannel(ctx.secret(config.apiKey), config);
  },
});
