// The event stream: append → subscriber delivery latency (p50/p99) and events/s, against an anchor measured in the
// same run: a bare state-journal append of a record of the same size (the fsync every event append pays too).
// With redis-server installed, the fleet stream too (Redis + the controller's journal archive), against a bare
// XADD + journal append. A stuck subscriber rides along in the throughput runs: it must cost nothing.
//
//   npm run bench -- events            (EVENTS_N=2000 events per run by default)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefix, type FtEvent } from '@ft/sdk';
import { EventStream, draft, type EventDraft } from '../../core/events/index.js';
import { JournalWriter } from '../../core/state/journal.js';
import { RedisServer } from '../../test/fleet/redis.js';
import { percentile, round, writeResult } from './lib.js';

const N = Number(process.env.EVENTS_N ?? 2000);
const IN_FLIGHT = 64;

function ruleAdded(n: number): EventDraft {
  const target = Prefix.parse(`203.0.113.${n % 256}`);
  const rule = {
    id: `fs-${n.toString(16).padStart(16, '0')}`,
    kind: 'flowspec',
    tenant: 'example-isp',
    target,
    level: 2,
    ttlSeconds: 300,
    match: { destination: target, protocols: [17], sourcePorts: [{ min: 123, max: 123 }] },
    action: { type: 'discard' },
  };
  return draft('rule.added', {
    opId: `op-${n}`,
    ruleId: rule.id,
    kind: 'flowspec',
    target,
    level: 2,
    action: 'discard',
    match: `destination ${String(target)}, protocol =17 (udp), source-port =123`,
    via: ['pop1-gobgp'],
    incidentId: `inc-${n}`,
    plannedBy: 'planner',
    rule: rule as never,
    outcome: 'ok',
    expiresAt: Date.now() + 300_000,
    results: [{ adapter: 'pop1-gobgp', outcome: 'ok', attempts: 1, ms: 1.2 }],
    durationMs: 2.5,
  });
}

const keyOf = (e: FtEvent) => Number((e.data as { opId?: string }).opId?.slice(3));

interface Run {
  p50ms: number;
  p99ms: number;
  perSecond: number;
}

/** One at a time (latency), then IN_FLIGHT at a time (throughput). `append` resolves when durable. */
async function measure(
  append: (n: number) => Promise<unknown>,
  /** Registers the callback the subscriber calls with each event's key (the n it was appended with). */
  delivered?: (onEvent: (key: number) => void) => void,
): Promise<{ latency: Run; throughput: Run }> {
  const sentAt = new Map<number, number>();
  const lat: number[] = [];
  let waiting: ((seq: number) => void) | undefined;
  delivered?.((seq) => waiting?.(seq));
  // Latency: append, then wait for the subscriber (or, for an anchor, for the append) before the next one.
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    if (delivered) {
      const got = new Promise<void>((r) => (waiting = () => r()));
      await append(i);
      await got;
    } else await append(i);
    lat.push(performance.now() - t0);
  }
  const latency = { p50ms: round(percentile(lat, 50), 3), p99ms: round(percentile(lat, 99), 3), perSecond: 0 };
  latency.perSecond = round(1000 / (lat.reduce((a, b) => a + b, 0) / lat.length), 0);
  // Throughput: IN_FLIGHT appends at a time; delivery time per event measured from its append call.
  const done: number[] = [];
  let count = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => (finish = r));
  waiting = (key) => {
    const t = sentAt.get(key);
    if (t !== undefined) done.push(performance.now() - t);
    if (++count === N) finish();
  };
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < N) {
        const i = next++;
        const t = performance.now();
        sentAt.set(N + i, t);
        await append(N + i);
        if (!delivered) {
          done.push(performance.now() - t);
          if (++count === N) finish();
        }
      }
    }),
  );
  await all;
  const secs = (performance.now() - t0) / 1000;
  return {
    latency,
    throughput: {
      p50ms: round(percentile(done, 50), 3),
      p99ms: round(percentile(done, 99), 3),
      perSecond: round(N / secs, 0),
    },
  };
}

const sizeOf = JSON.stringify({ seq: 1, ...ruleAdded(1) }).length;
const load0 = loadavg();
const dir = mkdtempSync(join(tmpdir(), 'ft-bench-events-'));
const out: Record<string, unknown> = { n: N, inFlight: IN_FLIGHT, recordBytes: sizeOf };
try {
  // Anchor: the state journal's own append of a record that size (fsync each; group commit when in flight).
  const { writer } = await JournalWriter.open(join(dir, 'anchor.log'));
  const payload = { pad: 'x'.repeat(sizeOf) };
  const anchor = await measure(() => writer.append([payload]));
  await writer.close();

  const stream = await EventStream.openEmbedded({ stateDir: join(dir, 'embedded'), tenant: 'example-isp' });
  const stuck = await stream.subscribe('stuck', () => new Promise<void>(() => undefined), { queue: 64 });
  let onSeq: (key: number) => void = () => undefined;
  await stream.subscribe('sink', (events) => {
    for (const e of events) onSeq(keyOf(e));
  });
  const embedded = await measure(
    (n) => stream.append([ruleAdded(n)]),
    (f) => (onSeq = f),
  );
  const stuckStats = stuck.stats();
  await stuck.close(10);
  await stream.close();
  out.anchor = anchor;
  out.embedded = embedded;
  out.embeddedRatio = {
    latencyP50: round(embedded.latency.p50ms / anchor.latency.p50ms),
    latencyP99: round(embedded.latency.p99ms / anchor.latency.p99ms),
    throughput: round(embedded.throughput.perSecond / anchor.throughput.perSecond),
  };
  out.stuckSubscriber = { delivered: stuckStats.delivered, behind: stuckStats.behind };

  const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
  if (hasRedis) {
    const redis = await RedisServer.start({ aof: true, fsync: 'everysec' });
    try {
      const conn = redis.client();
      // Anchor: a bare XADD plus the same journal append the controller's archive makes.
      const { writer: w2 } = await JournalWriter.open(join(dir, 'anchor2.log'));
      const body = JSON.stringify(payload);
      const fleetAnchor = await measure(async () => {
        await conn.xadd('bench:anchor', 'MAXLEN', '~', 1_000_000, '*', 'e', body);
        await w2.append([payload]);
      });
      await w2.close();
      const fleet = await EventStream.openFleet({ conn, stateDir: join(dir, 'fleet'), tenant: 'example-isp' });
      let onFleet: (key: number) => void = () => undefined;
      await fleet.subscribe('sink', (events) => {
        for (const e of events) onFleet(keyOf(e));
      });
      const fleetRun = await measure(
        (n) => fleet.append([ruleAdded(n)]),
        (f) => (onFleet = f),
      );
      await fleet.close();
      conn.disconnect();
      out.fleetAnchor = fleetAnchor;
      out.fleet = fleetRun;
      out.fleetRatio = {
        latencyP50: round(fleetRun.latency.p50ms / fleetAnchor.latency.p50ms),
        latencyP99: round(fleetRun.latency.p99ms / fleetAnchor.latency.p99ms),
        throughput: round(fleetRun.throughput.perSecond / fleetAnchor.throughput.perSecond),
      };
    } finally {
      await redis.destroy();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
out.loadavg = { start: load0.map((x) => round(x)), end: loadavg().map((x) => round(x)) };
const e = out.embedded as { latency: Run; throughput: Run };
const r = out.embeddedRatio as { latencyP50: number; throughput: number };
writeResult(
  'events',
  out,
  `events: append→delivery p50 ${e.latency.p50ms} ms p99 ${e.latency.p99ms} ms (×${r.latencyP50} a bare journal append), ` +
    `${e.throughput.perSecond} events/s with ${IN_FLIGHT} in flight (×${r.throughput} the bare journal)` +
    (out.fleetRatio
      ? `; fleet p50 ${(out.fleet as { latency: Run }).latency.p50ms} ms (×${(out.fleetRatio as { latencyP50: number }).latencyP50} XADD+journal), ${(out.fleet as { throughput: Run }).throughput.perSecond} events/s`
      : '') +
    `; load ${load0.map((x) => round(x)).join(' ')}`,
);
