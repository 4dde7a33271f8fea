import {
  encodeEvent,
  type EventConsumer,
  type EventSubscriberSpec,
  type FtEvent,
  type PluginLogger,
  type WireEvent,
} from '@ft/sdk';
import type { Subscription } from './hub.js';
import type { EventStream } from './stream.js';

/**
 * One wire form per event, however many subscribers get it (a dozen alert channels read the same events): events
 * are immutable once durable, so the encoding is kept beside the object while anything holds it.
 */
const encoded = new WeakMap<FtEvent, WireEvent>();
function encodeOnce(e: FtEvent): WireEvent {
  let w = encoded.get(e);
  if (!w) {
    w = encodeEvent(e);
    encoded.set(e, w);
  }
  return w;
}

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
  subscription = await stream.subscribe(spec.name, (events) => consumer.handle(events.map(encodeOnce)), {
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
