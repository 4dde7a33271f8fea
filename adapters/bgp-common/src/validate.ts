import { isPrefix, Prefix, type FlowSpecRule, type Range, type RtbhRule, type TcpFlagName } from '@ft/sdk';

// Every value that reaches speaker text (ExaBGP lines, BIRD config, vtysh commands) is checked here first: numbers are
// integers in their field's range, prefixes are real Prefix objects (canonical text, no injection possible),
// communities and route targets match a strict grammar. A rule that fails is refused whole.

export class RuleRejected extends Error {
  constructor(
    readonly ruleId: string,
    reason: string,
  ) {
    super(`rule ${ruleId}: ${reason}`);
    this.name = 'RuleRejected';
  }
}

export const TCP_FLAGS: readonly TcpFlagName[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'];
export const FRAGMENTS = ['dont-fragment', 'is-fragment', 'first-fragment', 'last-fragment'] as const;

export function isUint(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
}

export function isAsn(n: unknown): n is number {
  return isUint(n, 0xffffffff) && n > 0;
}

function checkRanges(id: string, what: string, ranges: Range[] | undefined, max: number): void {
  if (ranges === undefined) return;
  if (!Array.isArray(ranges) || ranges.length === 0)
    throw new RuleRejected(id, `${what}: an empty list matches nothing`);
  for (const r of ranges) {
    if (!isUint(r?.min, max) || !isUint(r?.max, max) || r.min > r.max) {
      throw new RuleRejected(id, `${what}: ${JSON.stringify(r)} is not a range within 0..${max}`);
    }
  }
}

function checkValues(id: string, what: string, values: number[] | undefined, max: number): void {
  if (values === undefined) return;
  if (!Array.isArray(values) || values.length === 0)
    throw new RuleRejected(id, `${what}: an empty list matches nothing`);
  for (const v of values)
    if (!isUint(v, max)) throw new RuleRejected(id, `${what}: ${JSON.stringify(v)} is not within 0..${max}`);
}

/** A route target for the FlowSpec redirect action: "ASN:NN" as RFC 8955 encodes it (2-octet AS: 32-bit NN, 4-octet AS: 16-bit NN). */
export function parseRouteTarget(id: string, text: unknown): { asn: number; value: number } {
  const m = typeof text === 'string' ? /^(\d{1,10}):(\d{1,10})$/.exec(text) : null;
  if (!m) throw new RuleRejected(id, `redirect route target ${JSON.stringify(text)} is not ASN:NN`);
  const asn = Number(m[1]);
  const value = Number(m[2]);
  if (!isAsn(asn)) throw new RuleRejected(id, `redirect route target ${m[0]}: AS ${m[1]} is out of range`);
  const max = asn > 0xffff ? 0xffff : 0xffffffff;
  if (!isUint(value, max))
    throw new RuleRejected(id, `redirect route target ${m[0]}: value must be within 0..${max} for AS ${asn}`);
  return { asn, value };
}

export function checkFlowSpec(rule: FlowSpecRule): void {
  const id = String(rule.id);
  const m = rule.match;
  if (!m || !isPrefix(m.destination)) throw new RuleRejected(id, 'FlowSpec rule without a destination prefix');
  const family = m.destination.family;
  if (m.source !== undefined && (!isPrefix(m.source) || m.source.family !== family)) {
    throw new RuleRejected(id, 'source prefix must be of the same address family as the destination');
  }
  checkValues(id, 'protocols', m.protocols, 255);
  checkRanges(id, 'source ports', m.sourcePorts, 65535);
  checkRanges(id, 'destination ports', m.destinationPorts, 65535);
  checkRanges(id, 'packet length', m.packetLength, 65535);
  checkValues(id, 'ICMP type', m.icmpType, 255);
  checkValues(id, 'ICMP code', m.icmpCode, 255);
  checkValues(id, 'DSCP', m.dscp, 63);
  if (m.tcpFlags !== undefined) {
    const all = [...(m.tcpFlags.set ?? []), ...(m.tcpFlags.unset ?? [])];
    if (all.length === 0) throw new RuleRejected(id, 'TCP flags: neither set nor unset flags given');
    for (const f of all)
      if (!TCP_FLAGS.includes(f)) throw new RuleRejected(id, `TCP flag ${JSON.stringify(f)} is unknown`);
    if (m.tcpFlags.set.some((f) => m.tcpFlags?.unset.includes(f)))
      throw new RuleRejected(id, 'TCP flags: a flag cannot be both set and unset');
  }
  if (m.fragment !== undefined) {
    if (m.fragment.length === 0) throw new RuleRejected(id, 'fragment: an empty list matches nothing');
    for (const f of m.fragment)
      if (!FRAGMENTS.includes(f)) throw new RuleRejected(id, `fragment ${JSON.stringify(f)} is unknown`);
    // RFC 8956 §3.6: IPv6 has no Don't Fragment bit, so the IPv6 fragment component cannot match it.
    if (family === 6 && m.fragment.includes('dont-fragment'))
      throw new RuleRejected(id, 'fragment: IPv6 has no dont-fragment bit (RFC 8956)');
  }
  const a = rule.action;
  switch (a?.type) {
    case 'discard':
      return;
    case 'rate-limit':
      // A rate that rounds to 0 would turn a rate-limit into a discard on every receiver.
      if (
        typeof a.bytesPerSecond !== 'number' ||
        !Number.isFinite(a.bytesPerSecond) ||
        a.bytesPerSecond < 1 ||
        a.bytesPerSecond > 1e12
      ) {
        throw new RuleRejected(id, `rate-limit ${JSON.stringify(a.bytesPerSecond)} bytes/s is not within 1..1e12`);
      }
      return;
    case 'redirect':
      parseRouteTarget(id, a.routeTarget);
      return;
    case 'mark':
      if (!isUint(a.dscp, 63)) throw new RuleRejected(id, `mark: DSCP ${JSON.stringify(a.dscp)} is not within 0..63`);
      return;
    default:
      throw new RuleRejected(id, `FlowSpec action ${JSON.stringify((a as { type?: unknown })?.type)} is unknown`);
  }
}

/** "65535:666" → [65535, 666]; each half 0..65535. */
export function parseCommunity(id: string, text: unknown): [number, number] {
  const m = typeof text === 'string' ? /^(\d{1,5}):(\d{1,5})$/.exec(text) : null;
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff)
    throw new RuleRejected(id, `community ${JSON.stringify(text)} is not AA:NN (0..65535 each)`);
  return [Number(m[1]), Number(m[2])];
}

export const BLACKHOLE_COMMUNITY = '65535:666';

/** The communities an RTBH announcement carries: RFC 7999 BLACKHOLE first (added if the rule lacks it), no duplicates. */
export function rtbhCommunities(rule: RtbhRule): [number, number][] {
  const id = String(rule.id);
  if (!isPrefix(rule.target)) throw new RuleRejected(id, 'RTBH rule without a target prefix');
  const texts = [BLACKHOLE_COMMUNITY, ...(rule.communities ?? [])];
  const seen = new Set<string>();
  const out: [number, number][] = [];
  for (const t of texts) {
    const c = parseCommunity(id, t);
    const key = c.join(':');
    if (!seen.has(key)) {
      seen.add(key);
      out.push(c);
    }
  }
  return out;
}

/** The discard next hop of an RTBH rule: the rule's own, else the adapter's default for the family. */
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
    if (!hop.isHost || hop.family !== family)
      throw new RuleRejected(id, `next hop ${rule.nextHop} is not an IPv${family} address`);
    return hop;
  }
  return family === 4 ? defaults.ipv4 : defaults.ipv6;
}
