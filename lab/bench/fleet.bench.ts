// The fleet's queue path on loopback, against a real redis-server started here (AOF on, fsync every second):
//  1. enqueue → job done, one at a time: the controller adds an apply job and waits for the POP's confirmation
//     through QueueEvents (p50/p99; goal p99 < 20 ms). Anchor: a raw ioredis LPUSH → BRPOP round trip between two
//     connections in the same run → ratio.
//  2. jobs/s through one POP with one worker at concurrency 10 (goal ≥ 5k/s), jobs added in bulk.
//  3. convergence after a Redis restart (SIGKILL + AOF restart): from the server answering again until a job added
//     then has been done by the (reconnected) worker.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { Prefix, makeRule, type Action, type FlowSpecRule } from '@ft/sdk';
import { createJsonLogger } from '../../core/log/logger.js';
import { FleetDispatcher } from '../../core/fleet/dispatch.js';
import { startFleetWorker } from '../../core/fleet/worker.js';
import { jobBase, queueName } from '../../core/fleet/names.js';
import { RedisRuleStore } from '../../core/state/redis/redis-store.js';
import type { ActionHandle } from '../../core/exec/actions.js';
import { RedisServer } from '../../test/fleet/redis.js';
import { median, percentile, round, writeResult } from './lib.js';

const N = Number(process.env.BENCH_FLEET_N ?? 1000);
const BULK = Number(process.env.BENCH_FLEET_BULK ?? 10_000);
const logger = createJsonLogger({
  level: 'error',
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});

const rule = makeRule<FlowSpecRule>({
  kind: 'flowspec',
  tenant: 'bench',
  target: Prefix.parse('203.0.113.1/32'),
  match: { destination: Prefix.parse('203.0.113.1/32'), protocols: [17] },
  action: { type: 'discard' },
  level: 1,
  ttlSeconds: 300,
});
const action: Action = {
  capabilities: ['flowspec'],
  render: () => [],
  async apply(r) {
    return { ruleId: r.id, state: 'installed' };
  },
  async withdraw() {},
  async list() {
    return [];
  },
  async health() {
    return { status: 'ok' };
  },
};
const handle: ActionHandle = {
  name: 'rr',
  kind: 'bench',
  reach: 'network',
  action,
  timeoutMs: 10_000,
  retries: 0,
  backoffMs: 0,
};

const server = await RedisServer.start({ aof: true, fsync: 'everysec' });
const conn = (blocking = false) =>
  new Redis({
    port: server.port,
    host: '127.0.0.1',
    maxRetriesPerRequest: blocking ? null : 20,
    retryStrategy: (t) => Math.min(t * 20, 200),
  });

async function anchor(): Promise<number[]> {
  const a = conn();
  const b = conn();
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const popped = b.brpop('bench:anchor', 0);
    await a.lpush('bench:anchor', String(i));
    await popped;
    out.push(performance.now() - t0);
  }
  a.disconnect();
  b.disconnect();
  return out;
}

const store = new RedisRuleStore({ conn: conn(), namespace: 'bench' });
const worker = await startFleetWorker({
  pop: 'bench',
  actions: new Map([['rr', handle]]),
  store,
  workerConn: conn(true),
  queueConn: conn(),
  logger,
  concurrency: 10,
  namespace: 'bench',
  lockDurationMs: 5000,
  stalledIntervalMs: 5000,
  heartbeatMs: 1000,
});
const dispatcher = await FleetDispatcher.open({
  pops: ['bench'],
  connect: async (_r, blocking) => conn(blocking),
  namespace: 'bench',
  keepCompletedSec: 60,
});

// 1. enqueue → done
const raw = await anchor();
for (let i = 0; i < 100; i++)
  await dispatcher.run('bench', jobBase('apply', 'warm', String(i)), { op: 'apply', adapter: 'rr', rule, by: 'bench' });
const lat: number[] = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  await dispatcher.run('bench', jobBase('apply', 'lat', String(i)), { op: 'apply', adapter: 'rr', rule, by: 'bench' });
  lat.push(performance.now() - t0);
}

// 2. throughput through one POP, concurrency 10
const queue = dispatcher.queue('bench');
let done = 0;
let allDone!: () => void;
const finished = new Promise<void>((r) => (allDone = r));
const onDone = () => {
  if (++done === BULK) allDone();
};
worker.worker.on('completed', onDone);
const t0 = performance.now();
for (let i = 0; i < BULK; i += 1000) {
  await queue.addBulk(
    Array.from({ length: Math.min(1000, BULK - i) }, (_, j) => ({
      name: 'apply',
      data: { op: 'apply' as const, adapter: 'rr', rule, by: 'bench' },
      opts: { jobId: `${jobBase('apply', 'bulk', String(i + j))}-0`, removeOnComplete: true },
    })),
  );
}
await finished;
const bulkSec = (performance.now() - t0) / 1000;
worker.worker.off('completed', onDone);

// 2b. anchor for 2: a bare BullMQ worker (processor does nothing) on another queue, same concurrency and bulk adds.
const { Queue, Worker } = await import('bullmq');
const bareQueue = new Queue('bare', { connection: conn(), prefix: 'bench' });
let bareDone = 0;
let bareAll!: () => void;
const bareFinished = new Promise<void>((r) => (bareAll = r));
const bare = new Worker('bare', async () => ({}), { connection: conn(true), prefix: 'bench', concurrency: 10 });
bare.on('completed', () => {
  if (++bareDone === BULK) bareAll();
});
await bare.waitUntilReady();
const b0 = performance.now();
for (let i = 0; i < BULK; i += 1000) {
  await bareQueue.addBulk(
    Array.from({ length: Math.min(1000, BULK - i) }, (_, j) => ({
      name: 'x',
      data: { i: i + j },
      opts: { jobId: `bare-${i + j}`, removeOnComplete: true },
    })),
  );
}
await bareFinished;
const bareSec = (performance.now() - b0) / 1000;
await bare.close();
await bareQueue.close();

// 3. convergence after a Redis restart
await server.stop('SIGKILL');
await server.launch();
const r0 = performance.now();
await dispatcher.run(
  'bench',
  jobBase('apply', 'after-restart'),
  { op: 'apply', adapter: 'rr', rule, by: 'bench' },
  60_000,
);
const convergeMs = performance.now() - r0;

await dispatcher.close();
await worker.close();
await server.destroy();

const p50 = median(lat);
const p99 = percentile(lat, 99);
const a50 = median(raw);
writeResult(
  'fleet',
  {
    jobs: N,
    queue: queueName('bench'),
    enqueueToDoneMs: { p50: round(p50, 3), p99: round(p99, 3), goalP99: 20 },
    anchorLpushBrpopMs: { p50: round(a50, 3), p99: round(percentile(raw, 99), 3) },
    ratioP50: round(p50 / a50, 1),
    throughput: {
      jobs: BULK,
      concurrency: 10,
      jobsPerSec: Math.round(BULK / bulkSec),
      goal: 5000,
      bareBullmqJobsPerSec: Math.round(BULK / bareSec),
      ratioToBare: round(bareSec / bulkSec, 2),
    },
    convergeAfterRedisRestartMs: round(convergeMs, 1),
  },
  `fleet: enqueue→done p50 ${round(p50, 2)} ms p99 ${round(p99, 2)} ms (goal p99 < 20) = ${round(p50 / a50, 1)}× a raw LPUSH→BRPOP (${round(a50, 3)} ms); ` +
    `${Math.round(BULK / bulkSec)} jobs/s through one POP at concurrency 10 (goal ≥ 5000; a bare BullMQ worker: ${Math.round(BULK / bareSec)}/s); converged ${round(convergeMs, 0)} ms after a Redis restart`,
);
process.exit(0);
