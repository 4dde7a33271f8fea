import type { EventData, Rule } from '@ft/sdk';
import { describeRule } from '../plan/format.js';

/** The fields every rule event shares, as the NOC reads them, built once from a rule. */
export type RuleFacts = Pick<
  EventData<'rule.added'>,
  | 'ruleId'
  | 'kind'
  | 'target'
  | 'level'
  | 'action'
  | 'match'
  | 'via'
  | 'pops'
  | 'route'
  | 'incidentId'
  | 'plannedBy'
  | 'rule'
>;

export function ruleFacts(
  rule: Rule,
  o: { via: readonly string[]; incidentId?: string; plannedBy?: string; pops?: readonly string[]; route?: string },
): RuleFacts {
  const lines = describeRule(rule);
  const match = lines.find(([label]) => label === 'match')?.[1];
  const action = lines
    .filter(([label]) => label !== 'match')
    .map(([label, text]) => (label === 'then' || label === 'action' ? text : `${label} ${text}`))
    .join('; ');
  return {
    ruleId: rule.id,
    kind: rule.kind,
    target: rule.target,
    level: rule.level,
    action,
    ...(match ? { match } : {}),
    via: [...o.via],
    ...(o.pops && o.pops.length > 0 ? { pops: [...o.pops] } : {}),
    ...(o.route ? { route: o.route } : {}),
    ...(o.incidentId ? { incidentId: o.incidentId } : {}),
    ...(o.plannedBy ? { plannedBy: o.plannedBy } : {}),
    rule,
  };
}
