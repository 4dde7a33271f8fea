import { userInfo } from 'node:os';
import { Prefix, RULE_KINDS, makeRule, type Rule, type RuleContent } from '@ft/sdk';
import type { Config } from '@oclif/core';
import type { Logger } from '../log/logger.js';
import type { Op, Plan, RpkiVerdict } from '../model/plan.js';
import type { Policy } from '../policy/types.js';
import type { ExecReport } from '../exec/executor.js';
import { controlRequest, recordOperator, type ControlRequest } from './control.js';
import type { RuleStore } from '../state/store.js';

export class ManualError extends Error {}

/**
 * A rule written by hand (`ft mitigate apply --rule FILE`): JSON rule content as `ft mitigate list --json` and
 * preview print it (kind, tenant, target, match, action…), prefixes as text. The id is derived from the content,
 * level defaults to 0 and the TTL to the policy's.
 */
export function ruleFromJson(raw: unknown, where: string, defaults: { tenant: string; ttlSeconds: number }): Rule {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ManualError(`${where}: expected a JSON object describing one rule`);
  const r = structuredClone(raw) as Record<string, unknown>;
  if (!RULE_KINDS.includes(r.kind as Rule['kind']))
    throw new ManualError(`${where}: kind must be one of ${RULE_KINDS.join(', ')}`);
  const prefix = (v: unknown, field: string): Prefix => {
    try {
      return Prefix.parse(String(v));
    } catch (err) {
      throw new ManualError(`${where}: ${field}: ${(err as Error).message}`);
    }
  };
  r.target = prefix(r.target, 'target');
  const match = r.match as Record<string, unknown> | undefined;
  if (r.kind === 'flowspec' || r.kind === 'host-filter' || r.kind === 'shape') {
    if (!match || typeof match !== 'object')
      throw new ManualError(`${where}: a ${String(r.kind)} rule needs a match with a destination`);
    match.destination = prefix(match.destination ?? r.target, 'match.destination');
    if (match.source !== undefined) match.source = prefix(match.source, 'match.source');
    if (Array.isArray(match.sources)) match.sources = match.sources.map((s, i) => prefix(s, `match.sources[${i}]`));
  }
  if ((r.kind === 'flowspec' || r.kind === 'host-filter') && (!r.action || typeof r.action !== 'object'))
    throw new ManualError(`${where}: a ${String(r.kind)} rule needs an action`);
  const { id: _id, level, ttlSeconds, ...content } = r;
  const tenant = typeof content.tenant === 'string' ? content.tenant : defaults.tenant;
  return makeRule({
    ...(content as unknown as RuleContent),
    tenant,
    level: typeof level === 'number' ? level : 0,
    ttlSeconds: typeof ttlSeconds === 'number' && ttlSeconds > 0 ? ttlSeconds : defaults.ttlSeconds,
  });
}

/**
 * The planner's rails for a plan that did not come from the planner just now (an edited preview file, a rule
 * written by hand): every op's rule inside protected space, outside never-target, to actions the policy names.
 */
export async function checkRails(policy: Policy, plan: Plan): Promise<string[]> {
  const { ruleRails } = await import('../plan/index.js');
  const problems: string[] = [];
  if (plan.tenant && plan.tenant !== policy.tenant)
    problems.push(`the plan is for tenant ${plan.tenant}, the policy for ${policy.tenant}`);
  for (const op of plan.ops) {
    if (op.type === 'withdraw') continue;
    const hit = ruleRails(policy, op.rule, op.via);
    if (hit) problems.push(`${op.rule.id}: refused by rail ${hit.rail}: ${hit.message}`);
  }
  return problems;
}

/** RPKI for hand-written announcements: the same check the planner runs. Refuses (throws) when it is not allowed. */
export async function rpkiForManual(
  policy: Policy,
  rule: Rule,
  options: { vrpsFile?: string; logger: Logger },
): Promise<RpkiVerdict | undefined> {
  if (policy.defaults.rpki === 'off') return { state: 'skipped', reason: 'policy rpki: off' };
  const rpki = await import('../rpki/index.js');
  const check = rpki.announcementCheckFor(rule, {
    protect: policy.protect,
    originAs: policy.asn ?? 0,
    mode: policy.defaults.rpki,
  });
  if (!check) return undefined;
  let provider;
  let stop: (() => void) | undefined;
  if (options.vrpsFile) provider = rpki.createVerdictProvider({ table: await rpki.loadVrpFile(options.vrpsFile) });
  else {
    const caches = await rpki.cachesFromPolicyFile(policy.file).catch(() => undefined);
    if (!caches) {
      const { rpkiNoData } = await import('../plan/index.js');
      provider = rpkiNoData;
    } else {
      const client = new rpki.RtrClient({ caches, logger: options.logger }).start();
      stop = () => client.stop();
      await client.ready(10_000).catch(() => undefined);
      provider = rpki.createVerdictProvider({ client });
    }
  }
  try {
    const v = provider.verdict(check);
    if (!v.allowed)
      throw new ManualError(
        `RPKI check refused ${rule.kind} ${String(check.announced)}: ${v.reason} (pass --vrps FILE, or fix the ROA)`,
      );
    const { allowed: _a, ...verdict } = v;
    return verdict;
  } finally {
    stop?.();
  }
}

export interface ManualContext {
  config: Config;
  stateDir: string;
  policyFile?: string;
  logger: Logger;
}

/**
 * Carries out an operator's request: through the running `ft run` when one owns the state directory (so its
 * lifecycle keeps watching the rules), or directly, creating the policy's actions for the duration of the command.
 */
export async function executeRequest(
  ctx: ManualContext,
  request: ControlRequest,
): Promise<{ through: 'ft run' | 'direct'; report: ExecReport }> {
  const { lockHolder } = await import('../state/state-dir.js');
  const holder = await lockHolder(ctx.stateDir);
  if (holder !== undefined) {
    const res = await controlRequest(ctx.stateDir, request);
    if (!res) {
      throw new ManualError(
        `another ft process (pid ${holder}) owns ${ctx.stateDir} and takes no requests (another ft mitigate command still running, or ft run starting up): try again in a moment`,
      );
    }
    if (!res.ok) throw new ManualError(`ft run refused the request: ${res.error}`);
    return { through: 'ft run', report: res.report };
  }
  // Directly: the store's audit trail is the event stream here too, and the request itself is recorded on it.
  const direct = async (
    tenant: string | undefined,
    cap: ((t: string) => number) | undefined,
    run: (store: RuleStore) => Promise<ExecReport>,
    retention?: Policy['events'],
  ): Promise<{ through: 'direct'; report: ExecReport }> => {
    const { JournalStore } = await import('../state/journal-store.js');
    const { EventStream, auditThroughEvents } = await import('../events/index.js');
    const raw = await JournalStore.open({ dir: ctx.stateDir, logger: ctx.logger });
    let events: Awaited<ReturnType<typeof EventStream.openEmbedded>>;
    try {
      events = await EventStream.openEmbedded({
        stateDir: ctx.stateDir,
        logger: ctx.logger,
        ...(tenant ? { tenant } : {}),
        ...(retention
          ? {
              retainBytes: retention.retainBytes,
              retainDays: retention.retainDays,
              segmentBytes: retention.segmentBytes,
            }
          : {}),
      });
    } catch (err) {
      await raw.close();
      throw err;
    }
    try {
      const report = await run(auditThroughEvents(raw, events, cap ? { cap } : {}));
      await recordOperator(events, request, { ok: true, report }, 'direct', ctx.logger);
      return { through: 'direct', report };
    } catch (err) {
      await recordOperator(events, request, { ok: false, error: (err as Error).message }, 'direct', ctx.logger);
      throw err;
    } finally {
      await events.close();
      await raw.close();
    }
  };
  if (request.op === 'forget') {
    // Touches no action: needs only the store.
    const { Executor } = await import('../exec/executor.js');
    return direct(undefined, undefined, async (store) => {
      const executor = new Executor({ store, actions: new Map(), logger: ctx.logger });
      const ops = await Promise.all(
        request.ids.map((id) => executor.forget(id as Rule['id'], { plannedBy: request.plannedBy })),
      );
      return { mode: 'enforce', ops };
    });
  }
  if (!ctx.policyFile)
    throw new ManualError(
      `no ft run is using ${ctx.stateDir}: pass --policy so ft can reach the policy's actions itself`,
    );
  const { loadRegistry } = await import('../plugin-host/load.js');
  const { loadPolicy, allInstances } = await import('../policy/index.js');
  const { createActionHandles, specsFromInstances } = await import('./actions.js');
  const { Executor } = await import('../exec/executor.js');
  const registry = await loadRegistry(ctx.config);
  const policy = await loadPolicy(ctx.policyFile, registry);
  const cap = (t: string) => policy.tenants.get(t)?.maxRules ?? policy.defaults.maxRules;
  return direct(
    policy.tenant,
    cap,
    async (store) => {
      const controller = new AbortController();
      try {
        const actions = await createActionHandles(registry, specsFromInstances(allInstances(policy)), {
          stateDir: ctx.stateDir,
          logger: ctx.logger,
          signal: controller.signal,
        });
        try {
          const executor = new Executor({ store, actions, logger: ctx.logger, maxRules: cap });
          const plannedBy = request.plannedBy;
          if (request.op === 'apply') return await executor.execute(request.plan, { plannedBy });
          const ids = request.op === 'withdraw' ? request.ids : (await store.rules()).map((r) => r.rule.id as string);
          const ops = await Promise.all(
            ids.map((id) =>
              executor.withdraw(id as Rule['id'], request.reason ?? `withdrawn by ${plannedBy}`, { plannedBy }),
            ),
          );
          return { mode: 'enforce', ops };
        } finally {
          for (const h of actions.values()) await h.action.close?.().catch(() => undefined);
        }
      } finally {
        controller.abort();
      }
    },
    policy.events,
  );
}

/** "operator:alice": the human behind the command (through sudo, the one who ran sudo). */
export function operator(): string {
  let name = process.env.SUDO_USER || process.env.USER || process.env.LOGNAME;
  if (!name) {
    try {
      name = userInfo().username;
    } catch {
      name = `uid${process.getuid?.() ?? '?'}`;
    }
  }
  return `operator:${name}`;
}

export function manualOp(rule: Rule, via: string[], rpki: RpkiVerdict | undefined, by: string): Op {
  return {
    type: 'add',
    rule,
    via,
    reason: { summary: `applied by hand (${by})`, level: rule.level },
    rendered: [],
    ...(rpki ? { rpki } : {}),
  };
}
