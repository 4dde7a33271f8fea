import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Prefix,
  Secret,
  defineEventSubscriber,
  type AlertChannel,
  type AlertChannelFactory,
  EVENT_TYPES,
  type EventConsumer,
  type EventType,
  type EventSubscriberSpec,
  type PluginLogger,
} from '@ft/sdk';
import type { EventAppender } from '../events/log.js';
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

export interface ChannelsOptions {
  policy: Policy;
  registry: Registry;
  stateDir: string;
  logger: PluginLogger;
  metrics?: AlertMetrics;
  env?: NodeJS.ProcessEnv;
  /** Tests: faster retries. */
  retry?: { baseMs?: number; maxMs?: number };
}

/** A channel created, its pool warmed, ready for a runner once its subscription can acknowledge. */
export interface PreparedChannel {
  name: string;
  runner(ack: (seq: number) => Promise<void>, alarms: EventAppender): ChannelRunner;
}

/**
 * Creates every channel of the policy through its plugin (credentials from the environment, by name) and opens
 * every connection pool at once, each bounded: one slow service does not hold up the others or the start. A
 * channel that cannot be created (a missing credential) is an error: an alert nobody hears is an outage.
 */
export async function prepareChannels(
  o: ChannelsOptions,
  signal: AbortSignal,
): Promise<{ prepared: PreparedChannel[]; close(): Promise<void> }> {
  const context = messageContext(o.policy);
  const created: { inst: AlertChannelInstance; channel: AlertChannel; factory: AlertChannelFactory }[] = [];
  const close = async () => {
    await Promise.all(created.map(async (c) => c.channel.close?.().catch(() => undefined)));
  };
  try {
    for (const inst of o.policy.alerts.channels.values())
      created.push({
        inst,
        ...(await createChannel(o.registry, inst, {
          stateDir: o.stateDir,
          logger: o.logger,
          signal,
          ...(o.env ? { env: o.env } : {}),
        })),
      });
  } catch (err) {
    await close();
    throw err;
  }
  await Promise.all(
    created.map(async ({ inst, channel }) =>
      channel.warm
        ? channel
            .warm(AbortSignal.any([signal, AbortSignal.timeout(Math.min(inst.timeoutMs, 3000))]))
            .catch((err: Error) =>
              o.logger.warn({ channel: inst.name, err: err.message }, 'could not open the connection pool at start'),
            )
        : undefined,
    ),
  );
  const prepared: PreparedChannel[] = [];
  for (const { inst, channel, factory } of created) {
    const status = await StatusFile.open(o.stateDir, inst.name);
    const previous = await status.read();
    prepared.push({
      name: inst.name,
      runner: (ack, alarms) =>
        new ChannelRunner({
          name: inst.name,
          kind: inst.kind,
          channel,
          alerts: o.policy.alerts,
          context,
          rate: inst.rateLimit ?? factory.rateLimit,
          timeoutMs: inst.timeoutMs,
          deadlineMs: inst.deadlineMs,
          ack,
          alarms,
          status,
          ...(previous ? { previous } : {}),
          logger: o.logger.child({ channel: inst.name }),
          ...(o.metrics ? { metrics: o.metrics } : {}),
          ...(o.retry ? { retry: o.retry } : {}),
        }),
    });
  }
  return { prepared, close };
}

/**
 * The event types an alert can come from (what MessageBuilder reads); the others (op.started, rule.refreshed, …)
 * never reach a channel: its cursor moves over them.
 */
export const ALERT_EVENT_TYPES: readonly EventType[] = EVENT_TYPES.filter(
  (t) =>
    t.startsWith('incident.') ||
    ['rule.added', 'rule.withdrawn', 'rule.failed', 'rule.refused', 'rule.at_cap', 'rule.rolled_back'].includes(t) ||
    /^(rpki\.(stale|fresh)|speaker|rtr|detector|exporter|alert)\./.test(t) ||
    t === 'subscriber.lost_events',
);

/** The subscriber a channel reads the stream with: its own cursor, acknowledged by its runner. */
export function channelSubscriber(
  name: string,
  types: readonly EventType[] | undefined,
  create: (ack: (seq: number) => Promise<void>) => EventConsumer,
): EventSubscriberSpec {
  return defineEventSubscriber({
    name: subscriberName(name),
    manualAck: true,
    from: 'now',
    ...(types ? { types } : {}),
    create: (ctx) => create(ctx.ack),
  });
}

/**
 * Every channel of the policy, in this process: each subscribed to the event stream from its own cursor
 * (`alerts:NAME`), so a restart replays what that channel had not delivered. `ft run` runs the same runners in a
 * worker thread instead (core/alerts/thread.ts), so alert work never shares the event loop with mitigation.
 */
export async function startAlerts(o: ChannelsOptions & { stream: EventStream }): Promise<AlertsHost> {
  const controller = new AbortController();
  const runners = new Map<string, ChannelRunner>();
  const attached: { close(): Promise<void> }[] = [];
  let channels: { close(): Promise<void> } | undefined;
  const close = async () => {
    controller.abort();
    // Queues first: a runner waiting for room in a stopped queue lets go, then the subscriptions close.
    await Promise.all([...runners.values()].map((r) => r.queue.close()));
    await Promise.all([...runners.values()].map((r) => r.flushAck()));
    await Promise.all(attached.map((a) => a.close().catch(() => undefined)));
    await channels?.close();
  };
  try {
    const { prepared, close: closeChannels } = await prepareChannels(o, controller.signal);
    channels = { close: closeChannels };
    for (const p of prepared) {
      const spec = channelSubscriber(p.name, ALERT_EVENT_TYPES, (ack) => {
        const runner = p.runner(ack, o.stream);
        runners.set(p.name, runner);
        return runner;
      });
      attached.push(
        await attachConsumer(o.stream, spec, {
          logger: o.logger.child({ channel: p.name }),
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
