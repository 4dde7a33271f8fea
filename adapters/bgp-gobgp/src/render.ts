import { Prefix, type FlowSpecAction, type FlowSpecRule, type Range, type RtbhRule } from '@ft/sdk';
import {
  COMPONENT,
  fragmentsToItems,
  rangesToItems,
  tcpFlagsToItems,
  valuesToItems,
  type ComponentItem,
  OP_AND,
  OP_EQ,
  OP_GT,
  OP_LT,
  OP_NOT,
  OP_MATCH,
  TCP_FLAG_BITS,
} from './flowspec-ops.js';
import { rtbhCommunities } from '@ft/bgp-common/validate';
import { formatLargeCommunity, tagFor } from './tag.js';

/**
 * A protobuf `Any` in its canonical JSON form: `@type` names the message, the other keys are its fields.
 * Rendering produces this (pure, readable in a preview); the client packs it with the types of the loaded
 * .proto files just before sending.
 */
export interface AnyJson {
  '@type': string;
  [field: string]: unknown;
}

export const TYPE_PREFIX = 'type.googleapis.com/apipb.';
const any = (type: string, fields: Record<string, unknown>): AnyJson => ({ '@type': TYPE_PREFIX + type, ...fields });

export type FamilyName = 'ipv4-flowspec' | 'ipv6-flowspec' | 'ipv4-unicast' | 'ipv6-unicast';
export interface FamilyJson {
  afi: 'AFI_IP' | 'AFI_IP6';
  safi: 'SAFI_UNICAST' | 'SAFI_FLOW_SPEC_UNICAST';
}

export const FAMILIES: Record<FamilyName, FamilyJson> = {
  'ipv4-flowspec': { afi: 'AFI_IP', safi: 'SAFI_FLOW_SPEC_UNICAST' },
  'ipv6-flowspec': { afi: 'AFI_IP6', safi: 'SAFI_FLOW_SPEC_UNICAST' },
  'ipv4-unicast': { afi: 'AFI_IP', safi: 'SAFI_UNICAST' },
  'ipv6-unicast': { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' },
};

export interface PathJson {
  family: FamilyJson;
  nlri: AnyJson;
  pattrs: AnyJson[];
}

/** One announcement as ft sends it: the AddPath request body and the gobgp CLI line doing the same. */
export interface RenderedPath {
  familyName: FamilyName;
  path: PathJson;
  /** argv of the equivalent `gobgp global rib ... add` (without the connection flags). */
  cliArgs: string[];
}

export interface RenderOptions {
  /** ASN under which ft's large-community tag is written. */
  tagAsn: number;
  /** Written into the tag beside the rule's tenant (PluginContext.owner.installId); default "". */
  installId?: string;
  nextHop4: string;
  nextHop6: string;
}

export const COMMUNITY_NO_EXPORT = 0xffffff01;
const WELL_KNOWN: Record<string, number> = {
  'no-export': COMMUNITY_NO_EXPORT,
  blackhole: 0xffff029a,
  'no-advertise': 0xffffff02,
};

export function parseCommunity(text: string): number {
  const known = WELL_KNOWN[text.toLowerCase()];
  if (known !== undefined) return known;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  const hi = Number(m?.[1]);
  const lo = Number(m?.[2]);
  if (!m || hi > 0xffff || lo > 0xffff)
    throw new Error(`community ${JSON.stringify(text)} is not ASN:VALUE with both parts 0..65535`);
  return hi * 0x10000 + lo;
}

export function formatCommunity(value: number): string {
  return `${Math.floor(value / 0x10000)}:${value % 0x10000}`;
}

export function renderRtbh(rule: RtbhRule, options: RenderOptions): RenderedPath {
  const target = rule.target;
  const v6 = target.family === 6;
  const nextHopText = rule.nextHop ?? (v6 ? options.nextHop6 : options.nextHop4);
  const nextHop = Prefix.parse(nextHopText);
  if (!nextHop.isHost || nextHop.family !== target.family) {
    throw new Error(`rule ${rule.id}: next hop ${nextHopText} must be a single IPv${target.family} address`);
  }
  const familyName: FamilyName = v6 ? 'ipv6-unicast' : 'ipv4-unicast';
  const family = FAMILIES[familyName];
  // RFC 7999 BLACKHOLE first, always: an RTBH without it (a hand-written rule with `communities: []`) went out
  // with no blackhole community, or an empty COMMUNITIES attribute BIRD and FRR treat as malformed.
  const communities = [
    ...new Set([
      ...rtbhCommunities(rule).map(([hi, lo]) => hi * 0x10000 + lo),
      ...(rule.noExport ? [COMMUNITY_NO_EXPORT] : []),
    ]),
  ];
  const tag = tagFor(rule, options.tagAsn, options.installId);
  const nlri = any('IPAddressPrefix', { prefix: target.address, prefix_len: target.length });
  const pattrs: AnyJson[] = [any('OriginAttribute', { origin: 0 })];
  // IPv6 unicast carries its next hop in MP_REACH_NLRI; IPv4 in the classic NEXT_HOP attribute.
  if (v6) pattrs.push(any('MpReachNLRIAttribute', { family, next_hops: [nextHop.address], nlris: [nlri] }));
  else pattrs.push(any('NextHopAttribute', { next_hop: nextHop.address }));
  pattrs.push(any('CommunitiesAttribute', { communities }));
  pattrs.push(any('LargeCommunitiesAttribute', { communities: tag }));
  const cliArgs = [
    'global',
    'rib',
    '-a',
    v6 ? 'ipv6' : 'ipv4',
    'add',
    target.toString(),
    'origin',
    'igp',
    'nexthop',
    nextHop.address,
    'community',
    communities.map(formatCommunity).join(','),
    'large-community',
    tag.map(formatLargeCommunity).join(','),
  ];
  return { familyName, path: { family, nlri, pattrs }, cliArgs };
}

function component(type: number, items: ComponentItem[]): AnyJson {
  return any('FlowSpecComponent', { type, items });
}

// Names the gobgp CLI knows (others, like 58 for ICMPv6, are written as numbers).
const PROTOCOL_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 132: 'sctp' };
const FLAG_LETTERS: Record<string, string> = {
  fin: 'F',
  syn: 'S',
  rst: 'R',
  psh: 'P',
  ack: 'A',
  urg: 'U',
  ece: 'E',
  cwr: 'C',
};

function cliNumeric(items: ComponentItem[], names?: Record<number, string>): string[] {
  // One CLI argument per ORed alternative; ANDed bounds joined with '&' inside it.
  const out: string[] = [];
  for (const { op, value } of items) {
    const cmp = op & (OP_LT | OP_GT | OP_EQ);
    const sym =
      cmp === OP_EQ
        ? '=='
        : cmp === (OP_GT | OP_EQ)
          ? '>='
          : cmp === (OP_LT | OP_EQ)
            ? '<='
            : cmp === OP_GT
              ? '>'
              : cmp === OP_LT
                ? '<'
                : '!=';
    const text = `${sym}${names?.[value] ?? value}`;
    if (op & OP_AND && out.length > 0) out[out.length - 1] += `&${text}`;
    else out.push(text);
  }
  return out;
}

function cliTcpFlags(items: ComponentItem[]): string[] {
  const parts: string[] = [];
  for (const { op, value } of items) {
    const letters = (Object.keys(TCP_FLAG_BITS) as (keyof typeof TCP_FLAG_BITS)[])
      .filter((n) => value & TCP_FLAG_BITS[n])
      .map((n) => FLAG_LETTERS[n])
      .join('');
    parts.push(`${op & OP_NOT ? '!' : op & OP_MATCH ? '=' : ''}${letters}`);
  }
  return [parts.join('&')];
}

function actionCommunities(action: FlowSpecAction): { ext: AnyJson[]; cli: string[] } {
  switch (action.type) {
    case 'discard':
      return { ext: [any('TrafficRateExtended', { asn: 0, rate: 0 })], cli: ['discard'] };
    case 'rate-limit': {
      if (!(action.bytesPerSecond > 0) || !Number.isFinite(action.bytesPerSecond)) {
        throw new Error(
          `rate-limit of ${action.bytesPerSecond} bytes/s is not a positive number (use discard to drop all)`,
        );
      }
      return {
        ext: [any('TrafficRateExtended', { asn: 0, rate: action.bytesPerSecond })],
        cli: ['rate-limit', String(action.bytesPerSecond)],
      };
    }
    case 'mark':
      if (!Number.isInteger(action.dscp) || action.dscp < 0 || action.dscp > 63)
        throw new Error(`DSCP ${action.dscp} is not 0..63`);
      return { ext: [any('TrafficRemarkExtended', { dscp: action.dscp })], cli: ['mark', String(action.dscp)] };
    case 'redirect':
      return { ext: [redirectCommunity(action.routeTarget)], cli: ['redirect', action.routeTarget] };
  }
}

/** Route target "ASN:NN" (2- or 4-octet AS) or "IPv4:NN", as RFC 8955 §7.4 redirect-to-VRF encodes it. */
function redirectCommunity(routeTarget: string): AnyJson {
  const m = /^(.+):(\d{1,10})$/.exec(routeTarget);
  if (!m) throw new Error(`redirect route target ${JSON.stringify(routeTarget)} is not ASN:VALUE or IPv4:VALUE`);
  const [, left, right] = m as unknown as [string, string, string];
  const local = Number(right);
  if (/^\d{1,10}$/.test(left)) {
    const asn = Number(left);
    if (asn <= 0xffff && local <= 0xffffffff)
      return any('RedirectTwoOctetAsSpecificExtended', { asn, local_admin: local });
    if (asn <= 0xffffffff && local <= 0xffff)
      return any('RedirectFourOctetAsSpecificExtended', { asn, local_admin: local });
  } else if (local <= 0xffff) {
    const ip = Prefix.parse(left);
    if (ip.family === 4 && ip.isHost)
      return any('RedirectIPv4AddressSpecificExtended', { address: ip.address, local_admin: local });
  }
  throw new Error(
    `redirect route target ${JSON.stringify(routeTarget)} is out of range for any RFC 8955 redirect encoding`,
  );
}

function checkRanges(name: string, ranges: readonly Range[] | undefined, max: number): void {
  for (const r of ranges ?? []) {
    if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 0 || r.max > max || r.min > r.max) {
      throw new Error(`${name} range ${r.min}-${r.max} is not within 0..${max}`);
    }
  }
}

export function renderFlowSpec(rule: FlowSpecRule, options: RenderOptions): RenderedPath {
  const m = rule.match;
  const v6 = m.destination.family === 6;
  if (m.source && m.source.family !== m.destination.family)
    throw new Error(`rule ${rule.id}: source and destination are of different IP families`);
  checkRanges('source port', m.sourcePorts, 0xffff);
  checkRanges('destination port', m.destinationPorts, 0xffff);
  checkRanges('packet length', m.packetLength, 0xffff);
  for (const [name, values, max] of [
    ['protocol', m.protocols, 255],
    ['ICMP type', m.icmpType, 255],
    ['ICMP code', m.icmpCode, 255],
    ['DSCP', m.dscp, 63],
  ] as const) {
    for (const v of values ?? [])
      if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`${name} ${v} is not within 0..${max}`);
  }
  if (v6 && m.fragment?.includes('dont-fragment')) throw new Error('IPv6 has no dont-fragment bit (RFC 8956 §3.6)');

  const rules: AnyJson[] = [];
  const cli: string[] = [];
  const prefixRule = (type: number, p: Prefix) =>
    any(
      'FlowSpecIPPrefix',
      v6
        ? { type, prefix_len: p.length, prefix: p.address, offset: 0 }
        : { type, prefix_len: p.length, prefix: p.address },
    );
  rules.push(prefixRule(COMPONENT.destination, m.destination));
  cli.push('destination', m.destination.toString());
  if (m.source) {
    rules.push(prefixRule(COMPONENT.source, m.source));
    cli.push('source', m.source.toString());
  }
  const numeric = (type: number, cliName: string, items: ComponentItem[], names?: Record<number, string>) => {
    if (items.length === 0) return;
    rules.push(component(type, items));
    cli.push(cliName, ...cliNumeric(items, names));
  };
  // The gobgp CLI calls it "protocol" in IPv6 too (RFC 8956 next header).
  numeric(COMPONENT.protocol, 'protocol', valuesToItems(m.protocols ?? []), PROTOCOL_NAMES);
  numeric(COMPONENT.destinationPort, 'destination-port', rangesToItems(m.destinationPorts ?? []));
  numeric(COMPONENT.sourcePort, 'source-port', rangesToItems(m.sourcePorts ?? []));
  numeric(COMPONENT.icmpType, 'icmp-type', valuesToItems(m.icmpType ?? []));
  numeric(COMPONENT.icmpCode, 'icmp-code', valuesToItems(m.icmpCode ?? []));
  if (m.tcpFlags && (m.tcpFlags.set.length > 0 || m.tcpFlags.unset.length > 0)) {
    const items = tcpFlagsToItems(m.tcpFlags);
    rules.push(component(COMPONENT.tcpFlags, items));
    cli.push('tcp-flags', ...cliTcpFlags(items));
  }
  numeric(COMPONENT.packetLength, 'packet-length', rangesToItems(m.packetLength ?? []));
  numeric(COMPONENT.dscp, 'dscp', valuesToItems(m.dscp ?? []));
  if (m.fragment && m.fragment.length > 0) {
    rules.push(component(COMPONENT.fragment, fragmentsToItems(m.fragment)));
    cli.push('fragment', ...m.fragment);
  }

  const familyName: FamilyName = v6 ? 'ipv6-flowspec' : 'ipv4-flowspec';
  const family = FAMILIES[familyName];
  const nlri = any('FlowSpecNLRI', { rules });
  const act = actionCommunities(rule.action);
  const tag = tagFor(rule, options.tagAsn, options.installId);
  // GoBGP refuses a FlowSpec path without MP_REACH ("nexthop not found"); the next hop is unused by receivers.
  const pattrs: AnyJson[] = [
    any('OriginAttribute', { origin: 0 }),
    any('MpReachNLRIAttribute', { family, next_hops: [v6 ? '::' : '0.0.0.0'], nlris: [nlri] }),
    any('ExtendedCommunitiesAttribute', { communities: act.ext }),
    any('LargeCommunitiesAttribute', { communities: tag }),
  ];
  const cliArgs = [
    'global',
    'rib',
    '-a',
    familyName,
    'add',
    'match',
    ...cli,
    'then',
    ...act.cli,
    'origin',
    'igp',
    'large-community',
    tag.map(formatLargeCommunity).join(','),
  ];
  return { familyName, path: { family, nlri, pattrs }, cliArgs };
}

/** Quotes a CLI argument for display only (apply never goes through a shell). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:,=+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
