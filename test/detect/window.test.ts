import { expect } from 'chai';
import fc from 'fast-check';
import { SourceWindow, mergeReadings } from '../../core/detect/index.js';
import { sample } from './harness.js';

describe('sliding window of one source', () => {
  it('a constant rate reads as that rate whatever the slicing (100 ms proc slices, 1 s flow samples, jitter)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 20, max: 1500 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 1e7 }),
        (slices, rate) => {
          const w = new SourceWindow('s', 'proc');
          let at = 1_000_000;
          for (const ms of slices) w.push(sample({ pps: rate, bps: rate * 8 }, (at += ms), ms), 1000);
          const r = w.reading(1000)!;
          expect(r.pps).to.be.closeTo(rate, 1e-6 * Math.max(1, rate));
          expect(r.coverageMs).to.be.at.most(1000 + 1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is the time-weighted mean of the newest second: half a second of 10 kpps after quiet reads 5 kpps', () => {
    const w = new SourceWindow('s', 'proc');
    let at = 0;
    for (let i = 0; i < 20; i++) w.push(sample({ pps: 0, bps: 0 }, (at += 100), 100), 1000);
    for (let i = 0; i < 5; i++) w.push(sample({ pps: 10_000, bps: 8e7 }, (at += 100), 100), 1000);
    expect(w.reading(1000)!.pps).to.be.closeTo(5000, 1e-9);
    // A 1 s sample straddling the window edge counts only for its overlap.
    const flow = new SourceWindow('f', 'flow');
    flow.push(sample({ pps: 1000, bps: 0 }, 1000, 1000), 1000);
    flow.push(sample({ pps: 3000, bps: 0 }, 2000, 1000), 1000);
    expect(flow.reading(1000)!.pps).to.equal(3000);
  });

  it('merging: rates are the maximum over sources; breakdowns from the busiest source that has them', () => {
    const a = {
      source: 'proc',
      sourceKind: 'proc',
      at: 0,
      coverageMs: 1000,
      pps: 5000,
      bps: 9e8,
      protocols: { tcp: 0, udp: 5000, icmp: 0, other: 0 },
    };
    const b = {
      source: 'flow',
      sourceKind: 'flow',
      at: 0,
      coverageMs: 1000,
      pps: 8000,
      bps: 4e8,
      topSrcPorts: [{ key: 123, count: 7000 }],
    };
    const m = mergeReadings([a, b]);
    expect([m.pps, m.bps]).to.deep.equal([8000, 9e8]);
    expect(m.protocols).to.deep.equal(a.protocols);
    expect(m.topSrcPorts).to.deep.equal(b.topSrcPorts);
  });
});
