import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Prefix,
  Secret,
  defineEventSubscriber,
  type AlertChannel,
  type AlertChannelFactory,
  type EventSubscriberSpec,
  type PluginLogger,
} from '@ft/sdk';
import type { EventStream } from '../events/stream.js';
import { attachConsumer } from '../events/consumer.js';
import type { Registry } from '../plugin-host/registry.js';
import type { AlertChannelInstance, Policy } from '../policy/types.js';
import { ChannelRunner, type AlertMetrics } from './channel.js';
import type { MessageContext } from './message.js';
import { StatusFile, alertsStateDir } from './status.js';

export class AlertSetupError extends Error {}

/** The subscriber (cursor) name of a channel: stable across restarts, so a restart resumes where it stopped. */
export const subscriberName = (channel: string) => `alerts:${channel}`;

/** Who a target belongs to: the most specific `targets:` entry and the `protect` prefix that contain it. */
export function messageContext(policy: Policy): MessageContext {
  return {
    ...(policy.alerts.dashboard ? { dashboard: policy.alerts.dashboard } : {}),
    customerOf(target: string) {
      let p: Prefix;
      try {
        p = Prefix.parse(target);
      } catch {
        return {};
      }
      const prot = policy.protect.find((x) => x.contains(p));
      const owner = policy.targets
        .filter((t) => t.prefix.contains(p))
        .sort((a, b) => b.prefix.length - a.prefix.length)[0];
      return {
        ...(owner ? { customer: owner.name } : {}),
        ...(prot ? { protectedPrefix: prot.toString() } : {}),
      };
    },
  };
}

/** Creates one channel instance through its plugin's factory (credentials from the environment, by name). */
export async function createChannel(
  registry: Registry,
  inst: AlertChannelInstance,
  o: { stateDir: string; logger: PluginLogger; signal: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<{ channel: AlertChannel; factory: AlertChannelFactory }> {
  const entry = registry.alertChannel(inst.kind);
  if (!entry)
    throw new AlertSetupError(
      `alert channel ${inst.name}: no installed plugin provides kind "${inst.kind}" (see \`ft registry\`)`,
    );
  const parsed = inst.validated
    ? ({ success: true, data: inst.options } as const)
    : entry.factory.configSchema.safeParse(inst.options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new AlertSetupError(`alert channel ${inst.name} (${inst.kind}): invalid options: ${issues}`);
  }
  const env = o.env ?? process.env;
  const stateDir = join(alertsStateDir(o.stateDir), inst.name);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const channel = await entry.factory.create(parsed.data, {
    name: inst.name,
    logger: o.logger.child({ channel: inst.name, kind: inst.kind }),
    stateDir,
    signal: o.signal,
    secret(ref: string): Secret {
      const value = env[ref];
      if (value === undefined || value === '')
        throw new AlertSetupError(`alert channel ${inst.name}: the credential ${ref} is not set in the environment`);
      return new Secret(value, ref);
    },
  });
  return { channel, factory: entry.factory };
}

export interface AlertsHost {
  runners: Map<string, ChannelRunner>;
  close(): Promise<void>;
}

/**
 * Starts every channel of the policy: creates it, warms its connection pool, and subscribes it to the event
 * stream from its own cursor (`alerts:NAME`). A channel that cannot start (a missing credential) is an error at
 * start-up: an alert nobody hears is an outage. The channels never touch detection or mitigation: they only read
 * the stream.
 */
export async function startAlerts(o: {
  policy: Policy;
  registry: Registry;
  stream: EventStream;
  stateDir: string;
  logger: PluginLogger;
  metrics?: AlertMetrics;
  env?: NodeJS.ProcessEnv;
  /** Tests: faster retries. */
  retry?: { baseMs?: number; maxMs?: number };
}): Promise<AlertsHost> {
  const controller = new AbortController();
  const runners = new Map<string, ChannelRunner>();
  const attached: { close(): Promise<void> }[] = [];
  const context = messageContext(o.policy);
  const close = async () => {
    controller.abort();
    // Queues first: a runner waiting for room in a stopped queue lets go, then the subscriptions close.
    await Promise.all([...runners.values()].map((r) => r.queue.close()));
    await Promise.all(attached.map((a) => a.close().catch(() => undefined)));
  };
  try {
    const created = await Promise.all(
      [...o.policy.alerts.channels.values()].map(async (inst) => ({
        inst,
        ...(await createChannel(o.registry, inst, {
          stateDir: o.stateDir,
          logger: o.logger,
          signal: controller.signal,
          ...(o.env ? { env: o.env } : {}),
        })),
      })),
    );
    // Every pool opens at once, each bounded: one slow service does not hold up the others or the start.
    await Promise.all(
      created.map(({ inst, channel }) =>
        channel.warm
          ? channel
              .warm(AbortSignal.any([controller.signal, AbortSignal.timeout(Math.min(inst.timeoutMs, 3000))]))
              .catch((err: Error) =>
                o.logger.warn({ channel: inst.name, err: err.message }, 'could not open the connection pool at start'),
              )
          : undefined,
      ),
    );
    for (const { inst, channel, factory } of created) {
      const status = await StatusFile.open(o.stateDir, inst.name);
      const previous = await status.read();
      const spec: EventSubscriberSpec = defineEventSubscriber({
        name: subscriberName(inst.name),
        manualAck: true,
        from: 'now',
        create: (ctx) => {
          const runner = new ChannelRunner({
            name: inst.name,
            kind: inst.kind,
            channel,
            alerts: o.policy.alerts,
            context,
            rate: inst.rateLimit ?? factory.rateLimit,
            timeoutMs: inst.timeoutMs,
            deadlineMs: inst.deadlineMs,
            ack: ctx.ack,
            alarms: o.stream,
            status,
            ...(previous ? { previous } : {}),
            logger: ctx.logger,
            ...(o.metrics ? { metrics: o.metrics } : {}),
            ...(o.retry ? { retry: o.retry } : {}),
          });
          runners.set(inst.name, runner);
          return runner;
        },
      });
      attached.push(
        await attachConsumer(o.stream, spec, {
          logger: o.logger.child({ channel: inst.name }),
          signal: controller.signal,
        }),
      );
    }
  } catch (err) {
    await close();
    throw err;
  }
  if (runners.size > 0)
    o.logger.info(
      { channels: [...runners.keys()] },
      `alerts: ${runners.size} channel(s) subscribed to the event stream`,
    );
  return { runners, close };
}
