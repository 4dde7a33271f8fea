import { mergePartials, type TargetPartial } from './window.js';

/**
 * Shortest span a flow Sample's rates are computed over. Exporters report in bursts (a NetFlow active timeout
 * of 1 s, an sFlow agent's datagram filling up), so with sub-second windows one window receives a whole
 * second's records and the next ones none: per-window rates would read ~10× high, then vanish. Rates over at
 * least this span (the newest windows together) stay true; windows still close (and report) every windowMs.
 */
export const MIN_RATE_SPAN_MS = 1000;
/**
 * A window this much shorter than the span still covers it: timers fire a millisecond early or late, and a
 * 999 ms window is not a burst to smooth (merging two windows' tables for it cost more than the whole window's
 * decoding at 100k flows/s). Rates stay exact: they are divided by the span really covered.
 */
const SPAN_TOLERANCE = 0.95;

interface Closed {
  partials: TargetPartial[];
  durationMs: number;
}

/** The newest closed windows covering at least `minSpanMs`, merged into one set of partials. */
export class TrailingWindows {
  private windows: Closed[] = [];

  constructor(readonly minSpanMs = MIN_RATE_SPAN_MS) {}

  /** Adds the window that just closed; returns the merged partials and the span (ms) they cover. */
  push(partials: TargetPartial[], durationMs: number): { partials: TargetPartial[]; spanMs: number } {
    this.windows.push({ partials, durationMs });
    // Keep the fewest newest windows whose durations reach the span (one, when windows are 1 s or longer).
    let spanMs = 0;
    let keep = 0;
    for (let i = this.windows.length - 1; i >= 0 && spanMs < this.minSpanMs * SPAN_TOLERANCE; i--) {
      spanMs += this.windows[i]!.durationMs;
      keep++;
    }
    if (keep < this.windows.length) this.windows.splice(0, this.windows.length - keep);
    const merged = this.windows.length === 1 ? partials : mergePartials(this.windows.map((w) => w.partials));
    return { partials: merged, spanMs };
  }
}
