import { createHash } from 'node:crypto';
import { defineExportSink, type DeliveryAttempt, type ExportOutcome, type ExportRecord, type Secret } from '@ft/sdk';
import { deliveryOutcome, httpUrl, type HttpAnswer } from '@ft/http-vendor';
import { z } from 'zod';
import { envName } from '../options.js';
import { HttpSink, joinPath, jsonOf } from './http.js';

export const mispConfigSchema = z
  .object({
    url: httpUrl().describe('The MISP instance, e.g. https://misp.example.'),
    authKey: envName('the MISP auth key of an API-enabled user'),
    distribution: z.number().int().min(0).max(3).default(0).describe('0 your organisation only … 3 all communities.'),
    threatLevel: z.number().int().min(1).max(4).default(2).describe('1 high, 2 medium, 3 low, 4 undefined.'),
    tags: z.array(z.string().min(1)).default(['tlp:amber']),
    publish: z.boolean().default(false).describe('Publish each event at once (else an analyst reviews and publishes).'),
  })
  .strict();
export type MispConfig = z.output<typeof mispConfigSchema>;

/** The MISP object template for a DDoS (misp-objects `ddos`). */
export const DDOS_TEMPLATE = { uuid: 'e2f124d6-f57c-4f93-99e6-8450545fa05d', version: '5' };

/** A stable event uuid per incident (tenant + incident id), so an event sent twice is one event in MISP. */
export function mispEventUuid(tenant: string, incidentId: string): string {
  const h = createHash('sha256').update(`ft:${tenant}:${incidentId}`).digest('hex');
  // RFC 4122 layout, version 5-style bits.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/**
 * An opened incident as a MISP event: the attack's sources as `ip-src` attributes (only when the sources are not
 * spoofed: a spoofed address is somebody else's), the target as `ip-dst` (not for IDS), tags (TLP and the family).
 */
export function mispEvent(r: ExportRecord, c: MispConfig): Record<string, unknown> {
  const i = r.incident;
  if (!i) throw new Error('mispEvent needs an incident record');
  const sources = i.spoofing_detected ? [] : i.top_src_ips;
  return {
    Event: {
      uuid: mispEventUuid(r.tenant, i.id),
      info: `ft DDoS ${i.id} ${i.attack_family} on ${r.target ?? '?'}`,
      date: r.at.slice(0, 10),
      distribution: c.distribution,
      threat_level_id: c.threatLevel,
      analysis: 1,
      published: false,
      Tag: [...c.tags, `ft:attack-family="${i.attack_family}"`, ...i.vector.map((v) => `ft:vector="${v}"`)].map(
        (name) => ({ name }),
      ),
      Attribute: [
        ...sources.map((s) => ({
          type: 'ip-src',
          category: 'Network activity',
          value: s.ip,
          to_ids: true,
          comment: `${i.attack_family} source (${s.count} packets in the top list)`,
        })),
        ...(r.targetIp
          ? [
              {
                type: 'ip-dst',
                category: 'Network activity',
                value: r.targetIp,
                to_ids: false,
                comment: 'attacked target',
              },
            ]
          : []),
      ],
    },
  };
}

/** The `ddos` object for the event. */
export function mispDdosObject(r: ExportRecord): Record<string, unknown> {
  const i = r.incident;
  if (!i) throw new Error('mispDdosObject needs an incident record');
  const attr = (relation: string, type: string, value: string | number) => ({
    object_relation: relation,
    type,
    value: String(value),
  });
  return {
    Object: {
      name: 'ddos',
      'meta-category': 'network',
      template_uuid: DDOS_TEMPLATE.uuid,
      template_version: DDOS_TEMPLATE.version,
      Attribute: [
        ...(r.targetIp ? [attr('ip-dst', 'ip-dst', r.targetIp)] : []),
        ...(i.top_dst_ports[0] ? [attr('dst-port', 'port', i.top_dst_ports[0].port)] : []),
        ...(i.transport ? [attr('protocol', 'text', i.transport.toUpperCase())] : []),
        attr('total-pps', 'counter', Math.round(i.peak_pps)),
        attr('total-bps', 'counter', Math.round(i.peak_bps)),
        attr('first-seen', 'datetime', i.started_at),
        attr('text', 'text', r.message),
      ],
    },
  };
}

const alreadyThere = (a: HttpAnswer) => a.status === 403 && /already exists/i.test(a.text);

class MispSink extends HttpSink {
  private readonly base: URL;
  constructor(
    private readonly key: Secret,
    private readonly c: MispConfig,
  ) {
    const base = new URL(c.url);
    super(base);
    this.base = base;
  }
  describe() {
    return `${this.base.host} events (auth key from ${this.c.authKey})`;
  }
  private headers() {
    return {
      authorization: this.key.reveal(),
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': 'ft-export',
    };
  }
  private outcome(a: HttpAnswer): ExportOutcome {
    const j = jsonOf(a.text);
    return deliveryOutcome(a, {
      message: () => (typeof j?.message === 'string' ? j.message : typeof j?.name === 'string' ? j.name : undefined),
      // 403 is MISP's answer both for a bad key and for validation errors.
      dead: (x) =>
        x.status === 403 && /authentication|api key|authorization/i.test(x.text)
          ? 'the auth key is refused'
          : undefined,
    });
  }
  protected async deliver(records: readonly ExportRecord[], a: DeliveryAttempt): Promise<ExportOutcome> {
    for (let idx = 0; idx < records.length; idx++) {
      const r = records[idx] as ExportRecord;
      // MISP holds indicators: one event per opened incident; the incident's later changes stay in the SIEMs.
      if (r.type !== 'incident.opened' || !r.incident) continue;
      const ev = await this.post(
        joinPath(this.base, '/events/add'),
        JSON.stringify(mispEvent(r, this.c)),
        this.headers(),
        a.signal,
      );
      if (alreadyThere(ev)) continue;
      if (ev.status !== 200) {
        const o = this.outcome(ev);
        if (idx === 0 || o.result !== 'retry')
          return o.result === 'delivered' ? { result: 'retry', reason: 'unexpected answer' } : o;
        return { result: 'partial', retry: range(idx, records.length), rejected: [], reason: o.reason };
      }
      const id = (jsonOf(ev.text)?.Event as { id?: string } | undefined)?.id;
      if (!id) return { result: 'retry', reason: 'MISP answered without an event id' };
      const obj = await this.post(
        joinPath(this.base, `/objects/add/${id}`),
        JSON.stringify(mispDdosObject(r)),
        this.headers(),
        a.signal,
      );
      if (obj.status !== 200) a.signal.throwIfAborted();
      if (this.c.publish) await this.post(joinPath(this.base, `/events/publish/${id}`), '', this.headers(), a.signal);
    }
    return { result: 'delivered' };
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

export const misp = defineExportSink<MispConfig>({
  kind: 'misp',
  description:
    "MISP: an event per opened incident, the attack's non-spoofed sources as ip-src attributes, a ddos object, tags.",
  configSchema: mispConfigSchema,
  batch: { maxRecords: 50, maxBytes: 1024 * 1024 },
  rateLimit: { perSecond: 5, burst: 5 },
  repeats: 'absorbed: the event uuid is derived from the incident, MISP refuses a second one (counted as delivered)',
  async create(config, ctx) {
    return new MispSink(ctx.secret(config.authKey), config);
  },
});
