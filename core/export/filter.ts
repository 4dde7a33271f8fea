import { Prefix, severityAtLeast, type ExportRecord } from '@ft/sdk';
import type { ExportSinkInstance } from '../policy/export.js';

/** Whether a sink's filters (policy: events, severity, tenant, target) let a record through. */
export function sinkReceives(inst: ExportSinkInstance, r: ExportRecord): boolean {
  if (inst.categories || inst.types) {
    if (!inst.categories?.has(r.category) && !inst.types?.has(r.type)) return false;
  }
  if (inst.severity && !severityAtLeast(r.severity, inst.severity)) return false;
  if (inst.tenant && !inst.tenant.includes(r.tenant)) return false;
  if (inst.target && r.target) {
    let p: Prefix;
    try {
      p = Prefix.parse(r.target);
    } catch {
      return false;
    }
    if (!inst.target.some((t) => t.contains(p))) return false;
  }
  return true;
}
