import type { Prefix, Rule } from '@ft/sdk';
import type { ActiveRule } from '../model/plan.js';
import type { AnnouncementCheck, RpkiMode, RpkiVerdictProvider } from '../model/rpki.js';
import type { RpkiVerdict } from '../model/plan.js';

export interface AnnouncementContext {
  /** The policy's protected prefixes: the covering route of an announcement is the most specific one holding it. */
  protect: readonly Prefix[];
  /** The AS the world sees as origin of our routes (not a private AS stripped on the way out). */
  originAs: number;
  mode: RpkiMode;
  /** The AS that originates a diversion through this scrubber, when it is not ours (e.g. the scrubber's own). */
  divertOriginAs?: (provider: string) => number | undefined;
}

/** The RPKI check for a rule, or undefined for rules that announce nothing in BGP (host filters, shaping). */
export function announcementCheckFor(rule: Rule, ctx: AnnouncementContext): AnnouncementCheck | undefined {
  if (rule.kind !== 'rtbh' && rule.kind !== 'flowspec' && rule.kind !== 'divert') return undefined;
  const announced = rule.kind === 'flowspec' ? rule.match.destination : rule.target;
  if (rule.kind === 'divert') {
    return {
      kind: 'divert',
      announced,
      covering: announced,
      originAs: ctx.divertOriginAs?.(rule.provider) ?? ctx.originAs,
      mode: ctx.mode,
    };
  }
  // The longest protected prefix holding it is the route we originate for it. With none (the planner never plans
  // outside protected space) the announcement stands for its own covering route; recheck() refuses it outright.
  let covering: Prefix | undefined;
  for (const p of ctx.protect) if (p.contains(announced) && (!covering || p.length > covering.length)) covering = p;
  return { kind: rule.kind, announced, covering: covering ?? announced, originAs: ctx.originAs, mode: ctx.mode };
}

export interface RecheckFinding {
  active: ActiveRule;
  check: AnnouncementCheck;
  verdict: RpkiVerdict & { allowed: boolean };
}

/**
 * Re-runs the check for every active announcement after the VRP set changed. `refused` lists the ones the
 * check would now refuse (typically: became Invalid) — the operator must be told; withdrawing them is the
 * caller's policy decision.
 */
export function recheck(
  active: readonly ActiveRule[],
  provider: RpkiVerdictProvider,
  ctx: AnnouncementContext,
): { checked: number; refused: RecheckFinding[]; invalid: RecheckFinding[] } {
  const refused: RecheckFinding[] = [];
  let checked = 0;
  for (const a of active) {
    const check = announcementCheckFor(a.rule, ctx);
    if (!check) continue;
    checked++;
    if (check.kind !== 'divert' && !ctx.protect.some((p) => p.contains(check.announced))) {
      refused.push({
        active: a,
        check,
        verdict: {
          state: 'unknown',
          reason: `${check.announced.toString()} is outside the protected space`,
          allowed: false,
        },
      });
      continue;
    }
    const verdict = provider.verdict(check);
    if (!verdict.allowed) refused.push({ active: a, check, verdict });
  }
  return {
    checked,
    refused,
    invalid: refused.filter((f) => f.verdict.state === 'invalid' || f.verdict.loose === 'invalid'),
  };
}
