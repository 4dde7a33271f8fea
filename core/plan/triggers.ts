import { SEVERITIES, formatBitrate, formatPacketRate, type Prefix } from '@ft/sdk';
import type { Incident } from '../model/incident.js';
import type { EscalationLevel, Policy, RateThreshold, TargetOverride, Trigger } from '../policy/types.js';

/** What a trigger saw: whether it held and the words that say why. */
export interface TriggerResult {
  holds: boolean;
  /** e.g. "bps 3.2Gbps > 2Gbps" — only the parts that held. */
  because: string[];
}

function crosses(value: number, t: RateThreshold): boolean {
  return t.op === '>' ? value > t.value : value >= t.value;
}

/** The fast check the planner runs for every level on every plan; words are built only for the level chosen. */
export function holds(trigger: Trigger, incident: Incident): boolean {
  if (trigger.bps || trigger.pps) {
    const byBps = trigger.bps !== undefined && crosses(incident.bps, trigger.bps);
    const byPps = trigger.pps !== undefined && crosses(incident.pps, trigger.pps);
    if (!byBps && !byPps) return false;
  }
  if (trigger.family && !trigger.family.includes(incident.family)) return false;
  if (trigger.vector && !incident.vectors.some((v) => trigger.vector?.includes(v))) return false;
  if (trigger.severity && SEVERITIES.indexOf(incident.severity) < SEVERITIES.indexOf(trigger.severity)) return false;
  return true;
}

/**
 * Rates are alternatives (a flood shows in bps or in pps); family, vector and severity must all hold. A trigger
 * with a vector condition holds when the incident carries any of the listed vectors.
 */
export function evaluate(trigger: Trigger, incident: Incident): TriggerResult {
  const because: string[] = [];
  if (trigger.bps || trigger.pps) {
    const rates: string[] = [];
    if (trigger.bps && crosses(incident.bps, trigger.bps))
      rates.push(`bps ${formatBitrate(incident.bps)} ${trigger.bps.op} ${formatBitrate(trigger.bps.value)}`);
    if (trigger.pps && crosses(incident.pps, trigger.pps))
      rates.push(`pps ${formatPacketRate(incident.pps)} ${trigger.pps.op} ${formatPacketRate(trigger.pps.value)}`);
    if (rates.length === 0) return { holds: false, because };
    because.push(...rates);
  }
  if (trigger.family) {
    if (!trigger.family.includes(incident.family)) return { holds: false, because };
    because.push(`family ${incident.family}`);
  }
  if (trigger.vector) {
    const hit = incident.vectors.filter((v) => trigger.vector?.includes(v));
    if (hit.length === 0) return { holds: false, because };
    because.push(`vector ${hit.join('+')}`);
  }
  if (trigger.severity) {
    if (SEVERITIES.indexOf(incident.severity) < SEVERITIES.indexOf(trigger.severity)) return { holds: false, because };
    because.push(`severity ${incident.severity}`);
  }
  return { holds: true, because };
}

const described = new WeakMap<Trigger, string>();

/** "bps > 100Mbps or pps > 50kpps and family syn_flood": a trigger in words (computed once per trigger). */
export function describeTrigger(t: Trigger): string {
  let text = described.get(t);
  if (text === undefined) {
    text = describe(t);
    described.set(t, text);
  }
  return text;
}

function describe(t: Trigger): string {
  const rates = [
    t.bps && `bps ${t.bps.op} ${formatBitrate(t.bps.value)}`,
    t.pps && `pps ${t.pps.op} ${formatPacketRate(t.pps.value)}`,
  ].filter(Boolean);
  const parts: string[] = [];
  if (rates.length) parts.push(rates.join(' or '));
  if (t.family) parts.push(`family ${t.family.join('|')}`);
  if (t.vector) parts.push(`vector ${t.vector.join('|')}`);
  if (t.severity) parts.push(`severity >= ${t.severity}`);
  return parts.join(' and ') || 'always';
}

/** The most specific per-target override containing the target (longest prefix wins). */
export function overrideFor(policy: Policy, target: Prefix): TargetOverride | undefined {
  let best: TargetOverride | undefined;
  for (const t of policy.targets)
    if (t.prefix.contains(target) && (!best || t.prefix.length > best.prefix.length)) best = t;
  return best;
}

export interface LevelChoice {
  level: EscalationLevel;
  trigger: Trigger;
}

/** Every level whose trigger holds for this incident, highest first, honouring the target's override and cap. */
export function holdingLevels(
  policy: Policy,
  incident: Incident,
  override?: TargetOverride,
  ignoreCap = false,
): LevelChoice[] {
  const out: LevelChoice[] = [];
  // Levels are validated to increase down the list: walking it backwards gives highest first.
  for (let i = policy.escalation.length - 1; i >= 0; i--) {
    const level = policy.escalation[i] as EscalationLevel;
    if (!ignoreCap && override?.maxLevel !== undefined && level.level > override.maxLevel) continue;
    const trigger = override?.when.get(level.level) ?? level.when;
    if (holds(trigger, incident)) out.push({ level, trigger });
  }
  return out;
}
