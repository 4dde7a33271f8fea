import { createHash } from 'node:crypto';
import type { Rule, RuleId, RuleKind } from './model.js';

const KIND_TAG: Record<RuleKind, string> = {
  flowspec: 'fs',
  rtbh: 'bh',
  divert: 'dv',
  'host-filter': 'hf',
  shape: 'sh',
};

/** Rule content without the derived or lifecycle fields: what decides whether two rules are the same rule. */
export type RuleContent<R extends Rule = Rule> = R extends Rule ? Omit<R, 'id' | 'level' | 'ttlSeconds'> : never;

/**
 * JSON with object keys sorted and prefixes as text, so equal content gives equal text whatever the build order.
 * Arrays keep their order: callers sort sets (ports, protocols) before building rules.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return (value as { toJSON(): unknown }).toJSON();
  if (Array.isArray(value)) return value.map(sortKeys);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

export function ruleId(content: RuleContent): RuleId {
  const digest = createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 16);
  // Copied into one flat string: the planner compares ids against every active rule on every plan, and V8 compares
  // a concatenated (cons) string several times slower than a flat one.
  return Buffer.from(`${KIND_TAG[content.kind]}-${digest}`, 'latin1').toString('latin1') as RuleId;
}

/** Builds a rule with its id derived from its content. */
export function makeRule<R extends Rule>(content: RuleContent<R> & { level: number; ttlSeconds: number }): R {
  // The casts widen the generic R to the union ruleId() takes; the rule misreads them as no-ops (removing them is a
  // type error).
  /* eslint-disable @typescript-eslint/no-unnecessary-type-assertion */
  const { level, ttlSeconds, ...rest } = content as RuleContent & { level: number; ttlSeconds: number };
  return { ...rest, id: ruleId(rest as RuleContent), level, ttlSeconds } as R;
  /* eslint-enable @typescript-eslint/no-unnecessary-type-assertion */
}

const RULE_ID_RE = /^(fs|bh|dv|hf|sh)-[0-9a-f]{16}$/;

export function isRuleId(text: string): text is RuleId {
  return RULE_ID_RE.test(text);
}
