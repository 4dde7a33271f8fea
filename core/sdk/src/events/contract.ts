import type { PluginLogger } from '../contract.js';
import { isEventType, type EventType, type WireEvent } from './schema.js';

/**
 * The event stream as a plugin sees it. Alert channels, export sinks and intel sources are subscribers: each has
 * a name (its cursor's key, stable across restarts), gets events in seq order from where it last acknowledged,
 * at least once, and can never slow detection or mitigation (it has its own bounded queue; when it falls behind,
 * it reads back from the log). Plugins get the wire JSON (`WireEvent`: snake_case, prefixes as text, ISO 8601
 * times), the same body a webhook or the API carries, so no object crosses the plugin boundary by reference.
 *
 * The registration shapes (`defineAlertChannel`, `defineExportSink`, …) belong to those features and build on
 * this contract.
 */
export interface EventConsumer {
  /**
   * Handles a batch, in seq order. Resolving acknowledges it (the cursor moves past it, durably, soon after);
   * throwing has the same batch handed over again later, with backoff. Events may come twice (after a crash
   * before the acknowledgement was stored): `id` tells duplicates apart.
   */
  handle(events: readonly WireEvent[]): Promise<void>;
  /** Called once, when the host stops delivering (shutdown, reload). */
  close?(): Promise<void>;
}

export interface EventSubscription {
  /** The cursor's key: unique among the host's subscribers ("alerts:noc-pagerduty"). Letters, digits, . _ : - */
  name: string;
  /** Only these types are handed over; the cursor moves over the others. Default: every type. */
  types?: readonly EventType[];
  /** Where a subscriber with no cursor yet starts: 'now' (default) or 'start' (the oldest event the log holds). */
  from?: 'now' | 'start';
  /** At most this many events per handle() call (default 256). */
  batch?: number;
  /** Events held in memory while it keeps up (default 1024); past that it reads back from the log. */
  queue?: number;
  /**
   * Told when it fell so far behind that the log's retention removed events it had not read (the stream also
   * carries a `subscriber.lost_events` event, which alerts pick up).
   */
  onLost?(lost: { fromSeq: number; toSeq: number; count: number }): void;
  /**
   * The consumer acknowledges itself, through `ctx.ack(seq)`, once the remote side has what it was handed (an alert
   * channel after the service answered). handle() then only hands over; what was never acknowledged comes again
   * after a restart. Default: resolving handle() acknowledges.
   */
  manualAck?: boolean;
}

/** What the host passes a consumer's factory. */
export interface EventConsumerContext {
  name: string;
  logger: PluginLogger;
  /** Aborted when the host shuts down. */
  signal: AbortSignal;
  /** With `manualAck`: everything up to and including `seq` is done; the cursor moves there (durably, soon after). */
  ack(seq: number): Promise<void>;
}

/** A subscriber as a plugin declares it: its subscription and the consumer the host creates for it. */
export interface EventSubscriberSpec extends EventSubscription {
  create(ctx: EventConsumerContext): Promise<EventConsumer> | EventConsumer;
}

/** Checks the shape once, at registration; a typo in a type name is an error there, not silence later. */
export function defineEventSubscriber(spec: EventSubscriberSpec): EventSubscriberSpec {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(spec.name))
    throw new Error(`event subscriber ${JSON.stringify(spec.name)}: the name must be letters, digits, . _ : - (≤128)`);
  const unknown = (spec.types ?? []).filter((t) => !isEventType(t));
  if (unknown.length > 0)
    throw new Error(`event subscriber ${spec.name}: no event type ${unknown.map((t) => JSON.stringify(t)).join(', ')}`);
  return spec;
}
