import type { PluginLogger } from '@ft/sdk';
import type { ActionHandle } from '../exec/actions.js';
import type { ExecLogger } from '../exec/executor.js';
import type { Registry } from '../plugin-host/registry.js';
import type { Policy } from '../policy/types.js';
import { allInstances } from '../policy/load.js';
import { createActionHandles, specsFromInstances } from '../run/actions.js';
import { RedisRuleStore } from '../state/redis/redis-store.js';
import { closeRedis, connectRedis, type RedisTarget } from '../state/redis/connect.js';
import type { RuleStore } from '../state/store.js';
import { FleetDispatcher, remoteHandle } from './dispatch.js';
import { checkPop, FleetNameError } from './names.js';
import { startFleetWorker, type FleetWorker } from './worker.js';
import { recordSpeakers } from './status.js';

export type FleetLogger = ExecLogger & PluginLogger;

/** The POPs a policy names, each with its action instances. */
export function popsOf(policy: Policy): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const inst of allInstances(policy)) {
    if (!inst.pop) continue;
    checkPop(inst.pop);
    out.set(inst.pop, [...(out.get(inst.pop) ?? []), inst.name]);
  }
  return out;
}

export interface WorkerSetup {
  target: RedisTarget;
  policy: Policy;
  registry: Registry;
  pop: string;
  stateDir: string;
  logger: FleetLogger;
  concurrency?: number;
  namespace?: string;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  closeTimeoutMs?: number;
  heartbeatMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** `ft worker`: the POP's instances from the policy (credentials resolved here, by name), then the BullMQ worker. */
export async function openWorker(s: WorkerSetup): Promise<FleetWorker> {
  const pops = popsOf(s.policy);
  const mine = pops.get(checkPop(s.pop));
  if (!mine)
    throw new FleetNameError(
      `the policy has no speaker or scrubber with pop: ${s.pop} (POPs in it: ${[...pops.keys()].join(', ') || 'none'})`,
    );
  const instances = allInstances(s.policy).filter((i) => i.pop === s.pop);
  const actions = await createActionHandles(s.registry, specsFromInstances(instances), {
    stateDir: s.stateDir,
    logger: s.logger,
    signal: new AbortController().signal,
    ...(s.env ? { env: s.env } : {}),
  });
  const conns = await Promise.all([
    connectRedis(s.target, `worker-${s.pop}`, true),
    connectRedis(s.target, `worker-queue-${s.pop}`, false),
    connectRedis(s.target, `worker-store-${s.pop}`, false),
  ]);
  const [workerConn, queueConn, storeConn] = conns;
  try {
    const store = new RedisRuleStore({ conn: storeConn, ...(s.namespace ? { namespace: s.namespace } : {}) });
    await recordSpeakers(storeConn, s.namespace ?? 'ft', new Map(mine.map((n) => [n, s.pop])));
    return await startFleetWorker({
      pop: s.pop,
      actions,
      store,
      workerConn,
      queueConn,
      logger: s.logger,
      ...(s.concurrency ? { concurrency: s.concurrency } : {}),
      ...(s.namespace ? { namespace: s.namespace } : {}),
      ...(s.lockDurationMs ? { lockDurationMs: s.lockDurationMs } : {}),
      ...(s.stalledIntervalMs ? { stalledIntervalMs: s.stalledIntervalMs } : {}),
      ...(s.closeTimeoutMs ? { closeTimeoutMs: s.closeTimeoutMs } : {}),
      ...(s.heartbeatMs ? { heartbeatMs: s.heartbeatMs } : {}),
    });
  } catch (err) {
    for (const c of conns) await closeRedis(c);
    for (const h of actions.values()) await h.action.close?.().catch(() => undefined);
    throw err;
  }
}

export interface ControllerSetup {
  target: RedisTarget;
  policy: Policy;
  registry: Registry;
  stateDir: string;
  logger: FleetLogger;
  namespace?: string;
  confirmTimeoutMs?: number;
  attempts?: number;
  backoffMs?: number;
  /** Long-term audit archive (the embedded journal); the Redis stream keeps the recent, fleet-wide trail. */
  archive?: Pick<RuleStore, 'appendAudit' | 'close'>;
  env?: NodeJS.ProcessEnv;
}

export interface FleetController {
  store: RedisRuleStore;
  /** Remote handles for every instance with a `pop`, local ones for the rest (on-node actions). */
  actions: Map<string, ActionHandle>;
  dispatcher: FleetDispatcher;
  close(): Promise<void>;
}

/**
 * `ft run --redis`: the same Runner, with the Redis store and, for every instance that has a `pop`, a handle that
 * goes through that POP's queue. Instances without a pop (on-node actions) run in the controller as before.
 */
export async function openController(s: ControllerSetup): Promise<FleetController> {
  const pops = popsOf(s.policy);
  const ns = s.namespace;
  const storeConn = await connectRedis(s.target, 'controller-store', false);
  const store = new RedisRuleStore({
    conn: storeConn,
    ...(ns ? { namespace: ns } : {}),
    ...(s.archive ? { archive: s.archive } : {}),
  });
  let dispatcher: FleetDispatcher | undefined;
  let local = new Map<string, ActionHandle>();
  try {
    dispatcher = await FleetDispatcher.open({
      pops: [...pops.keys()],
      connect: (role, blocking) => connectRedis(s.target, role, blocking),
      ...(ns ? { namespace: ns } : {}),
      ...(s.confirmTimeoutMs ? { confirmTimeoutMs: s.confirmTimeoutMs } : {}),
      ...(s.attempts ? { attempts: s.attempts } : {}),
      ...(s.backoffMs ? { backoffMs: s.backoffMs } : {}),
    });
    const all = allInstances(s.policy);
    await recordSpeakers(
      storeConn,
      ns ?? 'ft',
      new Map(all.filter((i) => i.pop).map((i) => [i.name, i.pop as string])),
    );
    local = await createActionHandles(s.registry, specsFromInstances(all.filter((i) => !i.pop)), {
      stateDir: s.stateDir,
      logger: s.logger,
      signal: new AbortController().signal,
      ...(s.env ? { env: s.env } : {}),
    });
    const actions = new Map(local);
    for (const inst of all) {
      if (!inst.pop) continue;
      const entry = s.registry.action(inst.adapter);
      if (!entry)
        throw new FleetNameError(
          `action ${inst.name}: no installed plugin provides kind "${inst.adapter}" (the controller needs it for routing)`,
        );
      actions.set(
        inst.name,
        remoteHandle(
          dispatcher,
          {
            name: inst.name,
            kind: inst.adapter,
            pop: inst.pop,
            reach: entry.factory.reach,
            capabilities: entry.factory.capabilities,
          },
          'controller',
          s.confirmTimeoutMs,
        ),
      );
    }
    const d = dispatcher;
    return {
      store,
      actions,
      dispatcher: d,
      async close() {
        for (const h of local.values()) await h.action.close?.().catch(() => undefined);
        await d.close();
        await store.close();
      },
    };
  } catch (err) {
    for (const h of local.values()) await h.action.close?.().catch(() => undefined);
    await dispatcher?.close();
    await store.close();
    throw err;
  }
}
