import type { Incident } from '../model/incident.js';
import { table } from '../cli/table.js';
import type { DetectionEvent, TargetView } from './engine.js';

/** 1234567 → "1.23M"; for rates on a terminal. */
export function si(n: number | undefined, unit = ''): string {
  if (n === undefined) return '-';
  const abs = Math.abs(n);
  const [div, suffix] =
    abs >= 1e12 ? [1e12, 'T'] : abs >= 1e9 ? [1e9, 'G'] : abs >= 1e6 ? [1e6, 'M'] : abs >= 1e3 ? [1e3, 'k'] : [1, ''];
  const v = n / div;
  const text = div === 1 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  return `${text}${suffix}${unit}`;
}

function attack(v: TargetView): string {
  if (!v.alarm) return '-';
  const vec = v.alarm.vector.length > 0 ? `/${v.alarm.vector.join('+')}` : '';
  return `${v.alarm.family}${vec} ${v.alarm.severity}${v.incident ? ` ${v.incident.id}` : ' (no address: no incident)'}`;
}

/** The live table of `ft detect`. */
export function renderView(views: TargetView[]): string {
  if (views.length === 0) return 'No traffic seen yet.';
  return table(
    ['TARGET', 'STATE', 'PPS', 'BPS', 'P99 PPS', 'THRESHOLD', 'SOURCES', 'ATTACK'],
    views.map((v) => {
      const learn =
        v.state === 'learning'
          ? ` ${Math.round((100 * Math.min(v.baseline.samples, v.baseline.window)) / v.baseline.window)}%`
          : '';
      const thr =
        [
          v.threshold.pps !== undefined ? si(v.threshold.pps, 'pps') : '',
          v.threshold.bps !== undefined ? si(v.threshold.bps, 'bps') : '',
        ]
          .filter(Boolean)
          .join(' ') || '-';
      return [
        v.target,
        `${v.state}${learn}`,
        si(v.pps),
        si(v.bps, 'bps'),
        si(v.baseline.pps),
        thr,
        v.sources
          .filter((s) => s.direction === 'in')
          .map((s) => s.source)
          .join(',') || '-',
        attack(v),
      ];
    }),
  );
}

export function describeIncident(i: Incident): string {
  const vec = i.vectors.length > 0 ? ` vector ${i.vectors.join('+')}` : '';
  return `${i.target.toString()} ${i.family}${vec} severity ${i.severity} confidence ${i.confidence} peak ${si(i.peakPps, 'pps')} ${si(i.peakBps, 'bps')} (${i.id})`;
}

export function describeEvent(e: DetectionEvent): string {
  const verb = e.type === 'open' ? 'OPEN   ' : e.type === 'update' ? 'UPDATE ' : 'RESOLVE';
  return `${new Date(e.incident.updatedAt).toISOString()} ${verb} ${describeIncident(e.incident)}`;
}
