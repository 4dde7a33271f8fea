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
}

/** What `ft run --redis` swaps in: the Redis store and the POP handles, the journal staying on as audit archive. */
export async function openDaemonFleet(o: DaemonFleetOptions): Promise<FleetController> {
  const target = parseRedisUrl(o.url);
  const fleet = await openController({
    target, policy: o.policy, registry: o.registry, stateDir: o.stateDir, logger: o.logger,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    archive: { appendAudit: (r) => o.journal.appendAudit(r), close: async () => undefined },
  });
  o.logger.info({ redis: target.display, pops: fleet.dispatcher.pops }, `ft run: fleet controller on ${target.display}`);
  return fleet;
}

/** The fleet's store for a short read (`ft run --redis` listing what is live at exit). */
export async function readFleetStore(url: string, namespace?: string): Promise<RuleStore> {
  const { connectRedis } = await import('../state/redis/connect.js');
  const { RedisRuleStore } = await import('../state/redis/redis-store.js');
  return new RedisRuleStore({ conn: await connectRedis(parseRedisUrl(url), 'run-exit', false), ...(namespace ? { namespace } : {}) });
}
