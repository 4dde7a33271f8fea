import { PrefixSet, bogonOf, type Prefix, type Rule } from '@ft/sdk';
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
  | 'protected-source'
  | 'bogon-source';

export interface RailHit {
  rail: Rail;
  message: string;
}

/**
 * The policy's protect and neverTarget lists as PrefixSets, built once per policy: the rails ask them for every
 * rule of every plan and for every source of a block list (a scan was quadratic in 50,000 protect entries or a
 * 40,000-source incident).
 */
const sets = new WeakMap<Policy, { protect: PrefixSet; never: PrefixSet }>();
export function spaceOf(policy: Policy): { protect: PrefixSet; never: PrefixSet } {
  let s = sets.get(policy);
  if (!s) sets.set(policy, (s = { protect: new PrefixSet(policy.protect), never: new PrefixSet(policy.neverTarget) }));
  return s;
}

/** The protected prefix that holds `p` (the most specific one), if any. */
export function protectedBy(policy: Policy, p: Prefix): Prefix | undefined {
  return spaceOf(policy).protect.containing(p);
}

const listed = (ps: readonly Prefix[]) =>
  ps.length <= 5 ? ps.map(String).join(', ') : `${ps.slice(0, 5).map(String).join(', ')} and ${ps.length - 5} more`;

/**
 * Rails every prefix a rule is about must pass. `divert` forwards cleaned traffic instead of dropping it, so a
 * never-target host inside a diverted prefix is allowed (and noted); any other rule that overlaps one is refused.
 */
export function prefixRails(policy: Policy, p: Prefix, opts: { divert?: boolean } = {}): RailHit | undefined {
  if (!protectedBy(policy, p)) {
    return {
      rail: 'outside-protect',
      message: `${p} is outside protected space (${listed(policy.protect)})`,
    };
  }
  const never = opts.divert ? spaceOf(policy).never.containing(p) : spaceOf(policy).never.overlapping(p);
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
  // A block list: at a vendor filter (which blocks them for everything behind it), and on this host alike.
  if (rule.kind === 'host-filter' && via.some((v) => policy.filters.has(v)))
    return sourceRails(policy, rule.match.sources ?? []);
  if (rule.kind === 'host-filter' && rule.match.sources && rule.match.sources.length > 0)
    return sourceRails(policy, rule.match.sources);
  return undefined;
}

/**
 * Sources of a block rule: attackers, but a vendor firewall blocks them for everything behind it, so none may be
 * our own space, a never-target (a spoofed resolver) or a bogon (0.0.0.0/8, 127/8, 10/8, multicast, ...: no real
 * host sends from one), and none may be wider than the minimum prefix length (no 0.0.0.0/0 that blocks the
 * world). A rule without sources would block everyone.
 */
export function sourceRails(policy: Policy, sources: readonly Prefix[]): RailHit | undefined {
  if (sources.length === 0)
    return { rail: 'prefix-too-short', message: 'a block rule without sources would block every source' };
  const space = spaceOf(policy);
  for (const s of sources) {
    const ours = space.protect.overlapping(s);
    if (ours)
      return {
        rail: 'protected-source',
        message: `block source ${s} overlaps protected ${ours}: ft never blocks its own space`,
      };
    const bogon = bogonOf(s);
    if (bogon)
      return {
        rail: 'bogon-source',
        message: `block source ${s} is in bogon space ${bogon}: no real host sends from it`,
      };
    const never = space.never.overlapping(s);
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

/** Why a source may not go into a block list (own space, never-target, bogon), or undefined when it may. */
export function unblockable(policy: Policy, s: Prefix): 'protect' | 'never-target' | 'bogon' | undefined {
  const space = spaceOf(policy);
  if (space.protect.overlapping(s)) return 'protect';
  if (space.never.overlapping(s)) return 'never-target';
  if (bogonOf(s)) return 'bogon';
  return undefined;
}
