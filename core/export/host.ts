import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Secret,
  defineEventSubscriber,
  type ExportRecord,
  type ExportSink,
  type ExportSinkFactory,
  type PluginLogger,
} from '@ft/sdk';
import { DiskSpool } from '../deliver/index.js';
import { attachConsumer } from '../events/consumer.js';
import type { EventStream } from '../events/stream.js';
import type { Registry } from '../plugin-host/registry.js';
import type { ExportSinkInstance, Policy } from '../policy/types.js';
import { SinkRunner, type ExportMetrics, type SinkStats } from './runner.js';

export class ExportSetupError extends Error {}

/** The subscriber (cursor) name of a sink: stable across restarts. */
export const sinkSubscriberName = (sink: string) => `export:${sink}`;

/** Where a sink keeps its spool and any state its plugin wants. */
export const sinkStateDir = (stateDir: string, sink: string) => join(stateDir, 'export', sink);

/** Creates one sink through its plugin's factory (credentials from the environment, by name). */
export async function createSink(
  registry: Registry,
  inst: ExportSinkInstance,
  o: { stateDir: string; logger: PluginLogger; signal: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<{ sink: ExportSink; factory: ExportSinkFactory }> {
  const entry = registry.exportSink(inst.kind);
  if (!entry)
    throw new ExportSetupError(
      `export sink ${inst.name}: no installed plugin provides kind "${inst.kind}" (see \`ft registry\`)`,
    );
  const parsed = inst.validated
    ? ({ success: true, data: inst.options } as const)
    : entry.factory.configSchema.safeParse(inst.options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new ExportSetupError(`export sink ${inst.name} (${inst.kind}): invalid options: ${issues}`);
  }
  const env = o.env ?? process.env;
  const dir = sinkStateDir(o.stateDir, inst.name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const sink = await entry.factory.create(parsed.data, {
      name: inst.name,
      logger: o.logger.child({ sink: inst.name, kind: inst.kind }),
      stateDir: dir,
      signal: o.signal,
      secret(ref: string): Secret {
        const value = env[ref];
        if (value === undefined || value === '')
          throw new ExportSetupError(`export sink ${inst.name}: the credential ${ref} is not set in the environment`);
        return new Secret(value, ref);
      },
    });
    return { sink, factory: entry.factory };
  } catch (err) {
    if (err instanceof ExportSetupError) throw err;
    throw new ExportSetupError(`export sink ${inst.name} (${inst.kind}): ${(err as Error).message}`);
  }
}

/** The batch limits of a sink: its kind's, lowered (or raised) by the policy. */
export function batchLimits(inst: ExportSinkInstance, factory: ExportSinkFactory) {
  return {
    maxRecords: inst.batch?.maxRecords ?? factory.batch.maxRecords,
    maxBytes: inst.batch?.maxBytes ?? factory.batch.maxBytes,
  };
}

export interface ExportHost {
  runners: Map<string, SinkRunner>;
  stats(): SinkStats[];
  /** Resolves once every sink has read the stream up to now and delivered (or dropped) all of it. */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts every sink of the policy: creates it, opens its connections, opens its spool and subscribes it to the
 * event stream from its own cursor (`export:NAME`). A sink that cannot start (a missing credential, a bad
 * certificate file) stops ft at start-up, with its name: telemetry nobody receives is a blind SOC. Sinks only
 * read the stream; detection and mitigation never wait for them.
 */
export async function startExport(o: {
  policy: Policy;
  registry: Registry;
  stream: EventStream;
  stateDir: string;
  logger: PluginLogger;
  metrics?: ExportMetrics;
  env?: NodeJS.ProcessEnv;
  /** Tests: faster retries, alarms. */
  retry?: { baseMs?: number; maxMs?: number };
  alarmEveryMs?: number;
}): Promise<ExportHost> {
  const controller = new AbortController();
  const runners = new Map<string, SinkRunner>();
  const attached: { close(): Promise<void> }[] = [];
  const subscriptions: import('../events/hub.js').Subscription[] = [];
  const close = async () => {
    controller.abort();
    await Promise.all(attached.map((a) => a.close().catch(() => undefined)));
    await Promise.all([...runners.values()].map((r) => r.close().catch(() => undefined)));
  };
  try {
    const created = await Promise.all(
      [...o.policy.export.sinks.values()].map(async (inst) => ({
        inst,
        ...(await createSink(o.registry, inst, {
          stateDir: o.stateDir,
          logger: o.logger,
          signal: controller.signal,
          ...(o.env ? { env: o.env } : {}),
        })),
      })),
    );
    await Promise.all(
      created.map(({ inst, sink }) =>
        sink.warm
          ? sink
              .warm(AbortSignal.any([controller.signal, AbortSignal.timeout(Math.min(inst.timeoutMs, 3000))]))
              .catch((err: Error) =>
                o.logger.warn({ sink: inst.name, err: err.message }, 'export sink: could not connect at start'),
              )
          : Promise.resolve(),
      ),
    );
    for (const { inst, sink, factory } of created) {
      const spool = await DiskSpool.open<ExportRecord>({
        dir: join(sinkStateDir(o.stateDir, inst.name), 'spool'),
        maxBytes: inst.spoolBytes,
        metaOf: (r) => ({ seq: r.seq, atMs: r.atMs }),
      });
      const spec = defineEventSubscriber({
        name: sinkSubscriberName(inst.name),
        manualAck: true,
        from: 'now',
        create: (ctx) => {
          const runner = new SinkRunner({
            inst,
            sink,
            spool,
            batch: batchLimits(inst, factory),
            rate: inst.rateLimit ?? factory.rateLimit,
            ack: ctx.ack,
            alarms: o.stream,
            logger: ctx.logger,
            ...(o.metrics ? { metrics: o.metrics } : {}),
            ...(o.retry ? { retry: o.retry } : {}),
            ...(o.alarmEveryMs !== undefined ? { alarmEveryMs: o.alarmEveryMs } : {}),
          });
          runners.set(inst.name, runner);
          return runner;
        },
      });
      const a = await attachConsumer(o.stream, spec, {
        logger: o.logger.child({ sink: inst.name }),
        signal: controller.signal,
      });
      // attachConsumer's close closes the consumer too; the host closes runners itself, once.
      attached.push({ close: () => a.subscription.close() });
      subscriptions.push(a.subscription);
    }
  } catch (err) {
    await close();
    throw err;
  }
  if (runners.size > 0)
    o.logger.info({ sinks: [...runners.keys()] }, `export: ${runners.size} sink(s) subscribed to the event stream`);
  return {
    runners,
    close,
    stats: () => [...runners.values()].map((r) => r.stats()),
    async caughtUp() {
      await Promise.all(subscriptions.map((s) => s.caughtUp()));
      await Promise.all([...runners.values()].map((r) => r.drained()));
    },
  };
}
