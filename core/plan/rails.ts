import type { Prefix, Rule } from '@ft/sdk';
import type { Policy } from '../policy/types.js';

/** The safety rails, by the name plans and errors use. */
export type Rail =
  | 'outside-protect'
  | 'never-target'
  | 'prefix-too-short'
  | 'unknown-action'
  | 'cap'
  | 'rpki'
  | 'rtbh-host-only'
  | 'protected-source';

export interface RailHit {
  rail: Rail;
  message: string;
}

/** The protected prefix that holds `p` (the most specific one), if any. */
export function protectedBy(policy: Policy, p: Prefix): Prefix | undefined {
  let best: Prefix | undefined;
  for (const q of policy.protect) if (q.contains(p) && (!best || q.length > best.length)) best = q;
  return best;
}

/**
 * Rails every prefix a rule is about must pass. `divert` forwards cleaned traffic instead of dropping it, so a
 * never-target host inside a diverted prefix is allowed (and noted); any other rule that overlaps one is refused.
 */
export function prefixRails(policy: Policy, p: Prefix, opts: { divert?: boolean } = {}): RailHit | undefined {
  if (!protectedBy(policy, p)) {
    return {
      rail: 'outside-protect',
      message: `${p} is outside protected space (${policy.protect.map(String).join(', ')})`,
    };
  }
  const never = policy.neverTarget.find((n) => (opts.divert ? n.contains(p) : n.overlaps(p)));
  if (never)
    return {
      rail: 'never-target',
      message: `${p} ${never.contains(p) ? 'is inside' : 'covers'} never-target ${never}`,
    };
  const min = p.family === 4 ? policy.defaults.minPrefixLength.v4 : policy.defaults.minPrefixLength.v6;
  if (p.length < min)
    return { rail: 'prefix-too-short', message: `${p} is shorter than the minimum /${min} for IPv${p.family}` };
  return undefined;
}

/** Every prefix a rule targets or announces (sources of a filter are the attackers: not targets). */
export function rulePrefixes(rule: Rule): Prefix[] {
  switch (rule.kind) {
    case 'flowspec':
      return rule.target.equals(rule.match.destination) ? [rule.target] : [rule.target, rule.match.destination];
    case 'host-filter':
    case 'shape':
      return rule.target.equals(rule.match.destination) ? [rule.target] : [rule.target, rule.match.destination];
    default:
      return [rule.target];
  }
}

/** Rails for one rule and where it goes: prefixes, and that only actions the policy names receive it in their role. */
export function ruleRails(policy: Policy, rule: Rule, via: readonly string[]): RailHit | undefined {
  for (const p of rulePrefixes(rule)) {
    const hit = prefixRails(policy, p, { divert: rule.kind === 'divert' });
    if (hit) return hit;
  }
  for (const v of via) {
    const ok =
      rule.kind === 'flowspec' || rule.kind === 'rtbh'
        ? policy.speakers.has(v)
        : rule.kind === 'divert'
          ? policy.scrubbers.has(v) && rule.provider === v
          : // An off-box filter carries only escalation-level block rules, never an on-node (level 0) rule.
            rule.kind === 'host-filter' && rule.level > 0
            ? policy.filters.has(v)
            : policy.nodeActions.has(v);
    if (!ok)
      return {
        rail: 'unknown-action',
        message: `${rule.kind} rule ${rule.id} would go via "${v}", which the policy does not name for ${rule.kind}`,
      };
  }
  if (rule.kind === 'host-filter' && via.some((v) => policy.filters.has(v)))
    return sourceRails(policy, rule.match.sources ?? []);
  return undefined;
}

/**
 * Sources a block rule sends off the box: attackers, but a vendor firewall blocks them for everything behind it,
 * so none may be our own space or a never-target (a spoofed resolver), and none may be wider than the minimum
 * prefix length (no 0.0.0.0/0 that blocks the world). A rule without sources would block everyone.
 */
export function sourceRails(policy: Policy, sources: readonly Prefix[]): RailHit | undefined {
  if (sources.length === 0)
    return { rail: 'prefix-too-short', message: 'a block rule without sources would block every source' };
  for (const s of sources) {
    const ours = policy.protect.find((p) => p.overlaps(s));
    if (ours)
      return {
        rail: 'protected-source',
        message: `block source ${s} overlaps protected ${ours}: ft never blocks its own space`,
      };
    const never = policy.neverTarget.find((n) => n.overlaps(s));
    if (never) return { rail: 'never-target', message: `block source ${s} overlaps never-target ${never}` };
    const min = s.family === 4 ? policy.defaults.minPrefixLength.v4 : policy.defaults.minPrefixLength.v6;
    if (s.length < min)
      return {
        rail: 'prefix-too-short',
        message: `block source ${s} is shorter than the minimum /${min} for IPv${s.family}`,
      };
  }
  return undefined;
}
