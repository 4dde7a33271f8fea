import type { FlowSpecRule, Prefix, Range, RtbhRule, TcpFlagName } from '@ft/sdk';
import { ruleTags } from './tag.js';
import { checkFlowSpec, parseRouteTarget, rtbhCommunities, rtbhNextHop, RuleRejected } from './validate.js';

// Pure rendering of ft rules into BIRD 2 static-route lines. Each line ends with a "# ft-rule <id>" comment so
// ft can read its own include file back after a restart.

export type Slot = 'flow4' | 'flow6' | 'rtbh4' | 'rtbh6';
export const SLOTS: readonly Slot[] = ['flow4', 'flow6', 'rtbh4', 'rtbh6'];

export interface RenderOptions {
  tagAsn: number;
  /** Written into ft's ownership tag beside the rule's tenant (PluginContext.owner.installId); default "". */
  installId?: string;
  nextHops: { ipv4: Prefix; ipv6: Prefix };
}

export interface BirdRoute {
  slot: Slot;
  /** One `route ...;` statement, on one line, ending with the ft-rule marker. */
  line: string;
}

/** The route's NLRI ("route flow4 { ... }" or "route 203.0.113.10/32"): two rules with one NLRI are one route. */
export function routeKey(route: BirdRoute): string {
  const m = /^route (flow[46] \{[^}]*\}|\S+)/.exec(route.line);
  return `${route.slot} ${m ? m[1] : route.line}`;
}

const TCP_BIT: Record<TcpFlagName, number> = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40,
  cwr: 0x80,
};
const FRAGMENT_KEYWORD = {
  'dont-fragment': 'dont_fragment',
  'is-fragment': 'is_fragment',
  'first-fragment': 'first_fragment',
  'last-fragment': 'last_fragment',
} as const;

const ranges = (rs: Range[]) => rs.map((r) => (r.min === r.max ? `${r.min}` : `${r.min}..${r.max}`)).join(', ');
const values = (vs: number[]) => vs.join(', ');
const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** IEEE-754 single precision bits of a rate in bytes/s, as RFC 8955 traffic-rate carries it. */
export function float32Bits(value: number): number {
  const b = Buffer.alloc(4);
  b.writeFloatBE(value);
  return b.readUInt32BE();
}

function matchText(rule: FlowSpecRule): string {
  const m = rule.match;
  const v6 = m.destination.family === 6;
  const parts = [`dst ${m.destination.toString()}`];
  if (m.source) parts.push(`src ${m.source.toString()}`);
  if (m.protocols) parts.push(`${v6 ? 'next header' : 'proto'} ${values(m.protocols)}`);
  if (m.sourcePorts) parts.push(`sport ${ranges(m.sourcePorts)}`);
  if (m.destinationPorts) parts.push(`dport ${ranges(m.destinationPorts)}`);
  if (m.icmpType) parts.push(`icmp type ${values(m.icmpType)}`);
  if (m.icmpCode) parts.push(`icmp code ${values(m.icmpCode)}`);
  if (m.tcpFlags) {
    // value/mask: (flags & mask) == value, i.e. every `set` flag present and every `unset` flag absent.
    const set = m.tcpFlags.set.reduce((acc, f) => acc | TCP_BIT[f], 0);
    const unset = m.tcpFlags.unset.reduce((acc, f) => acc | TCP_BIT[f], 0);
    parts.push(`tcp flags ${hex(set)}/${hex(set | unset)}`);
  }
  if (m.packetLength) parts.push(`length ${ranges(m.packetLength)}`);
  if (m.dscp) parts.push(`dscp ${values(m.dscp)}`);
  if (m.fragment) parts.push(`fragment ${m.fragment.map((f) => FRAGMENT_KEYWORD[f]).join(' || ')}`);
  return `${v6 ? 'flow6' : 'flow4'} { ${parts.join('; ')}; }`;
}

function actionCommunity(rule: FlowSpecRule): string {
  const a = rule.action;
  switch (a.type) {
    case 'discard':
      return '(generic, 0x80060000, 0x0)';
    case 'rate-limit':
      return `(generic, 0x80060000, ${hex(float32Bits(a.bytesPerSecond))})`;
    case 'redirect': {
      const rt = parseRouteTarget(String(rule.id), a.routeTarget);
      // RFC 8955 §7.4 / RFC 7674: 2-octet AS form 0x8008, 4-octet AS form 0x8208.
      if (rt.asn <= 0xffff) return `(generic, ${hex(0x80080000 + rt.asn)}, ${hex(rt.value)})`;
      return `(generic, ${hex(0x82080000 + Math.floor(rt.asn / 0x10000))}, ${hex(((rt.asn & 0xffff) * 0x10000 + rt.value) >>> 0)})`;
    }
    case 'mark':
      return `(generic, 0x80090000, ${hex(a.dscp)})`;
  }
}

function tagStatements(rule: FlowSpecRule | RtbhRule, opts: RenderOptions): string[] {
  return ruleTags(rule.id, opts.tagAsn, { tenant: rule.tenant, installId: opts.installId ?? '' }).map(
    (t) => `bgp_large_community.add((${t.asn}, ${t.data1}, ${t.data2}));`,
  );
}

const marker = (id: string) => `# ft-rule ${id}`;

export function renderFlowSpec(rule: FlowSpecRule, opts: RenderOptions): BirdRoute {
  checkFlowSpec(rule);
  const attrs = [`bgp_ext_community.add(${actionCommunity(rule)});`, ...tagStatements(rule, opts)];
  return {
    slot: rule.match.destination.family === 6 ? 'flow6' : 'flow4',
    line: `route ${matchText(rule)} { ${attrs.join(' ')} }; ${marker(rule.id)}`,
  };
}

export function renderRtbh(rule: RtbhRule, opts: RenderOptions): BirdRoute {
  const communities = rtbhCommunities(rule);
  if (rule.noExport) communities.push([65535, 65281]);
  const hop = rtbhNextHop(rule, opts.nextHops);
  const attrs = [
    ...communities.map(([a, b]) => `bgp_community.add((${a}, ${b}));`),
    ...tagStatements(rule, opts),
    `bgp_next_hop = ${hop.address};`,
  ];
  return {
    slot: rule.target.family === 6 ? 'rtbh6' : 'rtbh4',
    line: `route ${rule.target.toString()} blackhole { ${attrs.join(' ')} }; ${marker(rule.id)}`,
  };
}

export function renderRoute(rule: { kind: string; id: string }, opts: RenderOptions): BirdRoute {
  if (rule.kind === 'flowspec') return renderFlowSpec(rule as FlowSpecRule, opts);
  if (rule.kind === 'rtbh') return renderRtbh(rule as RtbhRule, opts);
  throw new RuleRejected(rule.id, `BIRD announces FlowSpec and RTBH rules, not ${rule.kind}`);
}

export interface FileOptions {
  protocolPrefix: string;
  tables: { flow4: string; flow6: string; ipv4: string; ipv6: string };
}

const CHANNEL: Record<Slot, { channel: string; table: keyof FileOptions['tables'] }> = {
  flow4: { channel: 'flow4', table: 'flow4' },
  flow6: { channel: 'flow6', table: 'flow6' },
  rtbh4: { channel: 'ipv4', table: 'ipv4' },
  rtbh6: { channel: 'ipv6', table: 'ipv6' },
};

export function protocolName(slot: Slot, opts: FileOptions): string {
  return `${opts.protocolPrefix}_${slot}`;
}

/** The whole include file for a set of routes: one static protocol per family and kind, routes sorted. */
export function renderIncludeFile(routes: BirdRoute[], opts: FileOptions): string {
  const out = ['# Written by ft (bgp-bird adapter). Do not edit: ft rewrites this file on every change.', ''];
  for (const slot of SLOTS) {
    const mine = routes
      .filter((r) => r.slot === slot)
      .map((r) => r.line)
      .sort();
    const { channel, table } = CHANNEL[slot];
    out.push(`protocol static ${protocolName(slot, opts)} {`);
    out.push(`  ${channel} { table ${opts.tables[table]}; };`);
    for (const line of mine) out.push(`  ${line}`);
    out.push('}', '');
  }
  return out.join('\n');
}

/** Reads ft's own routes back from its include file (after an ft restart). */
export function parseIncludeFile(text: string): Map<string, BirdRoute> {
  const routes = new Map<string, BirdRoute>();
  let slot: Slot | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const proto = /^protocol static \w+_(flow4|flow6|rtbh4|rtbh6) \{$/.exec(line);
    if (proto) {
      slot = proto[1] as Slot;
      continue;
    }
    const route = /^(route .*; # ft-rule ((?:fs|bh)-[0-9a-f]{16}))$/.exec(line);
    if (route && slot) routes.set(route[2] as string, { slot, line: route[1] as string });
  }
  return routes;
}
