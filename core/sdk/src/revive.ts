import { fromReport, isReport, type Incident } from './incident.js';
import type { Rule } from './model.js';
import { Prefix } from './prefix.js';
import { ruleId } from './rule-id.js';

/**
 * Rules and incidents carry Prefix objects, which JSON turns into text. These bring them back. Rules from outside
 * (a plan file, a control request) must have ids matching their content: an edited rule is refused, not
 * half-trusted. The journal's own records are checksummed and keep their ids as written (`verify: false`): the id
 * is the tag on the router, even if a later ft derived ids differently.
 */
export function reviveRule(json: unknown, where: string, verify = true): Rule {
  const r = structuredClone(json) as Record<string, unknown>;
  const p = (v: unknown) => Prefix.parse(String(v));
  r.target = p(r.target);
  const match = r.match as Record<string, unknown> | undefined;
  if (match) {
    if (match.destination !== undefined) match.destination = p(match.destination);
    if (match.source !== undefined) match.source = p(match.source);
    if (Array.isArray(match.sources)) match.sources = match.sources.map(p);
  }
  const rule = r as unknown as Rule;
  if (!verify) return rule;
  const { id, level: _l, ttlSeconds: _t, ...content } = rule;
  const expected = ruleId(content);
  if (id !== expected)
    throw new Error(`${where}: rule ${String(id)} does not match its content (expected id ${expected})`);
  return rule;
}

/**
 * An incident as a store wrote it (core's model, prefixes as text), or in the reference JSON (what ft stored before
 * the internal model, and what the wire carries): both come back as core's `Incident`.
 */
export function reviveIncident(json: unknown): Incident {
  if (isReport(json)) return fromReport(json);
  const i = structuredClone(json) as Incident & { target: unknown; topSources: { address: unknown; count: number }[] };
  i.target = Prefix.parse(String(i.target));
  i.topSources = (i.topSources ?? []).map((s) => ({ address: Prefix.parse(String(s.address)), count: s.count }));
  return i;
}
