import type { Redis } from 'ioredis';
import { keys } from '../state/redis/redis-store.js';
import { bounded } from './worker.js';
import { queueName } from './names.js';

export interface PopStatus {
  pop: string;
  speakers: string[];
  workers: { id: string; host: string; pid: number; concurrency: number; seenAt: string }[];
  queue: { waiting: number; active: number; delayed: number; failed: number; completed: number; prioritized: number };
  /** The most recent failed jobs, newest first. */
  failedJobs: { id: string; op: string; adapter: string; attempts: number; reason: string; failedAt?: string }[];
  rules: { installed: number; failed: number; pending: number; withdrawing: number };
}

export interface FleetStatus {
  redis: string;
  namespace: string;
  pops: PopStatus[];
  /** Live-rule slots in use per tenant (stored rules plus claims not yet lapsed). */
  slots: Record<string, number>;
  rules: number;
}

/** Where each speaker lives: written by controllers and workers as they start. */
export async function recordSpeakers(conn: Redis, namespace: string, speakers: Map<string, string>): Promise<void> {
  if (speakers.size === 0) return;
  await conn.hset(`${namespace}:speakers`, Object.fromEntries(speakers));
}

async function scanKeys(conn: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await conn.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    out.push(...batch);
  } while (cursor !== '0');
  return out;
}

/** `ft fleet status`: read-only, from what the controllers and workers keep in Redis. */
export async function fleetStatus(
  conn: Redis,
  o: { namespace?: string; display: string; pops?: string[]; failedLimit?: number },
): Promise<FleetStatus> {
  const { Queue } = await import('bullmq');
  const ns = o.namespace ?? 'ft';
  const k = keys(ns);
  const speakerPop = await conn.hgetall(`${ns}:speakers`);
  const heartbeats = await scanKeys(conn, `${ns}:worker:*`);
  const beats = (await Promise.all(heartbeats.map((key) => conn.get(key))))
    .filter((v): v is string => v !== null)
    .map(
      (v) => JSON.parse(v) as { id: string; pop: string; host: string; pid: number; concurrency: number; at: string },
    );
  const queueMetas = await scanKeys(conn, `${ns}:ft-pop-*:meta`);
  const pops = new Set<string>([
    ...(o.pops ?? []),
    ...Object.values(speakerPop),
    ...beats.map((b) => b.pop),
    ...queueMetas.map((m) => m.slice(`${ns}:ft-pop-`.length, -':meta'.length)),
  ]);
  const rules = Object.values(await conn.hgetall(k.rules)).map(
    (j) =>
      JSON.parse(j) as {
        phase: string;
        via: string[];
        rule: { tenant: string };
        adapters: Record<string, { state: string }>;
      },
  );
  const out: PopStatus[] = [];
  for (const pop of [...pops].sort()) {
    const queue = new Queue(queueName(pop), { connection: conn, prefix: ns });
    try {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
      const failed = await queue.getFailed(0, (o.failedLimit ?? 10) - 1);
      const speakers = Object.entries(speakerPop)
        .filter(([, p]) => p === pop)
        .map(([s]) => s)
        .sort();
      const counts = { installed: 0, failed: 0, pending: 0, withdrawing: 0 };
      for (const r of rules) {
        const mine = r.via.filter((v) => speakers.includes(v));
        if (mine.length === 0) continue;
        if (r.phase === 'withdrawing') counts.withdrawing++;
        else if (mine.every((v) => r.adapters[v]?.state === 'installed')) counts.installed++;
        else if (mine.some((v) => r.adapters[v]?.state === 'failed')) counts.failed++;
        else counts.pending++;
      }
      out.push({
        pop,
        speakers,
        workers: beats
          .filter((b) => b.pop === pop)
          .map((b) => ({ id: b.id, host: b.host, pid: b.pid, concurrency: b.concurrency, seenAt: b.at })),
        queue: {
          waiting: c.waiting ?? 0,
          active: c.active ?? 0,
          delayed: c.delayed ?? 0,
          failed: c.failed ?? 0,
          completed: c.completed ?? 0,
          prioritized: c.prioritized ?? 0,
        },
        failedJobs: failed.filter(Boolean).map((j) => ({
          id: String(j.id),
          op: String((j.data as { op?: string }).op),
          adapter: String((j.data as { adapter?: string }).adapter),
          attempts: j.attemptsMade,
          reason: j.failedReason,
          ...(j.finishedOn ? { failedAt: new Date(j.finishedOn).toISOString() } : {}),
        })),
        rules: counts,
      });
    } finally {
      await bounded(queue.close(), 2000);
    }
  }
  const slots: Record<string, number> = {};
  const now = Date.now();
  for (const key of await scanKeys(conn, `${k.slotsPrefix}*`))
    slots[key.slice(k.slotsPrefix.length)] = await conn.zcount(key, now, '+inf');
  return { redis: o.display, namespace: ns, pops: out, slots, rules: rules.length };
}
