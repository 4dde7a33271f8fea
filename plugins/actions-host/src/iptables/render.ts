import type { HostFilterAction, Prefix, Range, RuleId } from '@ft/sdk';
import { HostRuleError } from '../common/errors.js';
import { tagOf, type FilterSpec } from '../common/validate.js';

export type HookChain = 'INPUT' | 'FORWARD';

/** The chains ft owns: one hook chain per built-in chain it is jumped to from, one chain per rule. */
export const hookChainOf = (builtin: string) => `FT-${builtin}`;
export const HOOK_TAG = 'ft';

/** How the selection narrows to sources: one rule line per source (iptables) or one ipset (ipset kind). */
export type SourceSelector = { type: 'lines' } | { type: 'set'; setName: string };

export interface TableLines {
  table: 'filter' | 'raw';
  /** Built-in chain the table's hook chain is jumped to from. */
  builtin: string;
  lines: string[][];
}

/** Per-rule chain: the kind's prefix + the rule id ("FT-hf-0123456789abcdef", 22 characters of the 28 allowed). */
export const ruleChainOf = (prefix: string, id: RuleId) => `${prefix}-${id}`;

/** hashlimit table names are capped at 15 characters; the id's digest keeps them distinct per rule. */
export const hashlimitNameOf = (id: RuleId) => `ft${id.slice(3, 16)}`;

function portArgs(flag: 'sports' | 'dports', ranges: Range[]): string[][] {
  if (ranges.length === 0) return [[]];
  const single = flag === 'sports' ? '--sport' : '--dport';
  const text = (r: Range) => (r.min === r.max ? String(r.min) : `${r.min}:${r.max}`);
  if (ranges.length === 1) return [[single, text(ranges[0] as Range)]];
  // multiport takes at most 15 ports per rule, a range counting as two.
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let used = 0;
  for (const r of ranges) {
    const cost = r.min === r.max ? 1 : 2;
    if (used + cost > 15) {
      chunks.push(chunk);
      chunk = [];
      used = 0;
    }
    chunk.push(text(r));
    used += cost;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks.map((c) => ['-m', 'multiport', `--${flag}`, c.join(',')]);
}

const FLAG = (f: string) => f.toUpperCase();

function tcpFlagArgs(spec: FilterSpec): string[] {
  if (!spec.tcpFlags) return [];
  const mask = [...spec.tcpFlags.set, ...spec.tcpFlags.unset].map(FLAG).join(',');
  const set = spec.tcpFlags.set.length ? spec.tcpFlags.set.map(FLAG).join(',') : 'NONE';
  return ['--tcp-flags', mask, set];
}

/** Every selection line (without the action): destination × source × sport chunk × dport chunk. */
export function selections(spec: FilterSpec, selector: SourceSelector, protocolOverride?: 'tcp'): string[][] {
  const protocol = protocolOverride ?? spec.protocol;
  const base = ['-d', spec.destination.toString()];
  const sourceParts: string[][] =
    selector.type === 'set'
      ? [['-m', 'set', '--match-set', selector.setName, 'src']]
      : spec.sources.length
        ? spec.sources.map((s: Prefix) => ['-s', s.toString()])
        : [[]];
  const proto: string[] = protocol ? ['-p', spec.family === 6 && protocol === 'icmp' ? 'ipv6-icmp' : protocol] : [];
  const flags = protocol === 'tcp' ? tcpFlagArgs(spec) : [];
  const out: string[][] = [];
  for (const src of sourceParts) {
    for (const sp of portArgs('sports', spec.sourcePorts)) {
      for (const dp of portArgs('dports', spec.destinationPorts)) {
        out.push([...src, ...base, ...proto, ...(flags.length ? ['-m', 'tcp', ...flags] : []), ...sp, ...dp]);
      }
    }
  }
  return out;
}

/**
 * Comment of the last line of a rule's filter chain: no target, so it only counts the packets to the rule's
 * destination that went through the rule without being acted on. Read with the rule's own lines at the same
 * instant, it is exactly what the rule let reach its target: the collateral-damage check's measure.
 */
export const PASSED_COMMENT = 'ft-passed';

/** The rule's lines per table: the selection plus the action, as iptables-restore arguments. */
export function ruleLines(
  kind: string,
  spec: FilterSpec,
  action: HostFilterAction,
  selector: SourceSelector,
  builtin: HookChain,
): TableLines[] {
  const tables = actionLines(kind, spec, action, selector, builtin);
  for (const t of tables)
    if (t.table === 'filter')
      t.lines.push(['-d', spec.destination.toString(), '-m', 'comment', '--comment', PASSED_COMMENT]);
  return tables;
}

function actionLines(
  kind: string,
  spec: FilterSpec,
  action: HostFilterAction,
  selector: SourceSelector,
  builtin: HookChain,
): TableLines[] {
  const hname = hashlimitNameOf(spec.id);
  const filter = (lines: string[][]): TableLines => ({ table: 'filter', builtin, lines });
  switch (action.type) {
    case 'drop':
      return [filter(selections(spec, selector).map((s) => [...s, '-j', 'DROP']))];
    case 'reject': {
      const with_ =
        spec.protocol === 'tcp' ? 'tcp-reset' : spec.family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable';
      return [filter(selections(spec, selector).map((s) => [...s, '-j', 'REJECT', '--reject-with', with_]))];
    }
    case 'rate-limit':
      // hashlimit without a mode is one shared bucket for every line of this rule (same table name).
      return [
        filter(
          selections(spec, selector).map((s) => [
            ...s,
            '-m',
            'hashlimit',
            '--hashlimit-above',
            `${action.packetsPerSecond}/sec`,
            '--hashlimit-burst',
            String(action.burst),
            '--hashlimit-name',
            hname,
            '-j',
            'DROP',
          ]),
        ),
      ];
    case 'hashlimit':
      return [
        filter(
          selections(spec, selector).map((s) => [
            ...s,
            '-m',
            'hashlimit',
            '--hashlimit-above',
            `${action.packetsPerSecond}/sec`,
            '--hashlimit-burst',
            String(action.burst),
            '--hashlimit-mode',
            action.per === 'source' ? 'srcip' : 'dstip',
            '--hashlimit-name',
            hname,
            '-j',
            'DROP',
          ]),
        ),
      ];
    case 'connlimit': {
      if (spec.protocol && spec.protocol !== 'tcp')
        throw new HostRuleError(kind, 'action', 'connlimit counts TCP connections: protocol must be tcp or absent');
      const tcpSpec: FilterSpec = {
        ...spec,
        protocol: 'tcp',
        tcpFlags: { set: ['syn'], unset: ['ack', 'rst', 'fin'] },
      };
      const mask = spec.family === 4 ? '32' : '128';
      return [
        filter(
          selections(tcpSpec, selector, 'tcp').map((s) => [
            ...s,
            '-m',
            'connlimit',
            '--connlimit-above',
            String(action.maxConnections),
            '--connlimit-mask',
            mask,
            '-j',
            'REJECT',
            '--reject-with',
            'tcp-reset',
          ]),
        ),
      ];
    }
    case 'syn-cookies': {
      if (spec.protocol && spec.protocol !== 'tcp')
        throw new HostRuleError(kind, 'action', 'SYN cookies apply to TCP: protocol must be tcp or absent');
      // SYNPROXY: SYNs skip conntrack (raw table), the kernel answers them with a cookie and only hands the
      // connection on once the client's ACK proves it real. Needs net.netfilter.nf_conntrack_tcp_loose=0.
      const tcpSpec: FilterSpec = { ...spec, protocol: 'tcp' };
      delete tcpSpec.tcpFlags;
      const syn: FilterSpec = { ...tcpSpec, tcpFlags: { set: ['syn'], unset: ['ack', 'rst', 'fin'] } };
      return [
        {
          table: 'raw',
          builtin: 'PREROUTING',
          lines: selections(syn, selector, 'tcp').map((s) => [...s, '-j', 'CT', '--notrack']),
        },
        filter([
          ...selections(tcpSpec, selector, 'tcp').map((s) => [
            ...s,
            '-m',
            'conntrack',
            '--ctstate',
            'INVALID,UNTRACKED',
            '-j',
            'SYNPROXY',
            '--sack-perm',
            '--timestamp',
            '--wscale',
            '7',
            '--mss',
            '1460',
          ]),
          ...selections(tcpSpec, selector, 'tcp').map((s) => [
            ...s,
            '-m',
            'conntrack',
            '--ctstate',
            'INVALID',
            '-j',
            'DROP',
          ]),
        ]),
      ];
    }
  }
}

export const jumpLine = (hook: string, chain: string, id: RuleId) => [
  '-A',
  hook,
  '-m',
  'comment',
  '--comment',
  tagOf(id),
  '-j',
  chain,
];
export const hookLine = (builtin: string) => [
  '-I',
  builtin,
  '1',
  '-m',
  'comment',
  '--comment',
  HOOK_TAG,
  '-j',
  hookChainOf(builtin),
];

/**
 * The iptables-restore --noflush batch that installs one rule atomically. `haveHooks` lists the hook chains
 * already present (they are created and jumped to from the built-in chain only when missing).
 */
export function installBatch(
  chainPrefix: string,
  id: RuleId,
  tables: TableLines[],
  haveHooks: (table: string, hook: string) => boolean,
): string {
  const chain = ruleChainOf(chainPrefix, id);
  const out: string[] = [];
  for (const t of tables) {
    const hook = hookChainOf(t.builtin);
    out.push(`*${t.table}`);
    if (!haveHooks(t.table, hook)) out.push(`:${hook} - [0:0]`);
    // Declaring the rule chain creates it or, on a retry after a crash, empties it first.
    out.push(`:${chain} - [0:0]`);
    if (!haveHooks(t.table, hook)) out.push(hookLine(t.builtin).join(' '));
    for (const l of t.lines) out.push(['-A', chain, ...l].join(' '));
    out.push(jumpLine(hook, chain, id).join(' '));
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}
