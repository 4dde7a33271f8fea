import type { FlowSpecAction, FlowSpecMatch, Range, TcpFlagName } from '@ft/sdk';

/** One FlowSpec route the edge received, in ft's model. */
export interface FlowRoute {
  /** GoBGP's text form of the NLRI: unique per route, used in logs and the nft comment when no rule id is known. */
  nlri: string;
  /** The ft rule id from the route's large-community tag, when an ft controller sent it. */
  ruleId?: string;
  match: FlowSpecMatch;
  actions: FlowSpecAction[];
}

export interface Skipped {
  nlri: string;
  reason: string;
}

export const TABLE_RE = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

const TCP_FLAG_NFT: Record<TcpFlagName, string> = {
  fin: 'fin',
  syn: 'syn',
  rst: 'rst',
  psh: 'psh',
  ack: 'ack',
  urg: 'urg',
  ece: 'ecn',
  cwr: 'cwr',
};

const set = (items: string[]) => (items.length === 1 ? (items[0] as string) : `{ ${items.join(', ')} }`);
const rangeText = (r: Range) => (r.min === r.max ? String(r.min) : `${r.min}-${r.max}`);

class Unsupported extends Error {}

/** nft match expressions for one route (RFC 8955/8956 components → nftables). */
export function matchExpressions(m: FlowSpecMatch): string[] {
  const v6 = m.destination.family === 6;
  const ip = v6 ? 'ip6' : 'ip';
  const out: string[] = [`meta nfproto ${v6 ? 'ipv6' : 'ipv4'}`, `${ip} daddr ${m.destination.toString()}`];
  if (m.source) out.push(`${ip} saddr ${m.source.toString()}`);
  // Ports, TCP flags and ICMP fields each imply protocols; a route whose components cannot all hold at once
  // matches no packet (and nft rightly refuses to parse it).
  let protocols: number[] | undefined = m.protocols?.length ? [...m.protocols] : undefined;
  const narrow = (allowed: number[], why: string) => {
    protocols = (protocols ?? allowed).filter((p) => allowed.includes(p));
    if (protocols.length === 0)
      throw new Unsupported(`${why} contradicts the other components: the route matches no packet`);
  };
  if ((m.sourcePorts?.length ?? 0) > 0 || (m.destinationPorts?.length ?? 0) > 0)
    narrow([6, 17], 'a port match (TCP/UDP only)');
  if (m.tcpFlags && (m.tcpFlags.set.length || m.tcpFlags.unset.length)) narrow([6], 'a TCP flags match');
  if (m.icmpType?.length || m.icmpCode?.length) narrow([v6 ? 58 : 1], 'an ICMP type/code match');
  if (protocols) out.push(`meta l4proto ${set(protocols.map(String))}`);
  if (m.sourcePorts?.length) out.push(`th sport ${set(m.sourcePorts.map(rangeText))}`);
  if (m.destinationPorts?.length) out.push(`th dport ${set(m.destinationPorts.map(rangeText))}`);
  if (m.icmpType?.length) out.push(`${v6 ? 'icmpv6' : 'icmp'} type ${set(m.icmpType.map(String))}`);
  if (m.icmpCode?.length) out.push(`${v6 ? 'icmpv6' : 'icmp'} code ${set(m.icmpCode.map(String))}`);
  if (m.tcpFlags && (m.tcpFlags.set.length || m.tcpFlags.unset.length)) {
    const mask = [...m.tcpFlags.set, ...m.tcpFlags.unset].map((f) => TCP_FLAG_NFT[f]);
    const value = m.tcpFlags.set.map((f) => TCP_FLAG_NFT[f]);
    out.push(`tcp flags & (${mask.join(' | ')}) == ${value.length ? value.join(' | ') : '0x0'}`);
  }
  // FlowSpec packet length is the IP packet's length without layer 2: skb length at prerouting.
  if (m.packetLength?.length) out.push(`meta length ${set(m.packetLength.map(rangeText))}`);
  if (m.dscp?.length) out.push(`${ip} dscp ${set(m.dscp.map(String))}`);
  if (m.fragment?.length) out.push(fragmentExpression(m.fragment, v6));
  return out;
}

function fragmentExpression(fragments: readonly string[], v6: boolean): string {
  if (fragments.length !== 1) throw new Unsupported(`several fragment states (${fragments.join(', ')}) in one route`);
  const f = fragments[0];
  if (v6) {
    if (f === 'is-fragment') return 'exthdr frag exists';
    throw new Unsupported(`IPv6 fragment state ${f}`);
  }
  switch (f) {
    case 'dont-fragment':
      return 'ip frag-off & 0x4000 != 0';
    case 'is-fragment':
      return 'ip frag-off & 0x3fff != 0';
    case 'first-fragment':
      return 'ip frag-off & 0x3fff == 0x2000';
    default:
      throw new Unsupported(`IPv4 fragment state ${f}`);
  }
}

/**
 * Statements for one route. RFC 8955 §7: traffic-rate 0 discards, otherwise limits; marking applies to what is
 * let through. The first matching route decides (an accept ends our chain), as on a router.
 */
export function routeRules(route: FlowRoute): string[] {
  const match = matchExpressions(route.match).join(' ');
  const comment = `comment "${commentText(route)}"`;
  const discard = route.actions.some((a) => a.type === 'discard');
  const limits = route.actions.filter(
    (a): a is Extract<FlowSpecAction, { type: 'rate-limit' }> => a.type === 'rate-limit',
  );
  const mark = route.actions.find((a): a is Extract<FlowSpecAction, { type: 'mark' }> => a.type === 'mark');
  const redirect = route.actions.some((a) => a.type === 'redirect');
  if (!discard && limits.length === 0 && !mark) {
    throw new Unsupported(
      redirect ? 'redirect to a VRF has no Linux equivalent here' : 'route carries no action ft can enforce',
    );
  }
  if (discard) return [`${match} counter drop ${comment}`];
  const rules: string[] = [];
  if (limits.length > 0) {
    const bytes = Math.max(1, Math.round(Math.min(...limits.map((l) => l.bytesPerSecond))));
    rules.push(`${match} limit rate over ${bytes} bytes/second counter drop ${comment}`);
  }
  const v6 = route.match.destination.family === 6;
  rules.push(`${match} ${mark ? `${v6 ? 'ip6' : 'ip'} dscp set ${mark.dscp} ` : ''}counter accept ${comment}`);
  return rules;
}

function commentText(route: FlowRoute): string {
  const text = route.ruleId ? `ft ${route.ruleId}` : `flowspec ${route.nlri}`;
  return text.replace(/["\\\n]/g, '').slice(0, 120);
}

/**
 * RFC 8955 §5.1 orders rules by their components; we approximate it: longer destination prefix first, then more
 * components, then the NLRI text (so the order is stable).
 */
export function orderRoutes(routes: FlowRoute[]): FlowRoute[] {
  const weight = (r: FlowRoute) => Object.values(r.match).filter((v) => v !== undefined).length;
  return [...routes].sort(
    (a, b) =>
      b.match.destination.length - a.match.destination.length || weight(b) - weight(a) || a.nlri.localeCompare(b.nlri),
  );
}

/**
 * The whole table as one nft script: create-if-missing, delete, create. `nft -f` runs it as one transaction, so
 * the kernel switches from the old rule set to the new one atomically, and a bad line changes nothing.
 */
export function tableScript(
  table: string,
  routes: FlowRoute[],
  maxRoutes = Infinity,
): { script: string; installed: FlowRoute[]; skipped: Skipped[] } {
  if (!TABLE_RE.test(table)) throw new Error(`nft table name ${JSON.stringify(table)} is not [A-Za-z][A-Za-z0-9_]*`);
  const lines: string[] = [];
  const installed: FlowRoute[] = [];
  const skipped: Skipped[] = [];
  for (const route of orderRoutes(routes)) {
    // A peer announcing more than the edge should carry must not turn into an unbounded rule set.
    if (installed.length >= maxRoutes) {
      skipped.push({ nlri: route.nlri, reason: `over the limit of ${maxRoutes} enforced routes` });
      continue;
    }
    try {
      lines.push(...routeRules(route).map((r) => `    ${r}`));
      installed.push(route);
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      skipped.push({ nlri: route.nlri, reason: err.message });
    }
  }
  const script = [
    `add table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  chain prerouting {',
    '    type filter hook prerouting priority -150; policy accept;',
    ...lines,
    '  }',
    '}',
    '',
  ].join('\n');
  return { script, installed, skipped };
}

export function deleteTableScript(table: string): string {
  if (!TABLE_RE.test(table)) throw new Error(`nft table name ${JSON.stringify(table)} is invalid`);
  return `add table inet ${table}\ndelete table inet ${table}\n`;
}
