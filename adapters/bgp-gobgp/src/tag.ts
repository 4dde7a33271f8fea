import { isRuleId, type RuleId } from '@ft/sdk';

/**
 * How ft recognises its own announcements. Every path ft adds carries two BGP large communities (RFC 8092) under
 * the configured tag ASN:
 *   <asn>:1718878208:<kind>   marker ("ft" in the high half of local-data-1; kind 1 = FlowSpec, 2 = RTBH)
 *   <asn>:<hi32>:<lo32>       the rule id's 64-bit content hash
 * Large communities are transitive, so a receiving edge (and its enforcer) can name the rule a route came from.
 * Only a path carrying both is ever withdrawn by ft.
 */
export const FT_MARKER = 0x66740000;

export interface LargeCommunity {
  global_admin: number;
  local_data1: number;
  local_data2: number;
}

const KIND_CODE = { fs: 1, bh: 2 } as const;
const KIND_BY_CODE: Record<number, 'fs' | 'bh'> = { 1: 'fs', 2: 'bh' };

export function tagFor(ruleId: RuleId, asn: number): LargeCommunity[] {
  const [kind, hash] = ruleId.split('-') as [string, string];
  const code = KIND_CODE[kind as keyof typeof KIND_CODE];
  if (code === undefined) throw new Error(`rule ${ruleId}: gobgp only announces FlowSpec and RTBH rules`);
  return [
    { global_admin: asn, local_data1: FT_MARKER, local_data2: code },
    { global_admin: asn, local_data1: parseInt(hash.slice(0, 8), 16), local_data2: parseInt(hash.slice(8), 16) },
  ];
}

/** The rule id a path's large communities name, or undefined when it is not ft's (under this ASN). */
export function ruleIdFromTag(communities: readonly LargeCommunity[], asn: number): RuleId | undefined {
  const mine = communities.filter((c) => c.global_admin === asn);
  const marker = mine.find((c) => c.local_data1 === FT_MARKER && KIND_BY_CODE[c.local_data2] !== undefined);
  if (!marker) return undefined;
  const ids = mine.filter((c) => c !== marker);
  if (ids.length !== 1) return undefined;
  const id = ids[0] as LargeCommunity;
  const text = `${KIND_BY_CODE[marker.local_data2]}-${hex8(id.local_data1)}${hex8(id.local_data2)}`;
  return isRuleId(text) ? text : undefined;
}

export function formatLargeCommunity(c: LargeCommunity): string {
  return `${c.global_admin}:${c.local_data1}:${c.local_data2}`;
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
