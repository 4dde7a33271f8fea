import { Prefix, type FlowSpecAction, type FlowSpecMatch, type RouteOwner, type RuleId } from '@ft/sdk';
import {
  COMPONENT,
  ComponentDecodeError,
  itemsToFragments,
  itemsToRanges,
  itemsToTcpFlags,
  rangesToValues,
  type ComponentItem,
} from './flowspec-ops.js';
import type { AnyJson } from './render.js';
import { ruleIdFromTag, type LargeCommunity } from './tag.js';

export { ComponentDecodeError };

const typeName = (a: AnyJson) => a['@type'].slice(a['@type'].lastIndexOf('.') + 1);

export interface DecodedFlowSpec {
  match: FlowSpecMatch;
  /** Every traffic action the route carries (RFC 8955 allows several; discard wins over rate-limit). */
  actions: FlowSpecAction[];
}

/** A FlowSpec NLRI and its extended communities back to ft's model. Throws ComponentDecodeError for what ft cannot express. */
export function decodeFlowSpec(nlri: AnyJson, pattrs: readonly AnyJson[]): DecodedFlowSpec {
  if (typeName(nlri) !== 'FlowSpecNLRI') throw new ComponentDecodeError(`NLRI is ${typeName(nlri)}, not FlowSpecNLRI`);
  const rules = (nlri.rules ?? []) as AnyJson[];
  const match: Partial<FlowSpecMatch> = {};
  for (const rule of rules) {
    const type = Number(rule.type);
    if (typeName(rule) === 'FlowSpecIPPrefix') {
      if (Number(rule.offset ?? 0) !== 0) throw new ComponentDecodeError('IPv6 prefix offsets are not supported');
      let prefix: Prefix;
      try {
        prefix = Prefix.parse(`${String(rule.prefix)}/${Number(rule.prefix_len)}`, { truncate: true });
      } catch (err) {
        throw new ComponentDecodeError(`prefix component: ${(err as Error).message}`);
      }
      if (type === COMPONENT.destination) match.destination = prefix;
      else if (type === COMPONENT.source) match.source = prefix;
      else throw new ComponentDecodeError(`prefix component of type ${type}`);
      continue;
    }
    if (typeName(rule) !== 'FlowSpecComponent')
      throw new ComponentDecodeError(`component ${typeName(rule)} is not supported`);
    const items = ((rule.items ?? []) as { op: number; value: number }[]).map((i): ComponentItem => ({
      op: Number(i.op),
      value: Number(i.value),
    }));
    switch (type) {
      case COMPONENT.protocol:
        match.protocols = rangesToValues(itemsToRanges(items, 255));
        break;
      case COMPONENT.port:
        throw new ComponentDecodeError(
          'the "port" component (source or destination) is not supported; use source/destination ports',
        );
      case COMPONENT.destinationPort:
        match.destinationPorts = itemsToRanges(items, 0xffff);
        break;
      case COMPONENT.sourcePort:
        match.sourcePorts = itemsToRanges(items, 0xffff);
        break;
      case COMPONENT.icmpType:
        match.icmpType = rangesToValues(itemsToRanges(items, 255));
        break;
      case COMPONENT.icmpCode:
        match.icmpCode = rangesToValues(itemsToRanges(items, 255));
        break;
      case COMPONENT.tcpFlags:
        match.tcpFlags = itemsToTcpFlags(items);
        break;
      case COMPONENT.packetLength:
        match.packetLength = itemsToRanges(items, 0xffff);
        break;
      case COMPONENT.dscp:
        match.dscp = rangesToValues(itemsToRanges(items, 63));
        break;
      case COMPONENT.fragment:
        match.fragment = itemsToFragments(items);
        break;
      default:
        throw new ComponentDecodeError(`component type ${type} is not supported`);
    }
  }
  if (!match.destination)
    throw new ComponentDecodeError('route has no destination prefix (ft never enforces one without)');
  return { match: match as FlowSpecMatch, actions: decodeActions(pattrs) };
}

export function decodeActions(pattrs: readonly AnyJson[]): FlowSpecAction[] {
  const actions: FlowSpecAction[] = [];
  for (const attr of pattrs) {
    if (typeName(attr) !== 'ExtendedCommunitiesAttribute') continue;
    for (const c of (attr.communities ?? []) as AnyJson[]) {
      switch (typeName(c)) {
        case 'TrafficRateExtended': {
          const rate = Number(c.rate);
          actions.push(rate > 0 ? { type: 'rate-limit', bytesPerSecond: rate } : { type: 'discard' });
          break;
        }
        case 'TrafficRemarkExtended':
          actions.push({ type: 'mark', dscp: Number(c.dscp) });
          break;
        case 'RedirectTwoOctetAsSpecificExtended':
        case 'RedirectFourOctetAsSpecificExtended':
          actions.push({ type: 'redirect', routeTarget: `${Number(c.asn)}:${Number(c.local_admin)}` });
          break;
        case 'RedirectIPv4AddressSpecificExtended':
          actions.push({ type: 'redirect', routeTarget: `${String(c.address)}:${Number(c.local_admin)}` });
          break;
        default:
          break;
      }
    }
  }
  return actions;
}

export function largeCommunities(pattrs: readonly AnyJson[]): LargeCommunity[] {
  const attr = pattrs.find((a) => typeName(a) === 'LargeCommunitiesAttribute');
  return ((attr?.communities ?? []) as LargeCommunity[]).map((c) => ({
    global_admin: Number(c.global_admin),
    local_data1: Number(c.local_data1),
    local_data2: Number(c.local_data2),
  }));
}

export function communities(pattrs: readonly AnyJson[]): number[] {
  const attr = pattrs.find((a) => typeName(a) === 'CommunitiesAttribute');
  return ((attr?.communities ?? []) as number[]).map(Number);
}

export function nextHop(pattrs: readonly AnyJson[]): string | undefined {
  for (const a of pattrs) {
    if (typeName(a) === 'NextHopAttribute') return String(a.next_hop);
    if (typeName(a) === 'MpReachNLRIAttribute') return ((a.next_hops ?? []) as string[])[0];
  }
  return undefined;
}

export function taggedRuleId(pattrs: readonly AnyJson[], tagAsn: number, owner?: RouteOwner): RuleId | undefined {
  return ruleIdFromTag(largeCommunities(pattrs), tagAsn, owner);
}
