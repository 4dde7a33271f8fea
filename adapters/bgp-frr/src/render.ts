import type { Prefix, RtbhRule } from '@ft/sdk';
import { ruleTags } from './tag.js';
import { rtbhCommunities, rtbhNextHop, RuleRejected } from './validate.js';

// Pure rendering of an RTBH rule into the vtysh commands that announce and withdraw it:
//   route-map <prefix>-v4-203_0_113_10-32 permit 10   per announced prefix: communities, ft tag, discard next hop
//   ip route <P> Null0 tag <staticTag>                the trigger route (also makes `network` pass import-check)
//   router bgp <asn> / address-family / network <P> route-map <that map>
// A route-map per prefix, not one shared `redistribute static` map, because rules differ in communities and next
// hop, and a shared map would need sequence numbers ft would have to allocate and keep consistent. Per prefix
// rather than per rule: a newer rule for the same prefix rewrites the map in place, and the route changes
// without a gap (FRR 8.4 re-advertised stale attributes when a replaced per-rule map was deleted).

export interface RenderOptions {
  asn: number;
  tagAsn: number;
  staticTag: number;
  routeMapPrefix: string;
  nextHops: { ipv4: Prefix; ipv6: Prefix };
}

export interface FrrCommands {
  prefix: Prefix;
  routeMap: string;
  announce: string[];
  /** Removes the BGP announcement, the trigger route and the map (only run when the route carries this rule's tag). */
  withdraw: string[];
}

/** "FT_RTBH-v4-203_0_113_10-32", "FT_RTBH-v6-2001_db8__1-128": one name per prefix, nothing but [A-Za-z0-9_-]. */
export function routeMapName(target: Prefix, mapPrefix: string): string {
  return `${mapPrefix}-v${target.family}-${target.address.replace(/[.:]/g, '_')}-${target.length}`;
}

export function renderRtbh(rule: RtbhRule, opts: RenderOptions): FrrCommands {
  if ((rule as { kind?: string }).kind !== 'rtbh') throw new RuleRejected(String(rule.id), `FRR announces RTBH only, not ${(rule as { kind?: string }).kind} (FRR cannot originate FlowSpec)`);
  const communities = rtbhCommunities(rule).map(([a, b]) => `${a}:${b}`);
  if (rule.noExport) communities.push('no-export');
  const hop = rtbhNextHop(rule, opts.nextHops);
  const v6 = rule.target.family === 6;
  const p = rule.target.toString();
  if (!/^bh-[0-9a-f]{16}$/.test(rule.id)) throw new RuleRejected(String(rule.id), 'not an ft RTBH rule id');
  const rm = routeMapName(rule.target, opts.routeMapPrefix);
  const tags = ruleTags(rule.id, opts.tagAsn).map((t) => `${t.asn}:${t.data1}:${t.data2}`).join(' ');
  const staticRoute = `${v6 ? 'ipv6' : 'ip'} route ${p} Null0 tag ${opts.staticTag}`;
  const af = `address-family ${v6 ? 'ipv6' : 'ipv4'} unicast`;
  return {
    prefix: rule.target,
    routeMap: rm,
    announce: [
      'configure terminal',
      `route-map ${rm} permit 10`,
      `set community ${communities.join(' ')}`,
      `set large-community ${tags}`,
      v6 ? `set ipv6 next-hop global ${hop.address}` : `set ip next-hop ${hop.address}`,
      'exit',
      staticRoute,
      `router bgp ${opts.asn}`,
      af,
      `network ${p} route-map ${rm}`,
      'end',
    ],
    withdraw: ['configure terminal', `router bgp ${opts.asn}`, af, `no network ${p}`, 'exit-address-family', 'exit', `no ${staticRoute}`, `no route-map ${rm}`, 'end'],
  };
}
