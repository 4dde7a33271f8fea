import type { RouteOwner, RuleId } from '@ft/sdk';
import { ruleIdFromTags, ruleTags, type LargeCommunity as Tag } from '@ft/bgp-common/tag';

// ft's ownership tag is defined once, in @ft/bgp-common/tag (layout, owner, legacy tags). This maps it to GoBGP's
// LargeCommunity message, whose fields are named global_admin / local_data1 / local_data2.
export { FT_MARKER, FT_INSTALL_MARKER, ownerHash } from '@ft/bgp-common/tag';

export interface LargeCommunity {
  global_admin: number;
  local_data1: number;
  local_data2: number;
}

const toProto = (t: Tag): LargeCommunity => ({ global_admin: t.asn, local_data1: t.data1, local_data2: t.data2 });
const fromProto = (c: LargeCommunity): Tag => ({
  asn: Number(c.global_admin),
  data1: Number(c.local_data1),
  data2: Number(c.local_data2),
});

/** The large communities that tag a rule's path: the rule's tenant and the install id name its owner. */
export function tagFor(
  rule: { id: RuleId; kind: string; tenant: string },
  asn: number,
  installId = '',
): LargeCommunity[] {
  if (rule.kind !== 'flowspec' && rule.kind !== 'rtbh')
    throw new Error(`rule ${rule.id}: gobgp only announces FlowSpec and RTBH rules`);
  return ruleTags(rule.id, asn, { tenant: rule.tenant, installId }).map(toProto);
}

/** The rule id a path's large communities name, when the path is `owner`'s (any ft path without an owner). */
export function ruleIdFromTag(
  communities: readonly LargeCommunity[],
  asn: number,
  owner?: RouteOwner,
): RuleId | undefined {
  return ruleIdFromTags(communities.map(fromProto), asn, owner);
}

export function formatLargeCommunity(c: LargeCommunity): string {
  return `${c.global_admin}:${c.local_data1}:${c.local_data2}`;
}
