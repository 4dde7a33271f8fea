import { expect } from 'chai';
import fc from 'fast-check';
import { Baseline } from '../../core/detect/index.js';
import { Replay } from './harness.js';

// The reference's definition, written out here independently of the engine: keep the last 300 one-second readings,
// recompute the 99th percentile (nearest rank) every 10 readings, fire above 3x it.
function referenceLevel(history: number[], window = 300, recalcEvery = 10, p = 99): number {
  const lastRecalc = Math.floor(history.length / recalcEvery) * recalcEvery;
  if (lastRecalc === 0) return 0;
  const seen = history.slice(Math.max(0, lastRecalc - window), lastRecalc);
  const sorted = [...seen].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
}

describe('detection baseline (reference definition: 300 s window, p99, every 10 readings, 3x)', () => {
  it('p99 of 1..300 is 297: the three largest seconds are ignored', () => {
    const b = new Baseline({ window: 300, percentile: 99, recalcEvery: 10 });
    for (let i = 1; i <= 300; i++) b.push(i, i * 1000);
    expect(b.ppsLevel).to.equal(297);
    expect(b.bpsLevel).to.equal(297_000);
    expect(b.learning).to.equal(false);
  });

  it('is recalculated only every 10 readings, not on each', () => {
    const b = new Baseline({ window: 300, percentile: 99, recalcEvery: 10 });
    for (let i = 0; i < 10; i++) b.push(100, 0);
    expect(b.ppsLevel).to.equal(100);
    for (let i = 0; i < 9; i++) b.push(1_000_000, 0);
    expect(b.ppsLevel, 'nine big readings later, still the old level').to.equal(100);
    b.push(1_000_000, 0);
    expect(b.ppsLevel).to.equal(1_000_000);
  });

  it('slides: readings older than the window stop counting', () => {
    const b = new Baseline({ window: 300, percentile: 99, recalcEvery: 10 });
    for (let i = 0; i < 300; i++) b.push(50_000, 0);
    for (let i = 0; i < 300; i++) b.push(10, 0);
    expect(b.ppsLevel).to.equal(10);
  });

  it('matches the reference on random series (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2_000_000 }), { minLength: 1, maxLength: 700 }), (series) => {
        const b = new Baseline({ window: 300, percentile: 99, recalcEvery: 10 });
        for (const v of series) b.push(v, v * 8);
        expect(b.ppsLevel).to.equal(referenceLevel(series));
        expect(b.bpsLevel).to.equal(referenceLevel(series.map((v) => v * 8)));
        expect(b.learning).to.equal(series.length < 300);
      }),
      { numRuns: 60 },
    );
  });

  it('frozen: readings are ignored until thawed', () => {
    const b = new Baseline({ window: 10, percentile: 99, recalcEvery: 1 });
    for (let i = 0; i < 10; i++) b.push(5, 0);
    b.freeze();
    for (let i = 0; i < 10; i++) expect(b.push(1e9, 0)).to.equal(false);
    expect(b.ppsLevel).to.equal(5);
    b.thaw();
    b.push(1e9, 0);
    expect(b.ppsLevel).to.equal(1e9);
  });

  it('rejects a window or recalculation period that is not a positive integer', () => {
    expect(() => new Baseline({ window: 0, percentile: 99, recalcEvery: 10 })).to.throw(/window/);
    expect(() => new Baseline({ window: 300, percentile: 99, recalcEvery: 0.5 })).to.throw(/recalcEvery/);
    expect(() => new Baseline({ window: 300, percentile: 0, recalcEvery: 10 })).to.throw(/percentile/);
  });

  describe('in the engine, fed one reading per second from 100 ms samples', () => {
    it('the threshold is 3x the reference p99 of the per-second rates, above the floor', () => {
      const r = new Replay({ floor: { pps: 1, bps: 1 } });
      // A daily-ish shape: every second a different rate, a few spikes the p99 must ignore.
      const rate = (s: number) => 2000 + ((s * 7919) % 1000) + (s % 97 === 0 ? 40_000 : 0);
      r.steady(300, rate);
      const seconds = Array.from({ length: 300 }, (_, s) => rate(s));
      const p99 = referenceLevel(seconds);
      const v = r.view()!;
      expect(v.state).to.equal('normal');
      expect(v.baseline.samples).to.equal(300);
      expect(v.baseline.pps).to.equal(p99);
      expect(v.threshold.pps).to.equal(3 * p99);
      expect(r.events, 'spikes inside the learning window fire nothing').to.deep.equal([]);
    });

    it('the threshold never goes below the floor', () => {
      const r = new Replay({ floor: { pps: 20_000, bps: 100e6 } });
      r.steady(300, 100);
      const v = r.view()!;
      expect(v.baseline.pps).to.equal(100);
      expect(v.threshold).to.deep.equal({ pps: 20_000, bps: 100e6 });
      expect(r.run(3000, () => ({ pps: 15_000, bps: 90e6 }))).to.deep.equal([]);
      expect(
        r.run(1000, () => ({ pps: 15_000, bps: 150e6 })).map((e) => e.type),
        'bps over its floor fires on its own',
      ).to.include('open');
    });

    it('learning: 299 s in, a 100x flood opens nothing; with a static threshold it does', () => {
      const quiet = new Replay();
      quiet.steady(299, 2000);
      expect(quiet.view()!.state).to.equal('learning');
      expect(quiet.view()!.threshold).to.deep.equal({});
      expect(quiet.run(500, () => ({ pps: 200_000, bps: 1.6e9 }))).to.deep.equal([]);

      const fixed = new Replay({ static: { pps: 50_000 } });
      fixed.steady(10, 2000);
      expect(fixed.view()!.threshold).to.deep.equal({ pps: 50_000 });
      const ev = fixed.run(1000, () => ({ pps: 200_000, bps: 1.6e9 }));
      expect(ev.map((e) => e.type)).to.include('open');
    });
  });
});
