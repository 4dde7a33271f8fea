import type { Fragment, Range, TcpFlagName } from '@ft/sdk';

// RFC 8955 §4.2.1 operator bytes. GoBGP fills the end-of-list (0x80) and length (0x30) bits itself on input and
// returns them set on output, so only these bits carry meaning for us.
export const OP_AND = 0x40;
export const OP_LT = 0x04;
export const OP_GT = 0x02;
export const OP_EQ = 0x01;
export const OP_NOT = 0x02;
export const OP_MATCH = 0x01;
export const OP_MEANING_MASK = 0x47;

export interface ComponentItem {
  op: number;
  value: number;
}

/** Component type codes (RFC 8955 §4.2.2; RFC 8956 reuses them, type 3 meaning next header). */
export const COMPONENT = {
  destination: 1,
  source: 2,
  protocol: 3,
  port: 4,
  destinationPort: 5,
  sourcePort: 6,
  icmpType: 7,
  icmpCode: 8,
  tcpFlags: 9,
  packetLength: 10,
  dscp: 11,
  fragment: 12,
} as const;

export const TCP_FLAG_BITS: Record<TcpFlagName, number> = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ece: 0x40,
  cwr: 0x80,
};

export const FRAGMENT_BITS: Record<Fragment, number> = {
  'dont-fragment': 0x01,
  'is-fragment': 0x02,
  'first-fragment': 0x04,
  'last-fragment': 0x08,
};

/** Ranges are ORed; within one range the two bounds are ANDed. */
export function rangesToItems(ranges: readonly Range[]): ComponentItem[] {
  const items: ComponentItem[] = [];
  for (const r of ranges) {
    if (r.min === r.max) items.push({ op: OP_EQ, value: r.min });
    else {
      items.push({ op: OP_GT | OP_EQ, value: r.min });
      items.push({ op: OP_AND | OP_LT | OP_EQ, value: r.max });
    }
  }
  return items;
}

export function valuesToItems(values: readonly number[]): ComponentItem[] {
  return values.map((value) => ({ op: OP_EQ, value }));
}

/** Every flag in `set` present and none of `unset`: a match item and a NOT item without match bit. */
export function tcpFlagsToItems(flags: {
  set: readonly TcpFlagName[];
  unset: readonly TcpFlagName[];
}): ComponentItem[] {
  const bits = (names: readonly TcpFlagName[]) => names.reduce((acc, n) => acc | TCP_FLAG_BITS[n], 0);
  const items: ComponentItem[] = [];
  if (flags.set.length > 0) items.push({ op: OP_MATCH, value: bits(flags.set) });
  if (flags.unset.length > 0) items.push({ op: (items.length > 0 ? OP_AND : 0) | OP_NOT, value: bits(flags.unset) });
  return items;
}

/** Any of the listed fragment states (ORed, each "any of these bits set"). */
export function fragmentsToItems(fragments: readonly Fragment[]): ComponentItem[] {
  return fragments.map((f) => ({ op: 0, value: FRAGMENT_BITS[f] }));
}

/** Splits an item list into its ORed groups of ANDed items. */
function conjunctions(items: readonly ComponentItem[]): ComponentItem[][] {
  const groups: ComponentItem[][] = [];
  for (const item of items) {
    const op = item.op & OP_MEANING_MASK;
    if ((op & OP_AND) !== 0 && groups.length > 0)
      (groups[groups.length - 1] as ComponentItem[]).push({ op, value: item.value });
    else groups.push([{ op: op & ~OP_AND, value: item.value }]);
  }
  return groups;
}

export class ComponentDecodeError extends Error {}

/**
 * Numeric items back to inclusive ranges over [0, max]. Handles every comparison RFC 8955 allows (including
 * "!=", which becomes two ranges, and "false"/"true"), because the enforcer reads routes other controllers sent.
 */
export function itemsToRanges(items: readonly ComponentItem[], max: number): Range[] {
  const out: Range[] = [];
  for (const group of conjunctions(items)) {
    let pieces: Range[] = [{ min: 0, max }];
    for (const { op, value } of group) {
      const cmp = op & (OP_LT | OP_GT | OP_EQ);
      const allowed: Range[] = [];
      if (cmp & OP_LT && value > 0) allowed.push({ min: 0, max: Math.min(max, value - 1) });
      if (cmp & OP_EQ && value <= max) allowed.push({ min: value, max: value });
      if (cmp & OP_GT && value < max) allowed.push({ min: value + 1, max });
      if (cmp === (OP_LT | OP_GT | OP_EQ)) allowed.splice(0, allowed.length, { min: 0, max });
      pieces = intersect(pieces, allowed);
    }
    out.push(...pieces);
  }
  return mergeRanges(out);
}

function intersect(a: Range[], b: Range[]): Range[] {
  const out: Range[] = [];
  for (const x of a)
    for (const y of b) {
      const min = Math.max(x.min, y.min);
      const maxV = Math.min(x.max, y.max);
      if (min <= maxV) out.push({ min, max: maxV });
    }
  return out;
}

export function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((x, y) => x.min - y.min);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.min <= last.max + 1) last.max = Math.max(last.max, r.max);
    else out.push({ ...r });
  }
  return out;
}

/** Values (protocols, ICMP types, DSCP) when every range is a single value or small enough to list. */
export function rangesToValues(ranges: Range[]): number[] {
  const out: number[] = [];
  for (const r of ranges) for (let v = r.min; v <= r.max; v++) out.push(v);
  return out;
}

export function itemsToTcpFlags(items: readonly ComponentItem[]): { set: TcpFlagName[]; unset: TcpFlagName[] } {
  const groups = conjunctions(items);
  if (groups.length !== 1)
    throw new ComponentDecodeError('tcp-flags with OR alternatives cannot be expressed as set/unset');
  const set: TcpFlagName[] = [];
  const unset: TcpFlagName[] = [];
  const names = (bits: number) =>
    (Object.keys(TCP_FLAG_BITS) as TcpFlagName[]).filter((n) => (bits & TCP_FLAG_BITS[n]) !== 0);
  for (const { op, value } of groups[0] as ComponentItem[]) {
    const not = (op & OP_NOT) !== 0;
    const match = (op & OP_MATCH) !== 0;
    const flags = names(value);
    if (!not && match) set.push(...flags);
    else if (not && !match) unset.push(...flags);
    else if (!not && !match && flags.length === 1) set.push(...flags);
    else if (not && match && flags.length === 1) unset.push(...flags);
    else
      throw new ComponentDecodeError(`tcp-flags operator 0x${op.toString(16)} on ${flags.join('|')} is not supported`);
  }
  return { set: [...new Set(set)], unset: [...new Set(unset)] };
}

export function itemsToFragments(items: readonly ComponentItem[]): Fragment[] {
  const out: Fragment[] = [];
  for (const group of conjunctions(items)) {
    if (group.length !== 1 || ((group[0] as ComponentItem).op & OP_NOT) !== 0) {
      throw new ComponentDecodeError('fragment with AND or NOT is not supported');
    }
    const value = (group[0] as ComponentItem).value;
    for (const [name, bit] of Object.entries(FRAGMENT_BITS) as [Fragment, number][]) if (value & bit) out.push(name);
  }
  return [...new Set(out)];
}
