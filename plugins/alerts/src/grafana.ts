import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  clip,
  defineAlertChannel,
  type AlertMessage,
  type DeliveryAttempt,
  type DeliveryOutcome,
  type Secret,
} from '@ft/sdk';
import { deliveryOutcome } from '@ft/http-vendor';
import { z } from 'zod';
import { HttpChannel } from './http-channel.js';
import { JSON_HEADERS, baseUrl, credentialName, jsonOf } from './options.js';

export const grafanaConfigSchema = z
  .object({
    url: baseUrl('http://127.0.0.1:3000').describe('Grafana base URL (https://grafana.example).'),
    token: credentialName('a service account token with annotations:create and annotations:write'),
    dashboardUid: z
      .string()
      .min(1)
      .optional()
      .describe('Annotate this dashboard (without it: an organisation annotation, found by tags).'),
    panelId: z.number().int().min(0).optional(),
    tags: z.array(z.string().min(1)).max(10).default([]),
  })
  .strict();
export type GrafanaConfig = z.output<typeof grafanaConfigSchema>;

const epochMs = (iso: string | undefined) => (iso ? Date.parse(iso) : Number.NaN);

/** Tags an incident's annotation carries (Grafana finds organisation annotations by them). */
export function grafanaTags(m: AlertMessage, extra: string[] = []): string[] {
  return [
    ...new Set([
      'ft',
      m.group === 'incident' ? 'ddos' : 'ft-operational',
      ...(m.incident ? [m.incident.family, `incident:${m.incident.id}`] : [m.kind]),
      m.severity,
      ...m.pops.map((p) => `pop:${p}`),
      ...extra,
    ]),
  ];
}

export const grafanaText = (m: AlertMessage) =>
  clip(
    `${m.test ? '[TEST] ' : ''}<b>${m.title}</b><br>${m.summary}<br>${m.facts.map((f) => `${f.label}: ${f.value}`).join('<br>')}`,
    10000,
  );

/**
 * An incident is a region annotation (grafana.com/docs/grafana/latest/developers/http_api/annotations): created at
 * its start (`time`), its text updated as it changes, closed with `timeEnd` when it resolves. Operational alarms are
 * point annotations, and a recovery closes the alarm's region the same way.
 */
export function grafanaCreate(
  m: AlertMessage,
  c: Pick<GrafanaConfig, 'dashboardUid' | 'panelId' | 'tags'>,
  end?: boolean,
): Record<string, unknown> {
  const start = epochMs(m.incident?.startedAt ?? m.at);
  const stop = epochMs(m.incident?.resolvedAt ?? m.at);
  return {
    ...(c.dashboardUid ? { dashboardUID: c.dashboardUid } : {}),
    ...(c.panelId !== undefined ? { panelId: c.panelId } : {}),
    time: start,
    ...(end ? { timeEnd: Math.max(start, stop) } : {}),
    tags: grafanaTags(m, c.tags),
    text: grafanaText(m),
  };
}

/** Annotation ids by alert key, kept in the channel's state directory so a restart can still close a region. */
class AnnotationIds {
  private ids = new Map<string, number>();
  private loaded = false;
  constructor(private readonly file: string) {}
  async get(key: string): Promise<number | undefined> {
    if (!this.loaded) {
      this.loaded = true;
      try {
        this.ids = new Map(Object.entries(JSON.parse(await readFile(this.file, 'utf8')) as Record<string, number>));
      } catch {
        /* none yet */
      }
    }
    return this.ids.get(key);
  }
  async set(key: string, id: number | undefined): Promise<void> {
    if (id === undefined) this.ids.delete(key);
    else this.ids.set(key, id);
    while (this.ids.size > 5000) this.ids.delete(this.ids.keys().next().value as string);
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(this.ids)), { mode: 0o600 });
    await rename(tmp, this.file);
  }
}

class GrafanaChannel extends HttpChannel {
  private readonly ids: AnnotationIds;
  private readonly prefix: string;
  constructor(
    private readonly token: Secret,
    private readonly config: GrafanaConfig,
    stateDir: string,
  ) {
    const base = new URL(config.url);
    super(base);
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.ids = new AnnotationIds(join(stateDir, 'annotations.json'));
  }
  describe() {
    return `${new URL(this.config.url).host} annotations (token from ${this.config.token})`;
  }
  private headers() {
    return { ...JSON_HEADERS, authorization: `Bearer ${this.token.reveal()}` };
  }
  protected async deliver(m: AlertMessage, a: DeliveryAttempt): Promise<DeliveryOutcome> {
    const id = await this.ids.get(m.key);
    if (id !== undefined) {
      const body =
        m.status === 'resolved'
          ? {
              timeEnd: epochMs(m.incident?.resolvedAt ?? m.at),
              text: grafanaText(m),
              tags: grafanaTags(m, this.config.tags),
            }
          : { text: grafanaText(m), tags: grafanaTags(m, this.config.tags) };
      const res = await this.http.send(
        {
          method: 'PATCH',
          path: `${this.prefix}/api/annotations/${id}`,
          headers: this.headers(),
          body: JSON.stringify(body),
        },
        a.signal,
      );
      // Someone deleted the annotation: make a new one below.
      if (res.status !== 404) {
        const out = deliveryOutcome(res);
        if (out.result === 'delivered' && m.status === 'resolved') await this.ids.set(m.key, undefined);
        return out;
      }
    }
    // A recovery with no region to close is a point in time; an incident is a region from its start.
    const closed = m.status === 'resolved';
    const res = await this.post(
      `${this.prefix}/api/annotations`,
      JSON.stringify(grafanaCreate(m, this.config, closed)),
      this.headers(),
      a.signal,
    );
    const out = deliveryOutcome(res, {
      message: (x) => (typeof jsonOf(x.text)?.message === 'string' ? String(jsonOf(x.text)?.message) : undefined),
    });
    const newId = jsonOf(res.text)?.id;
    if (out.result === 'delivered' && !closed && typeof newId === 'number') await this.ids.set(m.key, newId);
    return out;
  }
}

export const grafana = defineAlertChannel<GrafanaConfig>({
  kind: 'grafana',
  description:
    'Grafana annotations: each incident a region from start to resolve, tagged (ft, ddos, family, incident:ID).',
  configSchema: grafanaConfigSchema,
  rateLimit: { perSecond: 10, burst: 20 },
  repeats:
    'the same annotation updated again (its id is kept per incident); a repeated first message before the id was stored is a second annotation',
  async create(config, ctx) {
    return new GrafanaChannel(ctx.secret(config.token), config, ctx.stateDir);
  },
});
