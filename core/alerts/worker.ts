// The alerts worker thread's entry (started by core/alerts/thread.ts): loads the same plugins and policy as the
// ft process, runs every channel's runner (message building, queues, HTTP, SMTP) on this thread's own event loop,
// and talks to the main thread in messages: events in; acknowledgements, alarms and metrics out.
import { parentPort, workerData } from 'node:worker_threads';
import type { EventDraft } from '../events/log.js';
import type { ChannelRunner } from './channel.js';
import type { ToMain, ToWorker, WorkerInit } from './thread.js';

if (!parentPort) throw new Error('core/alerts/worker.ts runs as a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const post = (m: ToMain) => port.postMessage(m);

// Metrics cross to the main thread in batches, twice a second: a message per attempt would cost the main thread
// (detection, mitigation) a little for every alert.
const states = new Map<string, string>();
let batch: { m: 'attempt' | 'dispatched' | 'state'; args: unknown[] }[] = [];
let batchTimer: NodeJS.Timeout | undefined;
function metric(m: 'attempt' | 'dispatched' | 'state', args: unknown[]): void {
  batch.push({ m, args });
  batchTimer ??= setTimeout(flushMetrics, 500);
}
function flushMetrics(): void {
  clearTimeout(batchTimer);
  batchTimer = undefined;
  if (batch.length) post({ t: 'metrics', batch });
  batch = [];
}

// "handled" replies of one tick go back in one message too.
let done: number[] = [];
let failed: Record<number, string> | undefined;
function handled(id: number, error?: string): void {
  done.push(id);
  if (error) (failed ??= {})[id] = error;
  if (done.length === 1)
    queueMicrotask(() => {
      post({ t: 'handled', ids: done, ...(failed ? { errors: failed } : {}) });
      done = [];
      failed = undefined;
    });
}

/**
 * Under CPU contention mitigation goes first: this thread (Linux threads have their own nice value) runs at a lower
 * priority than the detection and mitigation thread. An idle core still runs alerts at once.
 */
async function lowerPriority(nice: number): Promise<void> {
  if (process.platform !== 'linux' || nice === 0) return;
  try {
    const { readlink } = await import('node:fs/promises');
    const { setPriority } = await import('node:os');
    const tid = Number((await readlink('/proc/thread-self')).split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    /* not allowed or not Linux: alerts run at the process's priority */
  }
}

async function main(): Promise<void> {
  await lowerPriority(init.nice ?? 5);
  const { Config } = await import('@oclif/core');
  const { loadRegistry } = await import('../plugin-host/load.js');
  const { loadPolicy } = await import('../policy/index.js');
  const { createJsonLogger } = await import('../log/logger.js');
  const { prepareChannels } = await import('./host.js');
  // Written by this thread straight to fd 2 (synchronous): logging costs the main thread nothing.
  const logger = createJsonLogger({ level: init.logLevel });
  const config = await Config.load(init.root);
  const registry = await loadRegistry(config);
  const policy = await loadPolicy(init.policyFile, registry);
  const controller = new AbortController();
  const { prepared, close: closeChannels } = await prepareChannels(
    {
      policy,
      registry,
      stateDir: init.stateDir,
      logger,
      metrics: {
        alertAttempt: (...args) => metric('attempt', args),
        alertDispatched: (...args) => metric('dispatched', args),
        alertChannelState: (channel, state) => {
          // Only changes cross: a state is reported on every status write.
          if (states.get(channel) === state) return;
          states.set(channel, state);
          metric('state', [channel, state]);
        },
      },
    },
    controller.signal,
  );
  const alarms = {
    async append(drafts: readonly EventDraft[]) {
      post({ t: 'alarm', drafts: [...drafts] });
      return [];
    },
  };
  const runners = new Map<string, ChannelRunner>();
  for (const p of prepared)
    runners.set(
      p.name,
      p.runner(async (seq) => post({ t: 'ack', channel: p.name, seq }), alarms),
    );
  port.on('message', (m: ToWorker) => {
    if (m.t === 'events') {
      for (const item of m.items) {
        const r = runners.get(item.channel);
        void (r ? r.handle(item.events) : Promise.resolve()).then(
          () => handled(item.id),
          (err: Error) => handled(item.id, err.message),
        );
      }
    } else if (m.t === 'close') {
      void (async () => {
        controller.abort();
        await Promise.all([...runners.values()].map((r) => r.close().catch(() => undefined)));
        await closeChannels();
        flushMetrics();
        post({ t: 'closed' });
      })();
    }
  });
  post({ t: 'ready', channels: [...runners.keys()] });
}

main().catch((err: Error) => post({ t: 'failed', message: err.message }));
