import { severityRank, type AlertMessage } from '@ft/sdk';
import type { AlertRoute, AlertsPolicy } from '../policy/alerts.js';
import { alertTarget } from './message.js';

/** Whether one route lets a message through: every condition it gives must hold. */
export function routeMatches(r: AlertRoute, m: AlertMessage): boolean {
  if (r.kinds && !r.kinds.has(m.kind)) return false;
  if (r.severity && severityRank(m.severity) < severityRank(r.severity)) return false;
  if (r.family && !(m.incident && r.family.includes(m.incident.family as never))) return false;
  if (r.tenant && !r.tenant.includes(m.tenant)) return false;
  if (r.target) {
    const t = alertTarget(m);
    if (!t || !r.target.some((p) => p.contains(t))) return false;
  }
  if (r.pop && !r.pop.some((p) => m.pops.includes(p) || p === m.node)) return false;
  return true;
}

/** Whether a channel hears a message: some route naming it matches (every channel, without routes). */
export function channelHears(alerts: AlertsPolicy, channel: string, m: AlertMessage): boolean {
  if (alerts.implicitRoute) return true;
  return alerts.routes.some((r) => r.to.includes(channel) && routeMatches(r, m));
}
