import { Worker } from 'node:worker_threads';
import type { PluginLogger, WireEvent } from '@ft/sdk';
import type { EventDraft } from '../events/log.js';
import type { EventStream } from '../events/stream.js';
import { attachConsumer } from '../events/consumer.js';
import type { AlertMetrics } from './channel.js';
import { ALERT_EVENT_TYPES, channelSubscriber, AlertSetupError } from './host.js';

/** What the main thread hands the alerts worker. */
export interface WorkerInit {
  /** The ft package root (oclif Config.load): the worker finds the same plugins, linked ones included. */
  root: string;
  policyFile: string;
  stateDir: string;
  logLevel: string;
  /** The worker thread's nice value (Linux), default 5: under CPU contention detection and mitigation go first. */
  nice?: number;
}

/** Batches handed to channels in one tick travel in one message: an event every channel gets is cloned once. */
export type ToWorker = { t: 'events'; items: { id: number; channel: string; events: WireEvent[] }[] } | { t: 'close' };

export type ToMain =
  | { t: 'ready'; channels: string[] }
  | { t: 'failed'; message: string }
  | { t: 'handled'; ids: number[]; errors?: Record<number, string> }
  | { t: 'ack'; channel: string; seq: number }
  | { t: 'alarm'; drafts: EventDraft[] }
  | { t: 'metrics'; batch: { m: 'attempt' | 'dispatched' | 'state'; args: unknown[] }[] }
  | { t: 'closed' };

/**
 * `ft run`'s alerts: every channel's runner in a worker thread, so building messages, signing, TLS and HTTP never
 * share the event loop with detection and mitigation. The main thread keeps what must be in the ft process: each
 * channel's subscription (its cursor, `alerts:NAME`), the appends of alert alarms to the stream, the metrics.
 * Events cross as the wire JSON subscribers get anyway; a batch counts as handed over once the worker says so.
 */
export async function startAlertsThread(o: {
  init: WorkerInit;
  stream: EventStream;
  logger: PluginLogger;
  metrics?: AlertMetrics;
}): Promise<{ channels: string[]; close(): Promise<void> }> {
  const ts = import.meta.url.endsWith('.ts');
  const worker = new Worker(new URL(ts ? './worker.ts' : './worker.js', import.meta.url), {
    workerData: o.init,
    ...(ts ? { execArgv: ['--import', 'tsx'] } : {}),
  });
  const handled = new Map<number, (error?: string) => void>();
  const acks = new Map<string, (seq: number) => Promise<void>>();
  let nextId = 0;
  let outgoing: { id: number; channel: string; events: WireEvent[] }[] = [];
  const flush = () => {
    const items = outgoing;
    outgoing = [];
    if (items.length) worker.postMessage({ t: 'events', items } satisfies ToWorker);
  };
  let onClosed: (() => void) | undefined;
  const ready = new Promise<string[]>((resolve, reject) => {
    worker.on('message', (m: ToMain) => {
      switch (m.t) {
        case 'ready':
          return resolve(m.channels);
        case 'failed':
          return reject(new AlertSetupError(`alerts: ${m.message}`));
        case 'handled':
          for (const id of m.ids) {
            handled.get(id)?.(m.errors?.[id]);
            handled.delete(id);
          }
          return;
        case 'ack':
          void acks.get(m.channel)?.(m.seq);
          return;
        case 'alarm':
          void o.stream
            .append(m.drafts)
            .catch((err: Error) => o.logger.error({ err: err.message }, 'could not record an alert alarm'));
          return;
        case 'metrics': {
          const metrics = o.metrics;
          if (!metrics) return;
          for (const { m: name, args } of m.batch) {
            if (name === 'attempt') metrics.alertAttempt(...(args as Parameters<AlertMetrics['alertAttempt']>));
            else if (name === 'dispatched')
              metrics.alertDispatched(...(args as Parameters<AlertMetrics['alertDispatched']>));
            else metrics.alertChannelState(...(args as Parameters<AlertMetrics['alertChannelState']>));
          }
          return;
        }
        case 'closed':
          onClosed?.();
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new AlertSetupError(`alerts: the worker thread exited (${code}) before it was ready`)),
    );
  });
  let channels: string[];
  try {
    channels = await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  worker.on('error', (err: Error) =>
    o.logger.error({ err: err.message }, 'alerts worker thread failed; alerts stop until ft restarts'),
  );
  const attached: { close(): Promise<void> }[] = [];
  for (const name of channels) {
    const spec = channelSubscriber(name, ALERT_EVENT_TYPES, (ack) => {
      acks.set(name, ack);
      return {
        handle: (events) =>
          new Promise<void>((resolve, reject) => {
            const id = ++nextId;
            handled.set(id, (error) => (error ? reject(new Error(error)) : resolve()));
            outgoing.push({ id, channel: name, events: [...events] });
            if (outgoing.length === 1) queueMicrotask(flush);
          }),
      };
    });
    attached.push(await attachConsumer(o.stream, spec, { logger: o.logger, signal: new AbortController().signal }));
  }
  if (channels.length)
    o.logger.info({ channels }, `alerts: ${channels.length} channel(s) subscribed to the event stream (worker thread)`);
  return {
    channels,
    async close() {
      // The worker first: its runners stop, store their last acknowledgements (messages that arrive here before
      // "closed"), then the subscriptions close.
      const closed = new Promise<void>((r) => (onClosed = r));
      worker.postMessage({ t: 'close' } satisfies ToWorker);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      for (const r of handled.values()) r('alerts are closing');
      handled.clear();
      await Promise.all(attached.map((a) => a.close().catch(() => undefined)));
      await worker.terminate();
    },
  };
}
