import type { Prefix, RtbhRule } from '@ft/sdk';
import { ruleTags } from './tag.js';
import { rtbhCommunities, rtbhNextHop, RuleRejected } from './validate.js';

// Pure rendering of an RTBH rule into the vtysh commands that announce and withdraw it:
//   route-map <prefix>-<16 hex of the rule id> permit 10   per rule: communities, ft tag, discard next hop
//   ip route <P> Null0 tag <staticTag>                     the trigger route (also makes `network` pass import-check)
//   router bgp <asn> / address-family / network <P> route-map <that map>
// A route-map per rule, not one shared `redistribute static` map, because rules differ in communities and next
// hop, and a shared map would need sequence numbers ft would have to allocate and keep consistent.
// A newer rule for a prefix another ft rule announces first removes that rule's `network` and map, then adds its
// own, in the same vtysh call: no map of a replaced rule is left behind, and the peer sees one UPDATE that
// replaces the route (no withdrawal in between).

export interface RenderOptions {
  asn: number;
  tagAsn: number;
  /** Written into ft's ownership tag beside the rule's tenant (PluginContext.owner.installId); default "". */
  installId?: string;
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

export function routeMapName(id: string, mapPrefix: string): string {
  const m = /^bh-([0-9a-f]{16})$/.exec(id);
  if (!m) throw new RuleRejected(id, 'not an ft RTBH rule id');
  return `${mapPrefix}-${m[1]}`;
}

/** Takes down another ft rule's announcement of the same prefix (its network statement and map; the static stays). */
export function takeOver(prefix: Prefix, oldId: string, opts: RenderOptions): string[] {
  return [
    'configure terminal',
    `router bgp ${opts.asn}`,
    `address-family ${prefix.family === 6 ? 'ipv6' : 'ipv4'} unicast`,
    `no network ${prefix.toString()}`,
    'exit-address-family',
    'exit',
    `no route-map ${routeMapName(oldId, opts.routeMapPrefix)}`,
    'end',
  ];
}

export function renderRtbh(rule: RtbhRule, opts: RenderOptions): FrrCommands {
  if ((rule as { kind?: string }).kind !== 'rtbh')
    throw new RuleRejected(
      String(rule.id),
      `FRR announces RTBH only, not ${(rule as { kind?: string }).kind} (FRR cannot originate FlowSpec)`,
    );
  const communities = rtbhCommunities(rule).map(([a, b]) => `${a}:${b}`);
  if (rule.noExport) communities.push('no-export');
  const hop = rtbhNextHop(rule, opts.nextHops);
  const v6 = rule.target.family === 6;
  const p = rule.target.toString();
  const rm = routeMapName(rule.id, opts.routeMapPrefix);
  const tags = ruleTags(rule.id, opts.tagAsn, { tenant: rule.tenant, installId: opts.installId ?? '' })
    .map((t) => `${t.asn}:${t.data1}:${t.data2}`)
    .join(' ');
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
    withdraw: [
      'configure terminal',
      `router bgp ${opts.asn}`,
      af,
      `no network ${p}`,
      'exit-address-family',
      'exit',
      `no ${staticRoute}`,
      `no route-map ${rm}`,
      'end',
    ],
  };
}
