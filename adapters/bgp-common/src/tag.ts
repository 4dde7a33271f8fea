import type { RuleId } from '@ft/sdk';

// How ft recognises its own announcements on a speaker shared with other software. Every route ft announces
// carries two BGP large communities (RFC 8092) under the operator's AS (the same scheme in every BGP adapter, so
// a receiving edge or ft's enforcer can name the rule a route came from, whichever speaker sent it):
//   <tagAsn>:1718878208:<kind>   marker: 0x66740000 ("ft"); kind 1 = FlowSpec, 2 = RTBH
//   <tagAsn>:<hi32>:<lo32>       the rule id's 64-bit content hash
// ft lists, reconciles and withdraws only routes that carry both; everything else on the speaker is left alone.

export const FT_MARKER = 0x66740000;
const KIND_CODE = { fs: 1, bh: 2 } as const;
const KIND_BY_CODE: Record<number, 'fs' | 'bh'> = { 1: 'fs', 2: 'bh' };

export interface LargeCommunity {
  asn: number;
  data1: number;
  data2: number;
}

export function ruleTags(id: RuleId, tagAsn: number): [LargeCommunity, LargeCommunity] {
  const m = /^(fs|bh)-([0-9a-f]{8})([0-9a-f]{8})$/.exec(id);
  if (!m) throw new Error(`rule id ${JSON.stringify(id)} is not an ft FlowSpec or RTBH rule id`);
  return [
    { asn: tagAsn, data1: FT_MARKER, data2: KIND_CODE[m[1] as 'fs' | 'bh'] },
    { asn: tagAsn, data1: parseInt(m[2] as string, 16), data2: parseInt(m[3] as string, 16) },
  ];
}

/** The rule id a route's large communities name, or undefined when the route is not ft's (under this tagAsn). */
export function ruleIdFromTags(tags: LargeCommunity[], tagAsn: number): RuleId | undefined {
  const mine = tags.filter((t) => t.asn === tagAsn);
  const marker = mine.find((t) => t.data1 === FT_MARKER && KIND_BY_CODE[t.data2] !== undefined);
  if (!marker) return undefined;
  const ids = mine.filter((t) => t !== marker);
  // Anything else under our ASN makes the route ambiguous: treat it as not ours rather than guess.
  if (ids.length !== 1) return undefined;
  const id = ids[0] as LargeCommunity;
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  return `${KIND_BY_CODE[marker.data2]}-${hex(id.data1)}${hex(id.data2)}` as RuleId;
}

/** Parses "a:b:c" (as printed by ExaBGP, FRR and gobgp) or "(a, b, c)" (BIRD). */
export function parseLargeCommunity(text: string): LargeCommunity | undefined {
  const m = /^\(?\s*(\d+)\s*[:,]\s*(\d+)\s*[:,]\s*(\d+)\s*\)?$/.exec(text.trim());
  if (!m) return undefined;
  const [asn, data1, data2] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if ([asn, data1, data2].some((n) => n > 0xffffffff)) return undefined;
  return { asn, data1, data2 };
}
