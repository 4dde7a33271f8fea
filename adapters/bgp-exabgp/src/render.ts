import type { FlowSpecRule, Prefix, Range, RtbhRule, TcpFlagName } from '@ft/sdk';
import { ruleTags } from './tag.js';
import { checkFlowSpec, parseRouteTarget, rtbhCommunities, rtbhNextHop, RuleRejected } from './validate.js';

// Pure rendering of ft rules into ExaBGP 4.2 API command lines (exactly what is written to ExaBGP).

export interface RenderOptions {
  tagAsn: number;
  /** Written into ft's ownership tag beside the rule's tenant (PluginContext.owner.installId); default "". */
  installId?: string;
  /** Peers the announcement is limited to; empty = every neighbor of this ExaBGP. */
  neighbors: string[];
  nextHops: { ipv4: Prefix; ipv6: Prefix };
}

export interface ExabgpCommands {
  announce: string;
  withdraw: string;
  /** The NLRI: two rules with the same key are one BGP route (the later announcement replaces the earlier). */
  key: string;
}

// ExaBGP's names for the TCP flags (it says "push" where ft says "psh").
const FLAG_NAME: Record<TcpFlagName, string> = {
  fin: 'fin',
  syn: 'syn',
  rst: 'rst',
  psh: 'push',
  ack: 'ack',
  urg: 'urg',
  ece: 'ece',
  cwr: 'cwr',
};

const range = (r: Range) => (r.min === r.max ? `=${r.min}` : `>=${r.min}&<=${r.max}`);
const list = (items: string[]) => `[ ${items.join(' ')} ]`;

function matchBlock(rule: FlowSpecRule): string {
  const m = rule.match;
  const v6 = m.destination.family === 6;
  const parts = [`destination ${m.destination.toString()}`];
  if (m.source) parts.push(`source ${m.source.toString()}`);
  if (m.protocols) parts.push(`${v6 ? 'next-header' : 'protocol'} ${list(m.protocols.map((p) => `=${p}`))}`);
  if (m.sourcePorts) parts.push(`source-port ${list(m.sourcePorts.map(range))}`);
  if (m.destinationPorts) parts.push(`destination-port ${list(m.destinationPorts.map(range))}`);
  if (m.tcpFlags) {
    // The same RFC 8955 items GoBGP and BIRD put on the wire for set/unset flags: one item "all of these set" (the
    // match bit: `=syn`, flags joined by +) ANDed with one item "none of these set" (the not bit: `!ack+push`).
    // A receiver keys routes by NLRI bytes: ExaBGP's bare `syn` (no match bit) made a second route for one rule.
    const terms: string[] = [];
    if (m.tcpFlags.set.length > 0) terms.push(`=${m.tcpFlags.set.map((f) => FLAG_NAME[f]).join('+')}`);
    if (m.tcpFlags.unset.length > 0) terms.push(`!${m.tcpFlags.unset.map((f) => FLAG_NAME[f]).join('+')}`);
    parts.push(`tcp-flags [ ${terms.join('&')} ]`);
  }
  if (m.packetLength) parts.push(`packet-length ${list(m.packetLength.map(range))}`);
  if (m.fragment) parts.push(`fragment ${list([...m.fragment])}`);
  if (m.icmpType) parts.push(`icmp-type ${list(m.icmpType.map((t) => `=${t}`))}`);
  if (m.icmpCode) parts.push(`icmp-code ${list(m.icmpCode.map((t) => `=${t}`))}`);
  if (m.dscp) parts.push(`dscp ${list(m.dscp.map((t) => `=${t}`))}`);
  return `match { ${parts.join('; ')}; }`;
}

function thenBlock(rule: FlowSpecRule, tags: string): string {
  const a = rule.action;
  let action: string;
  switch (a.type) {
    case 'discard':
      action = 'discard';
      break;
    case 'rate-limit':
      // ExaBGP takes whole bytes per second; validation guarantees >= 1 so this never becomes a discard.
      action = `rate-limit ${Math.round(a.bytesPerSecond)}`;
      break;
    case 'redirect': {
      const rt = parseRouteTarget(String(rule.id), a.routeTarget);
      action = `redirect ${rt.asn}:${rt.value}`;
      break;
    }
    case 'mark':
      action = `mark ${a.dscp}`;
      break;
  }
  return `then { ${action}; large-community ${tags}; }`;
}

function prefixFor(opts: RenderOptions): string {
  return opts.neighbors.length ? `${opts.neighbors.map((n) => `neighbor ${n}`).join(', ')} ` : '';
}

function tagList(rule: FlowSpecRule | RtbhRule, opts: RenderOptions): string {
  return list(
    ruleTags(rule.id, opts.tagAsn, { tenant: rule.tenant, installId: opts.installId ?? '' }).map(
      (t) => `${t.asn}:${t.data1}:${t.data2}`,
    ),
  );
}

export function renderFlowSpec(rule: FlowSpecRule, opts: RenderOptions): ExabgpCommands {
  checkFlowSpec(rule);
  const match = matchBlock(rule);
  const to = prefixFor(opts);
  return {
    announce: `${to}announce flow route { ${match} ${thenBlock(rule, tagList(rule, opts))} }`,
    withdraw: `${to}withdraw flow route { ${match} }`,
    key: `flow ${match}`,
  };
}

export function renderRtbh(rule: RtbhRule, opts: RenderOptions): ExabgpCommands {
  const communities = rtbhCommunities(rule).map(([a, b]) => `${a}:${b}`);
  if (rule.noExport) communities.push('no-export');
  const hop = rtbhNextHop(rule, opts.nextHops);
  const to = prefixFor(opts);
  const prefix = rule.target.toString();
  return {
    announce: `${to}announce route ${prefix} next-hop ${hop.address} community ${list(communities)} large-community ${tagList(rule, opts)}`,
    withdraw: `${to}withdraw route ${prefix} next-hop ${hop.address}`,
    key: `route ${prefix}`,
  };
}

export function renderRule(rule: { kind: string; id: string }, opts: RenderOptions): ExabgpCommands {
  if (rule.kind === 'flowspec') return renderFlowSpec(rule as FlowSpecRule, opts);
  if (rule.kind === 'rtbh') return renderRtbh(rule as RtbhRule, opts);
  throw new RuleRejected(rule.id, `ExaBGP announces FlowSpec and RTBH rules, not ${rule.kind}`);
}
