import type { Prefix, Range, RuleId } from '@ft/sdk';
import type { FilterSpec } from '../common/validate.js';

/** ft's root HTB qdisc handle on the shaped interface: everything under f7: is ft's. */
export const ROOT_HANDLE = 'f7:';

/** A class minor per rule, from its id, in 0x100..0xfeff (probing past collisions happens in the action). */
export function preferredMinor(id: RuleId): number {
  return (parseInt(id.slice(3, 7), 16) % 0xfe00) + 0x100;
}

/** A port range as u32 (value, mask) blocks: aligned powers of two covering exactly min..max. */
export function portBlocks(r: Range): { value: number; mask: number }[] {
  const out: { value: number; mask: number }[] = [];
  let lo = r.min;
  while (lo <= r.max) {
    let size = 1;
    while (size < 65536 && lo % (size * 2) === 0 && lo + size * 2 - 1 <= r.max) size *= 2;
    out.push({ value: lo, mask: 0xffff & ~(size - 1) });
    lo += size;
  }
  return out;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Every u32 match (one filter each) for a shape match: sources × sport blocks × dport blocks. */
export function u32Matches(spec: FilterSpec): string[][] {
  const ip = spec.family === 4 ? 'ip' : 'ip6';
  const base = ['match', ip, 'dst', spec.destination.toString()];
  const proto = spec.protocol
    ? [
        'match',
        ip,
        spec.family === 4 ? 'protocol' : 'protocol',
        String({ tcp: 6, udp: 17, icmp: spec.family === 4 ? 1 : 58 }[spec.protocol]),
        '0xff',
      ]
    : [];
  const srcs: string[][] = spec.sources.length
    ? spec.sources.map((s: Prefix) => ['match', ip, 'src', s.toString()])
    : [[]];
  const blocks = (rs: Range[], field: 'sport' | 'dport'): string[][] =>
    rs.length ? rs.flatMap(portBlocks).map((b) => ['match', ip, field, String(b.value), hex(b.mask)]) : [[]];
  const out: string[][] = [];
  for (const s of srcs)
    for (const sp of blocks(spec.sourcePorts, 'sport'))
      for (const dp of blocks(spec.destinationPorts, 'dport')) out.push([...base, ...s, ...proto, ...sp, ...dp]);
  return out;
}

export interface ShapePlan {
  minor: number;
  lines: string[];
}

/** The `tc -batch` lines for one shape rule (the qdisc line only when ft's root is not there yet). */
export function shapeBatch(
  dev: string,
  spec: FilterSpec,
  bitsPerSecond: number,
  minor: number,
  withRoot: boolean,
): string[] {
  const classid = `f7:${minor.toString(16)}`;
  const rate = `${Math.round(bitsPerSecond)}bit`;
  // Burst: 10 ms at the rate, never below one full-size frame, so the class can send at all.
  const burst = Math.max(1600, Math.round(bitsPerSecond / 8 / 100));
  const lines: string[] = [];
  // default 0: traffic no rule classifies leaves unshaped, exactly as before ft came.
  if (withRoot) lines.push(`qdisc add dev ${dev} root handle ${ROOT_HANDLE} htb default 0`);
  lines.push(
    `class add dev ${dev} parent ${ROOT_HANDLE} classid ${classid} htb rate ${rate} ceil ${rate} burst ${burst}`,
  );
  for (const m of u32Matches(spec)) {
    lines.push(
      `filter add dev ${dev} parent ${ROOT_HANDLE} protocol ${spec.family === 4 ? 'ip' : 'ipv6'} prio ${minor} u32 ${m.join(' ')} flowid ${classid}`,
    );
  }
  return lines;
}
