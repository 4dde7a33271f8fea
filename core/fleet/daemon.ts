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
  const store = new RedisRuleStore({ conn: await connectRedis(target, role, false), ...(namespace ? { namespace } : {}) });
  const fail = (err: unknown): never => {
    throw new FleetReadError(`cannot read the fleet rule store on ${target.display}${namespace ? ` (namespace ${namespace})` : ''}: ${(err as Error).message}`);
  };
  return {
    rules: () => store.rules().catch(fail),
    queryAudit: (q) => store.queryAudit(q).catch(fail),
    close: () => store.close(),
  };
}
