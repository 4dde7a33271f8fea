import type { RouteOwner, RuleId } from '@ft/sdk';
import { parseLargeCommunity, ruleIdFromTags, type LargeCommunity } from './tag.js';

// Parsers for what ExaBGP prints in answer to `show adj-rib out extensive` and `show neighbor summary`.

export interface RibRoute {
  /** "ipv4 flow <nlri>" or "ipv6 unicast <prefix>": the route's identity, also used to withdraw an orphan. */
  nativeId: string;
  afi: 'ipv4' | 'ipv6';
  safi: 'unicast' | 'flow';
  nlri: string;
  largeCommunities: LargeCommunity[];
  ruleId?: RuleId;
  line: string;
}

// The FlowSpec NLRI components ExaBGP prints; anything else after the NLRI is a path attribute.
const FLOW_KEYS = new Set([
  'destination-ipv4',
  'source-ipv4',
  'destination-ipv6',
  'source-ipv6',
  'protocol',
  'next-header',
  'port',
  'destination-port',
  'source-port',
  'icmp-type',
  'icmp-code',
  'tcp-flags',
  'packet-length',
  'dscp',
  'traffic-class',
  'fragment',
  'flow-label',
]);

function tokenize(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** Splits "key value" / "key [ v1 v2 ]" pairs; returns [nlri tokens, the rest]. */
function splitFlow(tokens: string[]): [string[], string[]] {
  let i = 0;
  while (i < tokens.length && FLOW_KEYS.has(tokens[i] as string)) {
    i++;
    if (tokens[i] === '[') {
      while (i < tokens.length && tokens[i] !== ']') i++;
      i++;
    } else {
      i++;
    }
  }
  return [tokens.slice(0, i), tokens.slice(i)];
}

function largeCommunities(attrs: string): LargeCommunity[] {
  const m = /large-community (?:\[ ([^\]]*) \]|(\S+))/.exec(attrs);
  if (!m) return [];
  return tokenize(m[1] ?? m[2] ?? '')
    .map(parseLargeCommunity)
    .filter((c): c is LargeCommunity => c !== undefined);
}

/** One line of `show adj-rib out extensive`; undefined for anything else (headers, events). */
export function parseRibLine(line: string, tagAsn: number, owner?: RouteOwner): RibRoute | undefined {
  const m = /^neighbor \S+ .*? (ipv4|ipv6) (unicast|flow) (.+)$/.exec(line.trim());
  if (!m) return undefined;
  const afi = m[1] as 'ipv4' | 'ipv6';
  const safi = m[2] as 'unicast' | 'flow';
  const rest = tokenize(m[3] as string);
  let nlri: string;
  let attrs: string;
  if (safi === 'flow') {
    if (rest[0] === 'flow') rest.shift();
    const [n, a] = splitFlow(rest);
    nlri = n.join(' ');
    attrs = a.join(' ');
  } else {
    nlri = rest[0] ?? '';
    attrs = rest.slice(1).join(' ');
  }
  const lcs = largeCommunities(attrs);
  return {
    nativeId: `${afi} ${safi} ${nlri}`,
    afi,
    safi,
    nlri,
    largeCommunities: lcs,
    ruleId: ofKind(ruleIdFromTags(lcs, tagAsn, owner), safi === 'flow' ? 'fs' : 'bh'),
    line,
  };
}

/** Every route ExaBGP holds for its neighbors, once each (the same route sent to two peers is one route). */
export function parseRib(lines: string[], tagAsn: number, owner?: RouteOwner): RibRoute[] {
  const byId = new Map<string, RibRoute>();
  for (const line of lines) {
    const r = parseRibLine(line, tagAsn, owner);
    if (r && !byId.has(r.nativeId)) byId.set(r.nativeId, r);
  }
  return [...byId.values()];
}

/** The withdraw command for a route found in the RIB (an orphan ft no longer has the rule for). */
export function withdrawForNativeId(nativeId: string): string {
  const m = /^(ipv4|ipv6) (unicast|flow) (.+)$/.exec(nativeId);
  if (!m) throw new Error(`${JSON.stringify(nativeId)} is not an ExaBGP route id from list()`);
  const nlri = m[3] as string;
  // Only what parseRibLine produced gets here, but the text goes back to ExaBGP: refuse anything odd in it.
  if (!/^[0-9A-Za-z:./=<>&!\-[\] ]+$/.test(nlri))
    throw new Error(`refusing to withdraw ${JSON.stringify(nativeId)}: unexpected characters`);
  if (m[2] === 'unicast') {
    if (!/^[0-9a-f:.]+\/\d+$/i.test(nlri))
      throw new Error(`refusing to withdraw ${JSON.stringify(nativeId)}: not a prefix`);
    return `withdraw route ${nlri}`;
  }
  return `withdraw flow route ${nlri}`;
}

export interface NeighborState {
  address: string;
  state: string;
}

/** `show neighbor summary`: "Peer AS up/down state |  #sent #recvd" then one row per neighbor. */
export function parseNeighborSummary(lines: string[]): NeighborState[] {
  const out: NeighborState[] = [];
  for (const line of lines) {
    const t = tokenize(line);
    if (t.length >= 4 && /^[0-9a-f:.]+$/i.test(t[0] as string) && /^\d+$/.test(t[1] as string)) {
      out.push({ address: t[0] as string, state: (t[3] as string).toLowerCase() });
    }
  }
  return out;
}

/** A FlowSpec route must name a FlowSpec rule and a unicast route an RTBH rule; a mismatch is not ft's doing. */
function ofKind(id: RuleId | undefined, kind: 'fs' | 'bh'): RuleId | undefined {
  return id?.startsWith(`${kind}-`) ? id : undefined;
}
