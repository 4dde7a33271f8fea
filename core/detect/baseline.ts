import { nearestRankPercentile } from './percentile.js';

export interface BaselineShape {
  /** Samples kept (one per second): 300 in the reference. */
  window: number;
  percentile: number;
  /** The percentile is recomputed after every this many samples, not on each one. */
  recalcEvery: number;
}

/**
 * A per-target dynamic baseline as the reference product defines it: a sliding window of one-per-second readings,
 * its percentile recomputed every `recalcEvery` samples. pps and bps are tracked side by side. Learning lasts until
 * the window has been filled once. Frozen while an incident is open so an attack never teaches the baseline that
 * attacks are normal.
 */
export class Baseline {
  private readonly pps: Float64Array;
  private readonly bps: Float64Array;
  private next = 0;
  private filled = 0;
  private pushed = 0;
  private frozen = false;
  /** The percentile of each dimension as of the last recalculation (0 before the first). */
  ppsLevel = 0;
  bpsLevel = 0;

  constructor(readonly shape: BaselineShape) {
    if (!Number.isInteger(shape.window) || shape.window < 1)
      throw new RangeError(`baseline window must be a positive integer, got ${shape.window}`);
    if (!Number.isInteger(shape.recalcEvery) || shape.recalcEvery < 1)
      throw new RangeError(`baseline recalcEvery must be a positive integer, got ${shape.recalcEvery}`);
    if (!(shape.percentile > 0 && shape.percentile <= 100))
      throw new RangeError(`baseline percentile must be in (0, 100], got ${shape.percentile}`);
    this.pps = new Float64Array(shape.window);
    this.bps = new Float64Array(shape.window);
  }

  /** Adds one per-second reading; ignored while frozen. Returns true when it was recorded. */
  push(pps: number, bps: number): boolean {
    if (this.frozen) return false;
    this.pps[this.next] = pps;
    this.bps[this.next] = bps;
    this.next = (this.next + 1) % this.shape.window;
    this.filled = Math.min(this.filled + 1, this.shape.window);
    this.pushed++;
    if (this.pushed % this.shape.recalcEvery === 0) this.recalculate();
    return true;
  }

  /** True until the first full window has been seen. */
  get learning(): boolean {
    return this.pushed < this.shape.window;
  }

  /** Samples recorded in total (learning progress is min(samples, window) / window). */
  get samples(): number {
    return this.pushed;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
  }

  private recalculate(): void {
    this.ppsLevel = nearestRankPercentile(this.pps.subarray(0, this.filled), this.shape.percentile);
    this.bpsLevel = nearestRankPercentile(this.bps.subarray(0, this.filled), this.shape.percentile);
  }
}
