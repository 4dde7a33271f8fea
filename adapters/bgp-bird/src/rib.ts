import type { RouteOwner, RuleId } from '@ft/sdk';
import { parseLargeCommunity, ruleIdFromTags, type LargeCommunity } from './tag.js';

// Parsers for birdc's `show route ... all` and `show protocols` answers.

export interface BirdRibRoute {
  /** The route as BIRD prints it ("flow4 { dst 203.0.113.10/32; ... }" or "203.0.113.10/32"). */
  net: string;
  protocol: string;
  largeCommunities: LargeCommunity[];
  ruleId?: RuleId;
}

/**
 * `show route ... all`: a route line ("<net> <type> [<proto> <since>] * (pref)"), then indented attribute lines
 * ("\tBGP.large_community: (65000, 6674001, 1) (...)"). Further paths of the same net start with spaces only.
 */
export function parseShowRouteAll(output: string, tagAsn: number, owner?: RouteOwner): BirdRibRoute[] {
  const out: BirdRibRoute[] = [];
  let current: BirdRibRoute | undefined;
  let lastNet = '';
  for (const line of output.split('\n')) {
    if (line.trim() === '' || /^BIRD .* ready\.$/.test(line) || /^Table \S+:$/.test(line)) continue;
    const attr = /^\s+BGP\.large_community: (.*)$/.exec(line);
    if (attr && current) {
      const lcs = (attr[1] as string).match(/\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)/g) ?? [];
      current.largeCommunities = lcs.map(parseLargeCommunity).filter((c): c is LargeCommunity => c !== undefined);
      continue;
    }
    if (/^\t/.test(line)) continue;
    // FlowSpec nets contain spaces and end with "}"; unicast ones may be followed by a route type ("blackhole").
    const route =
      /^(flow[46] \{.*\})\s+\[(\S+) [^\]]*\]/.exec(line) ?? /^(\S+)\s+(?:\S+\s+)?\[(\S+) [^\]]*\]/.exec(line);
    const alt = /^\s+(?:\S+\s+)?\[(\S+) [^\]]*\]/.exec(line);
    if (route) {
      lastNet = (route[1] as string).replace(/\s+(unicast|blackhole|unreachable|prohibit)$/, '');
      current = { net: lastNet, protocol: route[2] as string, largeCommunities: [] };
      out.push(current);
    } else if (alt && lastNet) {
      current = { net: lastNet, protocol: alt[1] as string, largeCommunities: [] };
      out.push(current);
    }
  }
  for (const r of out) {
    const kind = r.net.startsWith('flow') ? 'fs' : 'bh';
    r.ruleId = ofKind(ruleIdFromTags(r.largeCommunities, tagAsn, owner), kind);
  }
  return out;
}

export interface BirdBgpSession {
  name: string;
  /** "Established", "Active", "Idle", "Connect", ... or the protocol state ("down") when BIRD shows no BGP state. */
  state: string;
}

/** `show protocols all`: a header row per protocol ("name BGP table state since info"), then indented details. */
export function parseBgpSessions(output: string): BirdBgpSession[] {
  const out: BirdBgpSession[] = [];
  let current: BirdBgpSession | undefined;
  for (const line of output.split('\n')) {
    const head = /^(\S+)\s+(\S+)\s+\S+\s+(\S+)/.exec(line);
    if (head && !/^\s/.test(line) && head[1] !== 'Name' && head[1] !== 'BIRD') {
      current = head[2] === 'BGP' ? { name: head[1] as string, state: head[3] as string } : undefined;
      if (current) out.push(current);
      continue;
    }
    const st = /^\s+BGP state:\s+(\S+)/.exec(line);
    if (st && current) current.state = st[1] as string;
  }
  return out;
}

/** A FlowSpec route must name a FlowSpec rule and a unicast route an RTBH rule; a mismatch is not ft's doing. */
function ofKind(id: RuleId | undefined, kind: 'fs' | 'bh'): RuleId | undefined {
  return id?.startsWith(`${kind}-`) ? id : undefined;
}
