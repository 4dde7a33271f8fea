import type { RouteOwner, RuleId } from '@ft/sdk';
import { parseLargeCommunity, ruleIdFromTags, type LargeCommunity } from './tag.js';

// Readers for FRR's JSON views of its BGP table.

/** Prefixes FRR itself originates among the routes carrying BLACKHOLE (`show bgp <afi> unicast community blackhole json`). */
export function localBlackholePrefixes(doc: unknown): string[] {
  const routes = (doc as { routes?: Record<string, { peerId?: string }[]> })?.routes ?? {};
  return Object.entries(routes)
    .filter(([, paths]) => Array.isArray(paths) && paths.some((p) => p?.peerId === '(unspec)'))
    .map(([prefix]) => prefix);
}

export interface FrrPath {
  prefix: string;
  local: boolean;
  communities: string[];
  largeCommunities: LargeCommunity[];
  nextHop?: string;
  ruleId?: RuleId;
}

/** `show bgp <afi> unicast <prefix> json`: every path with its communities and, when ft's tag is on it, the rule id. */
export function parsePrefixDetail(doc: unknown, tagAsn: number, owner?: RouteOwner): FrrPath[] {
  const d = doc as {
    prefix?: string;
    paths?: {
      local?: boolean;
      sourced?: boolean;
      peer?: { peerId?: string };
      community?: { list?: string[] };
      largeCommunity?: { list?: string[] };
      nexthops?: { ip?: string }[];
    }[];
  };
  if (typeof d?.prefix !== 'string' || !Array.isArray(d.paths)) return [];
  return d.paths
    .filter((p) => typeof p === 'object' && p !== null)
    .map((p) => {
      const lcs = (Array.isArray(p.largeCommunity?.list) ? p.largeCommunity.list : [])
        .filter((x) => typeof x === 'string')
        .map(parseLargeCommunity)
        .filter((c): c is LargeCommunity => c !== undefined);
      return {
        prefix: d.prefix as string,
        local: p.local === true || p.sourced === true,
        communities: Array.isArray(p.community?.list) ? p.community.list.filter((x) => typeof x === 'string') : [],
        largeCommunities: lcs,
        nextHop: Array.isArray(p.nexthops) && typeof p.nexthops[0]?.ip === 'string' ? p.nexthops[0].ip : undefined,
        ruleId: ofKind(ruleIdFromTags(lcs, tagAsn, owner), 'bh'),
      };
    });
}

export interface FrrPeer {
  address: string;
  state: string;
}

/** `show bgp summary json`: peers of every address family, once each. */
export function parseSummary(doc: unknown): FrrPeer[] {
  const byAddr = new Map<string, string>();
  for (const af of Object.values((doc as Record<string, { peers?: Record<string, { state?: string }> }>) ?? {})) {
    if (typeof af !== 'object' || af === null || typeof af.peers !== 'object' || af.peers === null) continue;
    for (const [address, peer] of Object.entries(af.peers))
      byAddr.set(address, typeof peer?.state === 'string' ? peer.state : 'unknown');
  }
  return [...byAddr].map(([address, state]) => ({ address, state }));
}

/** A FlowSpec route must name a FlowSpec rule and a unicast route an RTBH rule; a mismatch is not ft's doing. */
function ofKind(id: RuleId | undefined, kind: 'fs' | 'bh'): RuleId | undefined {
  return id?.startsWith(`${kind}-`) ? id : undefined;
}
