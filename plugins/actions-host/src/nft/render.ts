import type { HostFilterAction, Range, RuleId } from '@ft/sdk';
import { HostRuleError } from '../common/errors.js';
import { tagOf, type FilterSpec } from '../common/validate.js';

/** Default name of ft's own table (family inet: one table for IPv4 and IPv6). */
export const TABLE = 'ft';
/** nft identifiers: the rule id with '_' for '-', behind a letter saying what the object is. */
export const nameOf = (letter: 'r' | 'p' | 's' | 'm' | 'c', id: RuleId) => `${letter}_${id.replace('-', '_')}`;
export const idOfName = (name: string): RuleId | undefined => {
  const m = /^[rpsmc]_((?:hf|sh))_([0-9a-f]{16})$/.exec(name);
  return m ? (`${m[1]}-${m[2]}` as RuleId) : undefined;
};

export type NftHook = 'input' | 'forward';

export interface NftRuleParts {
  /** `add set …` lines (sources, meters). */
  sets: string[];
  /** Per base chain: the statements of the rule's own chain. */
  chains: { base: 'input' | 'forward' | 'prerouting'; chain: string; rules: string[] }[];
}

const ranges = (rs: Range[]) =>
  `{ ${rs.map((r) => (r.min === r.max ? String(r.min) : `${r.min}-${r.max}`)).join(', ')} }`;

function selection(spec: FilterSpec, setName: string | undefined, protocolOverride?: 'tcp'): string[] {
  const ip = spec.family === 4 ? 'ip' : 'ip6';
  const parts = [`${ip} daddr ${spec.destination.toString()}`];
  if (setName) parts.push(`${ip} saddr @${setName}`);
  const protocol = protocolOverride ?? spec.protocol;
  if (protocol === 'icmp') parts.push(`meta l4proto ${spec.family === 4 ? 'icmp' : 'ipv6-icmp'}`);
  else if (protocol) parts.push(`meta l4proto ${protocol}`);
  if (protocol === 'tcp' || protocol === 'udp') {
    if (spec.sourcePorts.length) parts.push(`${protocol} sport ${ranges(spec.sourcePorts)}`);
    if (spec.destinationPorts.length) parts.push(`${protocol} dport ${ranges(spec.destinationPorts)}`);
  }
  if (protocol === 'tcp' && spec.tcpFlags) {
    const mask = [...spec.tcpFlags.set, ...spec.tcpFlags.unset].join(' | ');
    parts.push(`tcp flags & (${mask}) == ${spec.tcpFlags.set.length ? spec.tcpFlags.set.join(' | ') : '0x0'}`);
  }
  return parts;
}

/**
 * Comment of the last rule of each rule chain: a bare counter of the packets to the rule's destination that went
 * through the rule without being acted on (for a rate limit: those under it). Read with the rule's own counters at
 * the same instant, it is exactly what the rule let reach its target: the collateral-damage check's measure.
 */
export const PASSED_COMMENT = 'ft passed';

/** Everything one host-filter rule becomes in table inet ft. */
export function nftParts(
  kind: string,
  spec: FilterSpec,
  action: HostFilterAction,
  hook: NftHook,
  table = TABLE,
): NftRuleParts {
  const parts = actionParts(kind, spec, action, hook, table);
  const passed = `${spec.family === 4 ? 'ip' : 'ip6'} daddr ${spec.destination.toString()} counter comment "${PASSED_COMMENT}"`;
  for (const c of parts.chains) if (c.base !== 'prerouting') c.rules.push(passed);
  return parts;
}

function actionParts(
  kind: string,
  spec: FilterSpec,
  action: HostFilterAction,
  hook: NftHook,
  table: string,
): NftRuleParts {
  const ip = spec.family === 4 ? 'ip' : 'ip6';
  const addrType = spec.family === 4 ? 'ipv4_addr' : 'ipv6_addr';
  const sets: string[] = [];
  let srcSet: string | undefined;
  if (spec.sources.length) {
    srcSet = nameOf('s', spec.id);
    const elems = spec.sources.map((s) => (s.isHost ? s.address : s.toString())).join(', ');
    sets.push(
      `add set inet ${table} ${srcSet} { type ${addrType}; flags interval; auto-merge; elements = { ${elems} }; }`,
    );
  }
  const sel = selection(spec, srcSet).join(' ');
  const chain = nameOf('r', spec.id);
  const one = (rules: string[]) => [{ base: hook, chain, rules }];
  switch (action.type) {
    case 'drop':
      return { sets, chains: one([`${sel} counter drop`]) };
    case 'reject':
      return { sets, chains: one([`${sel} counter ${spec.protocol === 'tcp' ? 'reject with tcp reset' : 'reject'}`]) };
    case 'rate-limit':
      return {
        sets,
        chains: one([
          `${sel} limit rate over ${action.packetsPerSecond}/second burst ${action.burst} packets counter drop`,
        ]),
      };
    case 'hashlimit': {
      const meter = nameOf('m', spec.id);
      sets.push(`add set inet ${table} ${meter} { type ${addrType}; flags dynamic; timeout 60s; size 65535; }`);
      const key = `${ip} ${action.per === 'source' ? 'saddr' : 'daddr'}`;
      return {
        sets,
        chains: one([
          `${sel} update @${meter} { ${key} limit rate over ${action.packetsPerSecond}/second burst ${action.burst} packets } counter drop`,
        ]),
      };
    }
    case 'connlimit': {
      if (spec.protocol && spec.protocol !== 'tcp')
        throw new HostRuleError(kind, 'action', 'connlimit counts TCP connections: protocol must be tcp or absent');
      const meter = nameOf('c', spec.id);
      sets.push(`add set inet ${table} ${meter} { type ${addrType}; flags dynamic; size 65535; }`);
      const tcpSel = selection(
        { ...spec, protocol: 'tcp', tcpFlags: { set: ['syn'], unset: ['ack', 'rst', 'fin'] } },
        srcSet,
      ).join(' ');
      return {
        sets,
        chains: one([
          `${tcpSel} ct state new add @${meter} { ${ip} saddr ct count over ${action.maxConnections} } counter reject with tcp reset`,
        ]),
      };
    }
    case 'syn-cookies': {
      if (spec.protocol && spec.protocol !== 'tcp')
        throw new HostRuleError(kind, 'action', 'SYN cookies apply to TCP: protocol must be tcp or absent');
      const plain: FilterSpec = { ...spec, protocol: 'tcp' };
      delete plain.tcpFlags;
      const tcpSel = selection(plain, srcSet).join(' ');
      const synSel = selection({ ...plain, tcpFlags: { set: ['syn'], unset: ['ack', 'rst', 'fin'] } }, srcSet).join(
        ' ',
      );
      return {
        sets,
        chains: [
          { base: 'prerouting', chain: nameOf('p', spec.id), rules: [`${synSel} notrack`] },
          {
            base: hook,
            chain,
            rules: [
              `${tcpSel} ct state invalid,untracked counter synproxy mss 1460 wscale 7 timestamp sack-perm`,
              `${tcpSel} ct state invalid counter drop`,
            ],
          },
        ],
      };
    }
  }
}

/** Base chains are declared with the table: declaring an existing table/chain again is a no-op in nft. */
export function baseChains(hook: NftHook, priority: number, needPrerouting: boolean, table = TABLE): string {
  const lines = [
    `table inet ${table} {`,
    `  chain ${hook} { type filter hook ${hook} priority ${priority}; policy accept; }`,
  ];
  if (needPrerouting) lines.push('  chain prerouting { type filter hook prerouting priority raw; policy accept; }');
  lines.push('}');
  return lines.join('\n');
}

/** The nft -f batch installing one rule: one transaction, all or nothing. */
export function installScript(parts: NftRuleParts, id: RuleId, hook: NftHook, priority: number, table = TABLE): string {
  const out = [
    baseChains(
      hook,
      priority,
      parts.chains.some((c) => c.base === 'prerouting'),
      table,
    ),
    ...parts.sets,
  ];
  for (const c of parts.chains) {
    out.push(`add chain inet ${table} ${c.chain}`);
    for (const r of c.rules) out.push(`add rule inet ${table} ${c.chain} ${r}`);
    out.push(`add rule inet ${table} ${c.base} counter jump ${c.chain} comment "${tagOf(id)}"`);
  }
  return `${out.join('\n')}\n`;
}
