import type { FtEvent, Incident } from '@ft/sdk';
import { summarize } from './audit.js';

/** One line per event for a terminal: seq, time, type, then what a NOC reads first. */
export function formatEventLine(e: FtEvent): string {
  return `${String(e.seq).padStart(6)}  ${new Date(e.at).toISOString()}  ${e.type.padEnd(22)}  ${detail(e)}`;
}

function detail(e: FtEvent): string {
  const d = e.data as Record<string, unknown>;
  if (e.type.startsWith('incident.') && 'incident' in d) {
    const i = (e.data as { incident: Incident }).incident;
    const rate = `${fmt(i.bps)}bps ${fmt(i.pps)}pps (peak ${fmt(i.peakBps)}bps)`;
    const vectors = i.vectors.length ? ` ${i.vectors.join('+')}` : '';
    const tail =
      e.type === 'incident.opened' || e.type === 'incident.resolved' ? '' : ` — ${summarize(e).split(':')[0]}`;
    return `${i.id} ${i.family}${vectors} → ${String(i.target)} ${rate}${tail}`;
  }
  if ('ruleId' in d && 'via' in d && 'action' in d) {
    const via = (d.via as string[]).join(',');
    const msg =
      typeof d.message === 'string' ? ` — ${d.message}` : typeof d.reason === 'string' ? ` — ${d.reason}` : '';
    const outcome = typeof d.outcome === 'string' && d.outcome !== 'ok' ? ` [${d.outcome}]` : '';
    const rail = typeof d.rail === 'string' ? ` [${d.rail}]` : '';
    if (typeof d.replacedRuleId === 'string')
      return `${String(d.ruleId)} ${String(d.kind)} ${String(d.target)} L${String(d.level)} ${String(d.action)} via ${via || '-'} — replaces ${d.replacedRuleId} (L${String(d.replacedLevel)} ${String(d.replacedAction)})`;
    return `${String(d.ruleId)} ${String(d.kind)} ${String(d.target)} L${String(d.level)} ${String(d.action)} via ${via || '-'}${outcome}${rail}${msg}`;
  }
  return typeof d.message === 'string' ? d.message : summarize(e);
}

function fmt(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}
