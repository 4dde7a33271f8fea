import type { TargetView } from '../detect/engine.js';
import { draft, type EventAppender } from '../events/log.js';

interface Acc {
  target: string;
  prefix?: string;
  sumPps: number;
  sumBps: number;
  peakPps: number;
  peakBps: number;
  readings: number;
  last: TargetView;
}

/**
 * Per-target traffic summaries for export: the daemon calls `tick()` every second; each tick reads the engine's
 * merged per-target view, and once per interval one `traffic.summary` event carries every target's average and
 * peak over it (not every 100 ms window: a SIEM wants a time series it can afford to keep).
 */
export class TrafficSummarizer {
  private acc = new Map<string, Acc>();
  private from: number;
  private writing?: Promise<void>;

  constructor(
    private readonly o: {
      view: () => TargetView[];
      intervalMs: number;
      events: EventAppender;
      onError?: (err: Error) => void;
      now?: () => number;
    },
  ) {
    this.from = (o.now ?? Date.now)();
  }

  tick(): void {
    const now = (this.o.now ?? Date.now)();
    for (const v of this.o.view()) {
      if (v.sources.length === 0) continue;
      let a = this.acc.get(v.target);
      if (!a) {
        a = {
          target: v.target,
          ...(v.prefix ? { prefix: v.prefix } : {}),
          sumPps: 0,
          sumBps: 0,
          peakPps: 0,
          peakBps: 0,
          readings: 0,
          last: v,
        };
        this.acc.set(v.target, a);
      }
      a.sumPps += v.pps;
      a.sumBps += v.bps;
      a.peakPps = Math.max(a.peakPps, v.pps);
      a.peakBps = Math.max(a.peakBps, v.bps);
      a.readings++;
      a.last = v;
    }
    if (now - this.from >= this.o.intervalMs) this.flush(now);
  }

  /** Writes the summary of the interval so far (also at shutdown). */
  flush(now = (this.o.now ?? Date.now)()): void {
    const targets = [...this.acc.values()].map((a) => ({
      target: a.target,
      ...(a.prefix ? { prefix: a.prefix } : {}),
      state: a.last.state,
      pps: a.sumPps / a.readings,
      bps: a.sumBps / a.readings,
      peakPps: a.peakPps,
      peakBps: a.peakBps,
      ...(a.last.baseline.learning ? {} : { baselinePps: a.last.baseline.pps, baselineBps: a.last.baseline.bps }),
      readings: a.readings,
      ...(a.last.incident ? { incidentId: a.last.incident.id } : {}),
      ...(a.last.alarm ? { attackFamily: a.last.alarm.family, severity: a.last.alarm.severity } : {}),
    }));
    const from = this.from;
    this.from = now;
    this.acc = new Map();
    if (targets.length === 0) return;
    const d = draft('traffic.summary', { intervalMs: now - from, from, to: now, targets });
    const w = this.o.events.append([d]).then(
      () => undefined,
      (err: Error) => this.o.onError?.(err),
    );
    this.writing = (this.writing ?? Promise.resolve()).then(() => w);
  }

  async idle(): Promise<void> {
    await this.writing;
  }
}
