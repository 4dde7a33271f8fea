import type { RouteOwner, RuleId } from '@ft/sdk';
import type { ListedPath, RawPath } from './client.js';
import { taggedRuleId } from './decode.js';
import { OP_MEANING_MASK } from './flowspec-ops.js';
import type { AnyJson, FamilyJson, FamilyName } from './render.js';
import { FAMILIES } from './render.js';

const typeName = (a: AnyJson) => a['@type'].slice(a['@type'].lastIndexOf('.') + 1);

export function familyName(f: FamilyJson): FamilyName | undefined {
  return (Object.keys(FAMILIES) as FamilyName[]).find((n) => FAMILIES[n].afi === f.afi && FAMILIES[n].safi === f.safi);
}

/**
 * A key that is equal for the NLRI ft renders and the one GoBGP lists back: GoBGP sets end-of-list and length bits
 * in FlowSpec operators, fills default fields and sorts components by type.
 */
export function nlriKey(family: FamilyName, nlri: AnyJson): string {
  if (typeName(nlri) === 'IPAddressPrefix') return `${family}|${String(nlri.prefix)}/${Number(nlri.prefix_len)}`;
  const rules = ((nlri.rules ?? []) as AnyJson[]).map((r) =>
    typeName(r) === 'FlowSpecIPPrefix'
      ? [Number(r.type), String(r.prefix), Number(r.prefix_len), Number(r.offset ?? 0)]
      : [
          Number(r.type),
          ...((r.items ?? []) as { op: number; value: number }[]).map(
            (i) => `${Number(i.op) & OP_MEANING_MASK}:${Number(i.value)}`,
          ),
        ],
  );
  rules.sort((a, b) => (a[0] as number) - (b[0] as number));
  return `${family}|${JSON.stringify(rules)}`;
}

export interface IndexedPath {
  id?: RuleId;
  family: FamilyName;
  raw: RawPath;
}

/**
 * What gobgpd's global RIB holds of locally originated paths, by NLRI: one BGP route per NLRI per speaker, so a
 * rule that replaced another with the same match shows up here under that NLRI. Filled from a full ListPath,
 * kept current from our own AddPath/DeletePath and from gobgpd's best-path events, so apply/withdraw need no
 * ListPath (which costs ~0.3 ms per route listed).
 */
export class LocalRibIndex {
  private readonly byKey = new Map<string, IndexedPath>();
  primedAt?: number;

  constructor(
    private readonly tagAsn: number,
    private readonly owner?: RouteOwner,
  ) {}

  reset(): void {
    this.byKey.clear();
    this.primedAt = undefined;
  }

  /** Replaces the whole index with a full listing (all families). */
  prime(paths: readonly ListedPath[]): void {
    this.byKey.clear();
    for (const p of paths) this.observe(p);
    this.primedAt = Date.now();
  }

  /** A path from a listing or a best-path event. Paths learned from neighbors are not ours and are ignored. */
  observe(p: ListedPath): void {
    if (p.isFromExternal || (p.neighborIp !== '' && p.neighborIp !== '<nil>')) return;
    const family = familyName(p.family);
    if (!family) return;
    const key = nlriKey(family, p.nlri);
    if (p.isWithdraw) this.byKey.delete(key);
    else this.byKey.set(key, { id: taggedRuleId(p.pattrs, this.tagAsn, this.owner), family, raw: p.raw });
  }

  get(key: string): IndexedPath | undefined {
    return this.byKey.get(key);
  }

  /**
   * The path at this NLRI when it is not ft's (the operator's own, or another install's): gobgpd holds one local
   * path per NLRI, so announcing there would replace it and ft's later withdrawal would delete it.
   */
  foreignAt(key: string): IndexedPath | undefined {
    const e = this.byKey.get(key);
    return e && !e.id ? e : undefined;
  }

  set(key: string, entry: IndexedPath): void {
    this.byKey.set(key, entry);
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }

  /** Every path carrying this rule id (normally one). */
  byRule(id: RuleId): [string, IndexedPath][] {
    return [...this.byKey].filter(([, e]) => e.id === id);
  }

  ids(): Set<RuleId> {
    return new Set([...this.byKey.values()].flatMap((e) => (e.id ? [e.id] : [])));
  }
}
