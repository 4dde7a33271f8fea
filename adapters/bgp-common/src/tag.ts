import type { RouteOwner, RuleId } from '@ft/sdk';

// How ft recognises its own announcements on a speaker shared with other software, and with other ft installs.
// One definition for every BGP adapter (GoBGP maps these fields to its proto names), so a receiving edge or ft's
// enforcer can name the rule a route came from, whichever speaker sent it. Every route ft announces carries three
// BGP large communities (RFC 8092) under the tag ASN (the policy's `asn` unless the adapter sets `tagAsn`):
//   <tagAsn>:<0x66740000 + kind>:<tenant hash>   marker ("ft"), kind 1 = FlowSpec, 2 = RTBH; FNV-1a of the tenant
//   <tagAsn>:1718910976:<install hash>            0x66748000; FNV-1a of the policy's installId ("" by default)
//   <tagAsn>:<hi32>:<lo32>                        the rule id's 64-bit content hash
// An install lists, reconciles and withdraws only routes whose tenant is one of its policy's tenants and whose
// install hash is its own; everything else on the speaker (the operator's routes, another install's) is left alone.
// Routes written by ft before the tenant and install were tagged (two communities: <tagAsn>:1718878208:<kind> and
// the id) are claimed by any install, as they always were, so an upgrade still cleans them up.

export const FT_MARKER = 0x66740000;
export const FT_INSTALL_MARKER = 0x66748000;
const KIND_CODE = { fs: 1, bh: 2 } as const;
const KIND_BY_CODE: Record<number, 'fs' | 'bh'> = { 1: 'fs', 2: 'bh' };

export interface LargeCommunity {
  asn: number;
  data1: number;
  data2: number;
}

/** FNV-1a, 32 bits, over the UTF-8 bytes: stable across versions and platforms (it is on the wire). */
export function ownerHash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function ruleTags(
  id: RuleId,
  tagAsn: number,
  owner: { tenant: string; installId?: string },
): [LargeCommunity, LargeCommunity, LargeCommunity] {
  const m = /^(fs|bh)-([0-9a-f]{8})([0-9a-f]{8})$/.exec(id);
  if (!m) throw new Error(`rule id ${JSON.stringify(id)} is not an ft FlowSpec or RTBH rule id`);
  return [
    { asn: tagAsn, data1: FT_MARKER + KIND_CODE[m[1] as 'fs' | 'bh'], data2: ownerHash(owner.tenant) },
    { asn: tagAsn, data1: FT_INSTALL_MARKER, data2: ownerHash(owner.installId ?? '') },
    { asn: tagAsn, data1: parseInt(m[2] as string, 16), data2: parseInt(m[3] as string, 16) },
  ];
}

/** What an ft tag says: the rule, and (tags written since tenants were tagged) whose it is. */
export interface FtTag {
  ruleId: RuleId;
  /** Absent on a route tagged before tenant and install were. */
  owner?: { tenantHash: number; installHash: number };
}

const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
const idOf = (kind: 'fs' | 'bh', c: LargeCommunity) => `${kind}-${hex(c.data1)}${hex(c.data2)}` as RuleId;

/**
 * Every reading of a route's communities under tagAsn as an ft tag. Normally one; a rule id whose high half
 * happens to equal a marker can be read two ways, which the owner then decides. Anything else under the tag ASN
 * makes the route ambiguous: not ft's rather than a guess.
 */
function readings(tags: readonly LargeCommunity[], tagAsn: number): FtTag[] {
  const mine = tags.filter((t) => t.asn === tagAsn);
  if (mine.length === 2) {
    const out: FtTag[] = [];
    for (let i = 0; i < 2; i++) {
      const marker = mine[i] as LargeCommunity;
      const kind = marker.data1 === FT_MARKER ? KIND_BY_CODE[marker.data2] : undefined;
      if (kind) out.push({ ruleId: idOf(kind, mine[1 - i] as LargeCommunity) });
    }
    return out;
  }
  if (mine.length !== 3) return [];
  const out: FtTag[] = [];
  for (let m = 0; m < 3; m++) {
    const kind = KIND_BY_CODE[((mine[m] as LargeCommunity).data1 - FT_MARKER) >>> 0];
    if (!kind) continue;
    for (let i = 0; i < 3; i++) {
      if (i === m || (mine[i] as LargeCommunity).data1 !== FT_INSTALL_MARKER) continue;
      const id = mine[3 - m - i] as LargeCommunity;
      out.push({
        ruleId: idOf(kind, id),
        owner: { tenantHash: (mine[m] as LargeCommunity).data2, installHash: (mine[i] as LargeCommunity).data2 },
      });
    }
  }
  return out;
}

/** The ft tag on a route, whoever's it is; undefined when it carries none (or one that reads two ways). */
export function readTag(tags: readonly LargeCommunity[], tagAsn: number): FtTag | undefined {
  const r = readings(tags, tagAsn);
  return r.length === 1 ? r[0] : undefined;
}

/** True when the tag is this owner's (any ft tag without an owner to compare with, and every pre-owner tag). */
export function ownedBy(tag: FtTag, owner: RouteOwner | undefined): boolean {
  if (!owner || !tag.owner) return true;
  return (
    tag.owner.installHash === ownerHash(owner.installId) &&
    owner.tenants.some((t) => ownerHash(t) === tag.owner?.tenantHash)
  );
}

/** The rule id a route's large communities name when the route is this owner's (any ft route without an owner). */
export function ruleIdFromTags(
  tags: readonly LargeCommunity[],
  tagAsn: number,
  owner?: RouteOwner,
): RuleId | undefined {
  const ours = readings(tags, tagAsn).filter((t) => ownedBy(t, owner));
  return ours.length === 1 ? ours[0]?.ruleId : undefined;
}

/** Parses "a:b:c" (as printed by ExaBGP, FRR and gobgp) or "(a, b, c)" (BIRD). */
export function parseLargeCommunity(text: string): LargeCommunity | undefined {
  const m = /^\(?\s*(\d+)\s*[:,]\s*(\d+)\s*[:,]\s*(\d+)\s*\)?$/.exec(text.trim());
  if (!m) return undefined;
  const [asn, data1, data2] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if ([asn, data1, data2].some((n) => n > 0xffffffff)) return undefined;
  return { asn, data1, data2 };
}

export function formatLargeCommunity(c: LargeCommunity): string {
  return `${c.asn}:${c.data1}:${c.data2}`;
}
