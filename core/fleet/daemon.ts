import type { Policy } from '../policy/types.js';
import type { Registry } from '../plugin-host/registry.js';
import type { RuleStore } from '../state/store.js';
import { parseRedisUrl } from '../state/redis/connect.js';
import { openController, type FleetController, type FleetLogger } from './setup.js';

export interface DaemonFleetOptions {
  url: string;
  namespace?: string;
  policy: Policy;
  registry: Registry;
  stateDir: string;
  logger: FleetLogger;
  /** The embedded journal: kept as the long-term audit archive of this controller (not closed by the fleet). */
  journal: Pick<RuleStore, 'appendAudit'>;
  /** The controller lease's TTL (default 10 s): a crashed leader's standby takes over after at most this long. */
  leaseMs?: number;
  /** Aborts the wait for the lease (SIGTERM to a standby). */
  signal?: AbortSignal;
}

export interface DaemonFleet extends FleetController {
  /** Settles with why when this controller loses the lease: it must stop acting at once. */
  lost: Promise<string>;
}

/** What `ft run --redis` swaps in: the Redis store and the POP handles, the journal staying on as audit archive. */
export async function openDaemonFleet(o: DaemonFleetOptions): Promise<DaemonFleet> {
  const target = parseRedisUrl(o.url);
  const { connectRedis, closeRedis } = await import('../state/redis/connect.js');
  const { ControllerLease } = await import('./lease.js');
  const leaseConn = await connectRedis(target, 'controller-lease', false);
  const lease = new ControllerLease(leaseConn, `${o.namespace ?? 'ft'}:controller:lease`, {
    ttlMs: o.leaseMs ?? 10_000,
    ...(o.signal ? { signal: o.signal } : {}),
    onWaiting: (holder) =>
      o.logger.warn(
        { redis: target.display, leader: holder },
        `ft run: standby: controller ${holder} leads this fleet; taking over when its lease (${(o.leaseMs ?? 10_000) / 1000} s) lapses`,
      ),
  });
  try {
    await lease.acquire();
  } catch (err) {
    await closeRedis(leaseConn);
    throw err;
  }
  o.logger.info(
    { redis: target.display, holder: lease.holder },
    `ft run: this controller (${lease.holder}) holds the fleet's controller lease`,
  );
  let fleet: FleetController;
  try {
    fleet = await openController({
      target,
      policy: o.policy,
      registry: o.registry,
      stateDir: o.stateDir,
      logger: o.logger,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      archive: { appendAudit: (r) => o.journal.appendAudit(r), close: async () => undefined },
    });
  } catch (err) {
    await lease.release();
    await closeRedis(leaseConn);
    throw err;
  }
  o.logger.info(
    { redis: target.display, pops: fleet.dispatcher.pops },
    `ft run: fleet controller on ${target.display}`,
  );
  return {
    store: fleet.store,
    actions: fleet.actions,
    dispatcher: fleet.dispatcher,
    lost: lease.lost,
    async close() {
      try {
        await fleet.close();
      } finally {
        // Released last: the rules are withdrawn (or kept) before a standby may act on the same store.
        await lease.release();
        await closeRedis(leaseConn);
      }
    },
  };
}

/** A fleet store that cannot be read (Redis down, refused, wrong password): the message names the masked URL. */
export class FleetReadError extends Error {}

/**
 * The fleet's store for a short read (`ft run --redis` listing what is live at exit, `ft mitigate list --redis`,
 * `ft audit --redis`). Throws RedisUrlError / FleetNameError for a bad URL or namespace; reads that fail become
 * FleetReadError naming the (masked) URL.
 */
export type FleetReader = Pick<RuleStore, 'rules' | 'queryAudit' | 'close'>;

export async function readFleetStore(url: string, namespace?: string, role = 'run-exit'): Promise<FleetReader> {
  const { connectRedis } = await import('../state/redis/connect.js');
  const { RedisRuleStore } = await import('../state/redis/redis-store.js');
  const { checkPop } = await import('./names.js');
  const target = parseRedisUrl(url);
  if (namespace) checkPop(namespace);
  const store = new RedisRuleStore({
    conn: await connectRedis(target, role, false),
    ...(namespace ? { namespace } : {}),
  });
  const fail = (err: unknown): never => {
    throw new FleetReadError(
      `cannot read the fleet rule store on ${target.display}${namespace ? ` (namespace ${namespace})` : ''}: ${(err as Error).message}`,
    );
  };
  return {
    rules: () => store.rules().catch(fail),
    queryAudit: (q) => store.queryAudit(q).catch(fail),
    close: () => store.close(),
  };
}
