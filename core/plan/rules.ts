import {
  makeRule,
  type HostMatch,
  type FlowSpecMatch,
  type Prefix,
  type Range,
  type Rule,
  type RuleContent,
} from '@ft/sdk';

/**
 * Rule ids are a hash over canonical JSON of the content: correct, but far too slow to recompute for every plan
 * when the run loop re-plans each open incident many times a second. The planner builds rules through this memo,
 * keyed by a cheap text of the same content (every field that goes into the id), so a rule is hashed once.
 */
// Prefix keeps its own text (see @ft/sdk prefix.ts), so this is a lookup, not a formatting.
const pk = (p: Prefix): string => p.toString();

const rk = (rs: Range[] | undefined) => (rs ? rs.map((r) => `${r.min}-${r.max}`).join(',') : '~');
const flags = (f: { set: string[]; unset: string[] } | undefined) =>
  f ? `${f.set.join('+')}!${f.unset.join('+')}` : '~';

function flowspecKey(m: FlowSpecMatch): string {
  return [
    pk(m.destination),
    m.source ? pk(m.source) : '~',
    m.protocols?.join(',') ?? '~',
    rk(m.sourcePorts),
    rk(m.destinationPorts),
    flags(m.tcpFlags),
    rk(m.packetLength),
    m.fragment?.join(',') ?? '~',
    m.icmpType?.join(',') ?? '~',
    m.icmpCode?.join(',') ?? '~',
    m.dscp?.join(',') ?? '~',
  ].join('|');
}

function hostKey(m: HostMatch): string {
  return [
    pk(m.destination),
    m.sources ? m.sources.map(pk).join(',') : '~',
    m.protocol ?? '~',
    rk(m.sourcePorts),
    rk(m.destinationPorts),
    flags(m.tcpFlags),
  ].join('|');
}

function contentKey(c: RuleContent): string {
  const head = `${c.kind}|${c.tenant}|${pk(c.target)}`;
  switch (c.kind) {
    case 'flowspec':
      return `${head}|${flowspecKey(c.match)}|${JSON.stringify(c.action)}`;
    case 'rtbh':
      return `${head}|${c.communities.join(',')}|${c.noExport}|${c.nextHop ?? '~'}`;
    case 'divert':
      return `${head}|${c.provider}`;
    case 'host-filter':
      return `${head}|${hostKey(c.match)}|${JSON.stringify(c.action)}`;
    case 'shape':
      return `${head}|${hostKey(c.match)}|${c.bitsPerSecond}`;
  }
}

const MAX_ENTRIES = 50_000;
const memo = new Map<string, Rule>();

/** makeRule, memoised: the same content gives the very same (frozen-by-convention) rule object. */
export function buildRule<R extends Rule>(content: RuleContent<R> & { level: number; ttlSeconds: number }): R {
  const c = content;
  const key = `${contentKey(c)}#${c.level}#${c.ttlSeconds}`;
  let rule = memo.get(key);
  if (rule === undefined) {
    // Oldest first out: the rules of open incidents are the ones asked for again and again.
    if (memo.size >= MAX_ENTRIES) memo.delete(memo.keys().next().value as string);
    rule = deepFreeze(makeRule<Rule>(content as never));
    memo.set(key, rule);
  }
  return rule as R;
}

/** Shared between plans, so nobody may change one in place. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
