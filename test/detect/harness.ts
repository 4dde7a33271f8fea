import { Prefix, type Sample } from '@ft/sdk';
import { DEFAULT_DETECTION, type DetectionSettings } from '../../core/model/detection.js';
import { DetectionEngine, type DetectionEvent } from '../../core/detect/index.js';

/** A DetectionEngine on a virtual clock, fed like the proc detector feeds it: one sample per 100 ms tick. */
export class Replay {
  now = Date.UTC(2026, 0, 1, 12);
  readonly engine: DetectionEngine;
  readonly events: DetectionEvent[] = [];
  readonly settings: DetectionSettings;

  constructor(settings: Partial<DetectionSettings> = {}) {
    this.settings = { ...DEFAULT_DETECTION, ...settings };
    this.engine = new DetectionEngine({ settings: this.settings, clock: () => this.now });
  }

  /** Advances `ms` in tick steps; `make(t)` gives the sample(s) of each step (t = ms since the call). */
  run(
    ms: number,
    make: (t: number) => Partial<Sample> | Partial<Sample>[] | undefined,
    target = '203.0.113.10',
  ): DetectionEvent[] {
    const step = this.settings.tickMs;
    const out: DetectionEvent[] = [];
    for (let t = step; t <= ms; t += step) {
      this.now += step;
      const made = make(t);
      for (const m of made === undefined ? [] : Array.isArray(made) ? made : [made])
        this.engine.ingest(sample(m, this.now, step, target));
      const evs = this.engine.tick(this.now);
      out.push(...evs);
      this.events.push(...evs);
    }
    return out;
  }

  /** Steady traffic for `seconds` (e.g. to fill the baseline window). */
  steady(
    seconds: number,
    pps: number | ((second: number) => number),
    extra: Partial<Sample> = {},
    target?: string,
  ): void {
    this.run(
      seconds * 1000,
      (t) => {
        const v = typeof pps === 'function' ? pps(Math.ceil(t / 1000) - 1) : pps;
        return { pps: v, bps: v * 8000, ...extra };
      },
      target,
    );
  }

  view(target = '203.0.113.10/32') {
    return this.engine.view().find((v) => v.target === target);
  }
}

export function sample(partial: Partial<Sample>, at: number, windowMs: number, target = '203.0.113.10'): Sample {
  const prefix = Prefix.parse(target.replace(/^if:.*/, '') || '0.0.0.0/32');
  const s: Sample = {
    source: 'proc-a',
    sourceKind: 'proc',
    target: target.startsWith('if:') ? target : prefix.toString(),
    at,
    windowMs,
    direction: 'in',
    pps: 0,
    bps: 0,
    ...partial,
  };
  if (!target.startsWith('if:') && !('prefix' in partial)) s.prefix = prefix;
  return s;
}

/** Opens after the first event of a type, for latency assertions in virtual time. */
export function first(events: DetectionEvent[], type: DetectionEvent['type']): DetectionEvent | undefined {
  return events.find((e) => e.type === type);
}
