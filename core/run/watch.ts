import { formatBitrate, formatPacketRate } from '@ft/sdk';
import type { Incident } from '../model/incident.js';
import type { Plan } from '../model/plan.js';
import type { Policy } from '../policy/types.js';
import type { TargetView } from '../detect/engine.js';

/**
 * `ft run --watch`: what a human at a terminal needs to see — one compact line per target each second (rates,
 * baseline, threshold, state) and, when an incident opens or its plan changes (escalation, de-escalation), the plan
 * as `ft mitigate preview` prints it. Pure text over a writer: the command decides where it goes (stdout).
 */
export class Watch {
  /** Per incident: what was last printed, so a plan re-made every tick is shown only when it changes. */
  private shown = new Map<string, string>();

  constructor(
    private readonly policy: Policy,
    private readonly write: (text: string) => void,
    private readonly format: (plan: Plan, incident: Incident) => string,
  ) {}

  /** One line per watched target; a line saying so when no detector has reported yet. */
  tick(view: TargetView[], now: Date): void {
    const time = now.toISOString().slice(11, 19);
    if (view.length === 0) {
      this.write(`${time}  (no traffic reported yet)`);
      return;
    }
    for (const t of view) this.write(`${time}  ${targetLine(t)}`);
  }

  plan(incident: Incident, plan: Plan): void {
    const key = signature(plan);
    if (this.shown.get(incident.id) === key) return;
    const first = !this.shown.has(incident.id);
    this.shown.set(incident.id, key);
    const head = `${first ? 'INCIDENT' : 'PLAN CHANGED'} ${incident.id}: ${incident.family} against ${String(incident.target)}`;
    const tail =
      this.policy.mode === 'preview'
        ? 'preview mode: nothing was changed.'
        : 'mode enforce: ft run carries out this plan.';
    this.write(`\n${head}\n${this.format(plan, incident)}\n${tail}\n`);
  }

  resolved(incidentId: string): void {
    if (this.shown.delete(incidentId)) this.write(`RESOLVED ${incidentId}`);
  }
}

export function targetLine(t: TargetView): string {
  const th = [
    t.threshold.pps !== undefined ? formatPacketRate(t.threshold.pps) : undefined,
    t.threshold.bps !== undefined ? formatBitrate(t.threshold.bps) : undefined,
  ]
    .filter(Boolean)
    .join(' / ');
  const baseline = t.baseline.learning
    ? `learning ${t.baseline.samples}/${t.baseline.window}`
    : `${formatPacketRate(t.baseline.pps)} ${formatBitrate(t.baseline.bps)}`;
  const alarm = t.alarm ? ` ${t.alarm.family} ${t.alarm.severity}` : '';
  return [
    t.target.padEnd(20),
    `${formatPacketRate(t.pps).padStart(10)} ${formatBitrate(t.bps).padStart(11)}`,
    `baseline ${baseline}`,
    `threshold ${th || 'none yet'}`,
    `${t.state}${alarm}${t.incident ? ` incident ${t.incident.id}` : ''}`,
  ].join('  ');
}

function signature(plan: Plan): string {
  const levels = plan.ops.map((o) => o.reason.level ?? 0);
  return JSON.stringify([
    Math.max(0, ...levels),
    plan.ops.map((o) => `${o.type}:${o.rule.id}`).sort(),
    plan.refused.length,
  ]);
}
