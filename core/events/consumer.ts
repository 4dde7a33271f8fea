import { encodeEvent, type EventConsumer, type EventSubscriberSpec, type PluginLogger } from '@ft/sdk';
import type { Subscription } from './hub.js';
import type { EventStream } from './stream.js';

/**
 * Runs a plugin's event subscriber on the stream: the host creates its consumer and hands it each batch as wire
 * JSON (the same body the API and webhooks carry). Resolving acknowledges; throwing retries with backoff.
 */
export async function attachConsumer(
  stream: EventStream,
  spec: EventSubscriberSpec,
  ctx: { logger: PluginLogger; signal: AbortSignal },
): Promise<{ subscription: Subscription; consumer: EventConsumer; close(): Promise<void> }> {
  let subscription: Subscription | undefined;
  const consumer = await spec.create({
    name: spec.name,
    logger: ctx.logger,
    signal: ctx.signal,
    // Nothing can be handed over before the subscription exists, so an ack before it is a no-op.
    ack: (seq) => subscription?.ack(seq) ?? Promise.resolve(),
  });
  subscription = await stream.subscribe(spec.name, (events) => consumer.handle(events.map(encodeEvent)), {
    ...(spec.manualAck ? { manualAck: true } : {}),
    ...(spec.types ? { types: spec.types } : {}),
    ...(spec.from ? { from: spec.from } : {}),
    ...(spec.batch ? { batch: spec.batch } : {}),
    ...(spec.queue ? { queue: spec.queue } : {}),
    ...(spec.onLost ? { onLost: (l) => spec.onLost?.(l) } : {}),
  });
  return {
    subscription,
    consumer,
    async close() {
      await subscription.close();
      await consumer.close?.();
    },
  };
}
