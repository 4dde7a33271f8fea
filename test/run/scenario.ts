// The pieces of a small `ft run` that crash tests share between the child process and the test itself: the real
// Runner and JournalStore, and the fixture plugin's record-file action loaded through the plugin registry.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { Prefix, makeRule, type FlowSpecRule, type Rule } from '@ft/sdk';
import type { Logger } from '../../core/log/logger.js';
import { Registry } from '../../core/plugin-host/registry.js';
import { JournalStore } from '../../core/state/journal-store.js';
import type { RuleStore } from '../../core/state/store.js';
import { createActionHandles } from '../../core/run/actions.js';
import { Runner } from '../../core/run/runner.js';
import type { Plan } from '../../core/model/plan.js';

export function scenarioRule(n: number, ttlSeconds = 600): FlowSpecRule {
  return makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant: 'lab',
    target: Prefix.parse(`203.0.113.${n}/32`),
    match: { destination: Prefix.parse(`203.0.113.${n}/32`), protocols: [17], sourcePorts: [{ min: 123, max: 123 }] },
    action: { type: 'discard' },
    level: 2,
    ttlSeconds,
  });
}

/** Calls `point` before and after every durable step: store writes and action calls. */
export type CrashPoint = (what: string) => void;

function crashing(store: RuleStore, point: CrashPoint): RuleStore {
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      point(`before ${name}`);
      const r = await fn(...a);
      point(`after ${name}`);
      return r;
    };
  return {
    description: store.description,
    rules: () => store.rules(),
    rule: (id) => store.rule(id),
    putRule: wrap('putRule', (r) => store.putRule(r)),
    removeRule: wrap('removeRule', (id) => store.removeRule(id)),
    putIncident: (i) => store.putIncident(i),
    incidents: () => store.incidents(),
    appendAudit: wrap('appendAudit', (r) => store.appendAudit(r)),
    queryAudit: (q) => store.queryAudit(q),
    claimSlot: (t, id, cap) => store.claimSlot(t, id, cap),
    close: () => store.close(),
  };
}

export async function openRun(options: {
  stateDir: string;
  recordFile: string;
  logger: Logger;
  onShutdown: 'withdraw' | 'keep';
  point?: CrashPoint;
}) {
  const { stateDir, recordFile, logger } = options;
  const store = await JournalStore.open({ dir: stateDir, logger });
  const registry = new Registry();
  const plugin = (await import(
    pathToFileURL(join(import.meta.dirname, '..', 'fixtures', 'plugin-template', 'register.js')).href
  )) as {
    default: (o: { apiVersion: number }) => Promise<unknown>;
  };
  registry.add('ft-plugin-template', await plugin.default({ apiVersion: 1 }));
  const actions = await createActionHandles(
    registry,
    [{ name: 'edge', kind: 'record-file', options: { file: recordFile } }],
    {
      stateDir,
      logger,
      signal: new AbortController().signal,
    },
  );
  const point = options.point;
  if (point) {
    for (const h of actions.values()) {
      const a = h.action;
      const apply = a.apply.bind(a);
      const withdraw = a.withdraw.bind(a);
      a.apply = async (rule: Rule) => {
        point('before apply');
        const r = await apply(rule);
        point('after apply');
        return r;
      };
      a.withdraw = async (ref) => {
        point('before withdraw');
        await withdraw(ref);
        point('after withdraw');
      };
    }
  }
  const runner = new Runner({
    store: point ? crashing(store, point) : store,
    actions,
    logger,
    tenant: 'lab',
    mode: 'enforce',
    maxRules: 200,
    onShutdown: options.onShutdown,
    tickMs: 200,
    reconcileEveryMs: 3_600_000,
  });
  return { store, runner };
}

const plan = (ops: Plan['ops']): Plan => ({ tenant: 'lab', mode: 'enforce', ops, refused: [], notes: [] });
const add = (n: number) => ({
  type: 'add' as const,
  rule: scenarioRule(n),
  via: ['edge'],
  reason: { summary: `scenario add ${n}` },
  rendered: [],
});
const withdraw = (n: number) => ({
  type: 'withdraw' as const,
  rule: scenarioRule(n),
  via: ['edge'],
  reason: { summary: `scenario withdraw ${n}` },
  rendered: [],
});

/** Adds 1 and 2 together, adds 3, withdraws 1, withdraws 2 while adding 4: rules 3 and 4 end up live. */
export async function runScenario(runner: Runner): Promise<void> {
  await runner.execute(plan([add(1), add(2)]), { plannedBy: 'scenario' });
  await runner.execute(plan([add(3)]), { plannedBy: 'scenario' });
  await runner.execute(plan([withdraw(1)]), { plannedBy: 'scenario' });
  await runner.execute(plan([withdraw(2), add(4)]), { plannedBy: 'scenario' });
}

export const SCENARIO_END = [3, 4];

export async function serveRules(runner: Runner): Promise<void> {
  await runner.execute(plan([add(5), add(6), add(7)]), { plannedBy: 'scenario' });
}
