import {
  isPrefix,
  isRuleId,
  Prefix,
  type HostFilterAction,
  type HostMatch,
  type Range,
  type Rule,
  type RuleId,
  type TcpFlagName,
} from '@ft/sdk';
import { HostRuleError } from './errors.js';

// Names end up as argv elements and inside batch files (iptables-restore, nft -f): a strict charset keeps a
// hostile or mistyped name from becoming a second command or a second rule.
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkName(kind: string, where: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || value === '') throw new HostRuleError(kind, where, 'must be a non-empty name');
  if (value.length > maxLength)
    throw new HostRuleError(kind, where, `${JSON.stringify(value)} is longer than ${maxLength} characters`);
  if (!NAME_RE.test(value) || value === '.' || value === '..') {
    throw new HostRuleError(
      kind,
      where,
      `${JSON.stringify(value)} may only contain letters, digits, '_', '.', '-' (and start with a letter or digit)`,
    );
  }
  return value;
}

/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1). */
export const checkInterface = (kind: string, value: unknown, where = 'interface') => checkName(kind, where, value, 15);
export const checkNetns = (kind: string, value: unknown, where = 'netns') => checkName(kind, where, value, 64);

/** Zod refinement shared by every configSchema: the same rule as checkName, as a schema. */
export const NAME_PATTERN = NAME_RE;

export function checkPrefix(kind: string, where: string, value: unknown): Prefix {
  if (isPrefix(value)) return value;
  if (typeof value === 'string') {
    try {
      return Prefix.parse(value);
    } catch (err) {
      throw new HostRuleError(kind, where, (err as Error).message);
    }
  }
  throw new HostRuleError(kind, where, 'must be an address or prefix');
}

export function checkPort(kind: string, where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new HostRuleError(kind, where, `${JSON.stringify(value)} is not a port (an integer 1-65535)`);
  }
  return value;
}

export function checkRanges(kind: string, where: string, value: unknown): Range[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new HostRuleError(kind, where, 'must be a list of port ranges');
  return value.map((r, i) => {
    const w = `${where}[${i}]`;
    if (typeof r !== 'object' || r === null) throw new HostRuleError(kind, w, 'must be { min, max }');
    const min = checkPort(kind, `${w}.min`, (r as Range).min);
    const max = checkPort(kind, `${w}.max`, (r as Range).max);
    if (min > max) throw new HostRuleError(kind, w, `min ${min} is above max ${max}`);
    return { min, max };
  });
}

export function checkPositiveInt(kind: string, where: string, value: unknown, max = 1e12): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new HostRuleError(kind, where, `${JSON.stringify(value)} must be a positive number up to ${max}`);
  }
  return Math.max(1, Math.round(value));
}

const TCP_FLAGS: readonly TcpFlagName[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'];

/** A host match after validation: what every renderer works from. */
export interface FilterSpec {
  id: RuleId;
  family: 4 | 6;
  destination: Prefix;
  sources: Prefix[];
  protocol?: 'tcp' | 'udp' | 'icmp';
  sourcePorts: Range[];
  destinationPorts: Range[];
  tcpFlags?: { set: TcpFlagName[]; unset: TcpFlagName[] };
}

export interface SpecLimits {
  /** Most source addresses this mechanism takes in one rule (ufw/CSF: one command per address). */
  maxSources?: number;
}

export function checkRuleId(kind: string, value: unknown): RuleId {
  if (typeof value !== 'string' || !isRuleId(value))
    throw new HostRuleError(kind, 'id', `${JSON.stringify(value)} is not an ft rule id`);
  return value;
}

/** Validates a host match completely, so nothing half-valid reaches argv. */
export function checkMatch(
  kind: string,
  id: RuleId,
  match: HostMatch | undefined,
  limits: SpecLimits = {},
): FilterSpec {
  if (typeof match !== 'object' || match === null) throw new HostRuleError(kind, 'match', 'is missing');
  const destination = checkPrefix(kind, 'match.destination', match.destination);
  const family = destination.family;
  const rawSources = match.sources ?? [];
  if (!Array.isArray(rawSources)) throw new HostRuleError(kind, 'match.sources', 'must be a list of prefixes');
  const max = limits.maxSources ?? 1_000_000;
  if (rawSources.length > max)
    throw new HostRuleError(
      kind,
      'match.sources',
      `${rawSources.length} sources exceed this mechanism's limit of ${max}`,
    );
  const sources = rawSources.map((s, i) => {
    const p = checkPrefix(kind, `match.sources[${i}]`, s);
    if (p.family !== family) {
      throw new HostRuleError(
        kind,
        `match.sources[${i}]`,
        `${p.toString()} is IPv${p.family} but the destination ${destination.toString()} is IPv${family}`,
      );
    }
    return p;
  });
  const protocol = match.protocol;
  if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'icmp') {
    throw new HostRuleError(kind, 'match.protocol', `${JSON.stringify(protocol)} is not tcp, udp or icmp`);
  }
  const sourcePorts = checkRanges(kind, 'match.sourcePorts', match.sourcePorts);
  const destinationPorts = checkRanges(kind, 'match.destinationPorts', match.destinationPorts);
  if ((sourcePorts.length || destinationPorts.length) && protocol !== 'tcp' && protocol !== 'udp') {
    throw new HostRuleError(kind, 'match.protocol', 'ports need protocol tcp or udp');
  }
  let tcpFlags: FilterSpec['tcpFlags'];
  if (match.tcpFlags !== undefined) {
    if (protocol !== 'tcp') throw new HostRuleError(kind, 'match.tcpFlags', 'TCP flags need protocol tcp');
    const set = [...(match.tcpFlags.set ?? [])];
    const unset = [...(match.tcpFlags.unset ?? [])];
    for (const f of [...set, ...unset]) {
      if (!TCP_FLAGS.includes(f))
        throw new HostRuleError(kind, 'match.tcpFlags', `${JSON.stringify(f)} is not a TCP flag`);
    }
    if (set.some((f) => unset.includes(f)))
      throw new HostRuleError(kind, 'match.tcpFlags', 'a flag cannot be both set and unset');
    if (set.length + unset.length === 0) throw new HostRuleError(kind, 'match.tcpFlags', 'names no flag');
    tcpFlags = { set, unset };
  }
  const spec: FilterSpec = { id, family, destination, sources, sourcePorts, destinationPorts };
  if (protocol) spec.protocol = protocol;
  if (tcpFlags) spec.tcpFlags = tcpFlags;
  return spec;
}

export function checkFilterAction(kind: string, action: HostFilterAction | undefined): HostFilterAction {
  if (typeof action !== 'object' || action === null) throw new HostRuleError(kind, 'action', 'is missing');
  switch (action.type) {
    case 'drop':
    case 'reject':
    case 'syn-cookies':
      return { type: action.type };
    case 'rate-limit':
      return {
        type: 'rate-limit',
        packetsPerSecond: checkPositiveInt(kind, 'action.packetsPerSecond', action.packetsPerSecond, 1e9),
        burst: checkPositiveInt(kind, 'action.burst', action.burst, 1e7),
      };
    case 'hashlimit':
      if (action.per !== 'source' && action.per !== 'destination')
        throw new HostRuleError(kind, 'action.per', 'must be source or destination');
      return {
        type: 'hashlimit',
        packetsPerSecond: checkPositiveInt(kind, 'action.packetsPerSecond', action.packetsPerSecond, 1e9),
        burst: checkPositiveInt(kind, 'action.burst', action.burst, 1e7),
        per: action.per,
      };
    case 'connlimit':
      return {
        type: 'connlimit',
        maxConnections: checkPositiveInt(kind, 'action.maxConnections', action.maxConnections, 1e7),
      };
    default:
      throw new HostRuleError(
        kind,
        'action.type',
        `${JSON.stringify((action as { type?: unknown }).type)} is not a host-filter action`,
      );
  }
}

/** The rule kinds a mechanism accepts; anything else is refused by name. */
export function expectKind<K extends Rule['kind']>(
  kind: string,
  rule: Rule,
  accepted: readonly K[],
): Extract<Rule, { kind: K }> {
  if (typeof rule !== 'object' || rule === null || !accepted.includes(rule.kind as K)) {
    throw new HostRuleError(
      kind,
      'kind',
      `${JSON.stringify((rule as { kind?: unknown })?.kind)} rules are not handled here (only ${accepted.join(', ')})`,
    );
  }
  return rule as Extract<Rule, { kind: K }>;
}

/** The tag ft writes on every object it can comment (iptables comment, nft comment, ufw comment, CSF comment). */
export const tagOf = (id: RuleId) => `ft:${id}`;
export const TAG_RE = /ft:((?:fs|bh|dv|hf|sh)-[0-9a-f]{16})/;
