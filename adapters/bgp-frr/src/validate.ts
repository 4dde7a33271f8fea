import { isPrefix, Prefix, type RtbhRule } from '@ft/sdk';

// Every value that reaches vtysh is checked here first. vtysh gets argv (no shell), but a value with a space or
// a newline could still smuggle a second FRR command into one `-c` line: prefixes come from Prefix (canonical
// text), communities and numbers match strict grammars. Same rules as adapters/bgp-exabgp/src/validate.ts.

export class RuleRejected extends Error {
  constructor(readonly ruleId: string, reason: string) {
    super(`rule ${ruleId}: ${reason}`);
    this.name = 'RuleRejected';
  }
}

export function parseCommunity(id: string, text: unknown): [number, number] {
  const m = typeof text === 'string' ? /^(\d{1,5}):(\d{1,5})$/.exec(text) : null;
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) throw new RuleRejected(id, `community ${JSON.stringify(text)} is not AA:NN (0..65535 each)`);
  return [Number(m[1]), Number(m[2])];
}

export const BLACKHOLE_COMMUNITY = '65535:666';

/** RFC 7999 BLACKHOLE first (added if the rule lacks it), then the rule's extra communities, no duplicates. */
export function rtbhCommunities(rule: RtbhRule): [number, number][] {
  const id = String(rule.id);
  if (!isPrefix(rule.target)) throw new RuleRejected(id, 'RTBH rule without a target prefix');
  const seen = new Set<string>();
  const out: [number, number][] = [];
  for (const t of [BLACKHOLE_COMMUNITY, ...(rule.communities ?? [])]) {
    const c = parseCommunity(id, t);
    if (!seen.has(c.join(':'))) {
      seen.add(c.join(':'));
      out.push(c);
    }
  }
  return out;
}

export function rtbhNextHop(rule: RtbhRule, defaults: { ipv4: Prefix; ipv6: Prefix }): Prefix {
  const id = String(rule.id);
  const family = rule.target.family;
  if (rule.nextHop !== undefined) {
    let hop: Prefix;
    try {
      hop = Prefix.parse(rule.nextHop);
    } catch (err) {
      throw new RuleRejected(id, `next hop: ${(err as Error).message}`);
    }
    if (!hop.isHost || hop.family !== family) throw new RuleRejected(id, `next hop ${rule.nextHop} is not an IPv${family} address`);
    return hop;
  }
  return family === 4 ? defaults.ipv4 : defaults.ipv6;
}
