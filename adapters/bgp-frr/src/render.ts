import type { Prefix, RtbhRule } from '@ft/sdk';
import { ruleTags } from './tag.js';
import { rtbhCommunities, rtbhNextHop, RuleRejected } from './validate.js';

// Pure rendering of an RTBH rule into the vtysh commands that announce and withdraw it:
//   route-map <prefix>-<id> permit 10          per rule: its communities, ft tag, discard next hop
//   ip route <P> Null0 tag <staticTag>         the trigger route (also makes `network` pass import-check)
//   router bgp <asn> / address-family / network <P> route-map <prefix>-<id>
// A route-map per rule, not one shared `redistribute static` map, because rules differ in communities and next
// hop, and a shared map would need sequence numbers ft would have to allocate and keep consistent.

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
  /** Removes the BGP announcement and the trigger route (only run when the route carries this rule's tag). */
  withdraw: string[];
  /** Removes only the rule's own route-map (safe whatever else is announced for the prefix). */
  dropRouteMap: string[];
}

export function routeMapName(id: string, prefix: string): string {
  const m = /^bh-([0-9a-f]{16})$/.exec(id);
  if (!m) throw new RuleRejected(id, 'not an ft RTBH rule id');
  return `${prefix}-${m[1]}`;
}

export function renderRtbh(rule: RtbhRule, opts: RenderOptions): FrrCommands {
  if ((rule as { kind?: string }).kind !== 'rtbh') throw new RuleRejected(String(rule.id), `FRR announces RTBH only, not ${(rule as { kind?: string }).kind} (FRR cannot originate FlowSpec)`);
  const communities = rtbhCommunities(rule).map(([a, b]) => `${a}:${b}`);
  if (rule.noExport) communities.push('no-export');
  const hop = rtbhNextHop(rule, opts.nextHops);
  const v6 = rule.target.family === 6;
  const p = rule.target.toString();
  const rm = routeMapName(rule.id, opts.routeMapPrefix);
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
    dropRouteMap: ['configure terminal', `no route-map ${rm}`, 'end'],
  };
}
