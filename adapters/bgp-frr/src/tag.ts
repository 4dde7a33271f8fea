import type { RuleId } from '@ft/sdk';

// How ft recognises its own announcements on a speaker shared with other software: two BGP large communities
// (RFC 8092) carry the 64-bit digest of the rule id, under the operator's AS:
//   <tagAsn>:6674001:<first 32 bits of the digest>   <tagAsn>:6674002:<last 32 bits>
// ("6674" is "ft" in ASCII hex.) The route's family tells the kind: FlowSpec → fs-, unicast → bh-.
// ft lists, reconciles and withdraws only routes that carry both; everything else on the speaker is left alone.
// Keep in sync with adapters/bgp-exabgp/src/tag.ts and adapters/bgp-bird/src/tag.ts (each plugin is standalone).

export const TAG_HI = 6674001;
export const TAG_LO = 6674002;

export interface LargeCommunity {
  asn: number;
  data1: number;
  data2: number;
}

export function ruleTags(id: RuleId, tagAsn: number): [LargeCommunity, LargeCommunity] {
  const m = /^(fs|bh)-([0-9a-f]{8})([0-9a-f]{8})$/.exec(id);
  if (!m) throw new Error(`rule id ${JSON.stringify(id)} is not an ft FlowSpec or RTBH rule id`);
  return [
    { asn: tagAsn, data1: TAG_HI, data2: parseInt(m[2] as string, 16) },
    { asn: tagAsn, data1: TAG_LO, data2: parseInt(m[3] as string, 16) },
  ];
}

/** The rule id a route's large communities name, or undefined when the route is not ft's (under this tagAsn). */
export function ruleIdFromTags(kind: 'fs' | 'bh', tags: LargeCommunity[], tagAsn: number): RuleId | undefined {
  const hi = tags.find((t) => t.asn === tagAsn && t.data1 === TAG_HI);
  const lo = tags.find((t) => t.asn === tagAsn && t.data1 === TAG_LO);
  if (!hi || !lo) return undefined;
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  return `${kind}-${hex(hi.data2)}${hex(lo.data2)}` as RuleId;
}

/** Parses "a:b:c" (as printed by ExaBGP, FRR and gobgp) or "(a, b, c)" (BIRD). */
export function parseLargeCommunity(text: string): LargeCommunity | undefined {
  const m = /^\(?\s*(\d+)\s*[:,]\s*(\d+)\s*[:,]\s*(\d+)\s*\)?$/.exec(text.trim());
  if (!m) return undefined;
  const [asn, data1, data2] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if ([asn, data1, data2].some((n) => n > 0xffffffff)) return undefined;
  return { asn, data1, data2 };
}
