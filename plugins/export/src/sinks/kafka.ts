import { readFileSync } from 'node:fs';
import { defineExportSink, type ExportOutcome, type ExportRecord, type ExportSink, type Secret } from '@ft/sdk';
import { z } from 'zod';
import { absolutePath, envName } from '../options.js';

export const kafkaConfigSchema = z
  .object({
    brokers: z
      .array(z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'HOST:PORT'))
      .min(1)
      .describe('Bootstrap brokers, HOST:PORT.'),
    topicPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]*$/)
      .default('ft.')
      .describe('Topics are PREFIX + incidents, rules, metrics (traffic summaries), operational, audit.'),
    clientId: z.string().min(1).default('ft'),
    compression: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none'),
    tls: z
      .object({
        ca: absolutePath('PEM CA file.').optional(),
        cert: absolutePath('PEM client certificate.').optional(),
        key: absolutePath('PEM client key.').optional(),
      })
      .strict()
      .optional(),
    sasl: z
      .object({
        mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']),
        username: z.string().min(1),
        password: envName('the SASL password'),
      })
      .strict()
      .optional(),
  })
  .strict();
export type KafkaConfig = z.output<typeof kafkaConfigSchema>;

const TOPICS: Record<ExportRecord['category'], string> = {
  incident: 'incidents',
  rule: 'rules',
  traffic: 'metrics',
  operational: 'operational',
  audit: 'audit',
};

/**
 * One record as a Kafka message in the CloudEvents 1.0 Kafka binding, binary mode: the value is the record's
 * JSON, the attributes are `ce_` headers. The key is the target, so one target's events land on one partition
 * and stay in order (records without a target are keyed by their component, or the node).
 */
export function kafkaMessage(r: ExportRecord, prefix: string) {
  return {
    topic: `${prefix}${TOPICS[r.category]}`,
    key: r.target ?? (r.component ? `${r.component.type}:${r.component.name}` : r.node),
    value: JSON.stringify(r),
    headers: {
      ce_specversion: '1.0',
      ce_id: r.id,
      ce_source: `ft://${r.node}`,
      ce_type: `ft.${r.type}`,
      ce_time: r.at,
      'content-type': 'application/json',
    },
  };
}

type KafkaModule = typeof import('@platformatic/kafka');

class KafkaSink implements ExportSink {
  private producer?: InstanceType<KafkaModule['Producer']>;

  constructor(
    private readonly c: KafkaConfig,
    private readonly password: Secret | undefined,
  ) {}

  describe() {
    return `kafka ${this.c.brokers.join(',')} topics ${this.c.topicPrefix}{incidents,rules,metrics,operational,audit}${this.c.sasl ? ` (SASL ${this.c.sasl.mechanism} as ${this.c.sasl.username})` : ''}`;
  }

  private async client() {
    if (this.producer) return this.producer;
    const k: KafkaModule = await import('@platformatic/kafka');
    const tls = this.c.tls
      ? {
          ...(this.c.tls.ca ? { ca: readFileSync(this.c.tls.ca) } : {}),
          ...(this.c.tls.cert ? { cert: readFileSync(this.c.tls.cert) } : {}),
          ...(this.c.tls.key ? { key: readFileSync(this.c.tls.key) } : {}),
        }
      : undefined;
    this.producer = new k.Producer({
      clientId: this.c.clientId,
      bootstrapBrokers: this.c.brokers,
      serializers: k.stringSerializers,
      // The idempotent producer: the broker drops a batch the client sent twice (its own retries after a lost
      // answer), so those never become duplicates; acks from every in-sync replica.
      idempotent: true,
      acks: k.ProduceAcks.ALL,
      ...(this.c.compression !== 'none' ? { compression: this.c.compression } : {}),
      // The export queue owns retries and backoff; the client retries only briefly within one attempt.
      retries: 1,
      retryDelay: 200,
      connectTimeout: 3000,
      ...(tls ? { tls } : {}),
      ...(this.c.sasl && this.password
        ? {
            sasl: {
              mechanism: this.c.sasl.mechanism,
              username: this.c.sasl.username,
              password: this.password.reveal(),
            },
          }
        : {}),
    } as never);
    return this.producer;
  }

  async send(records: readonly ExportRecord[]): Promise<ExportOutcome> {
    try {
      const p = await this.client();
      await p.send({ messages: records.map((r) => kafkaMessage(r, this.c.topicPrefix)) });
      return { result: 'delivered', detail: `${records.length} message(s)` };
    } catch (err) {
      const e = err as Error & { code?: string; errors?: Error[] };
      const detail = e.errors?.map((x) => x.message).join('; ');
      const reason = `${e.code ? `${e.code}: ` : ''}${e.message}${detail ? ` (${detail})` : ''}`;
      if (/SASL|authenticat|authoriz/i.test(reason)) return { result: 'dead', reason };
      // A producer that failed may hold a broken connection or an old producer id: the next attempt starts afresh.
      await this.producer?.close(true).catch(() => undefined);
      this.producer = undefined;
      return { result: 'retry', reason };
    }
  }

  async close(): Promise<void> {
    await this.producer?.close().catch(() => undefined);
    this.producer = undefined;
  }
}

export const kafka = defineExportSink<KafkaConfig>({
  kind: 'kafka',
  description: 'Kafka (idempotent producer, CloudEvents binary mode, keyed by target so each target stays in order).',
  configSchema: kafkaConfigSchema,
  batch: { maxRecords: 500, maxBytes: 900 * 1024 },
  rateLimit: { perSecond: 100, burst: 100 },
  repeats:
    "the client's own retries are absorbed by the idempotent producer; a batch ft sends again after a failure can repeat (consumers dedup by ce_id)",
  async create(config, ctx) {
    return new KafkaSink(config, config.sasl ? ctx.secret(config.sasl.password) : undefined);
  },
});
