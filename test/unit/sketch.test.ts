// The one distinct-count sketch (@ft/sdk): flow sources per target, HTTP clients per site.
import { expect } from 'chai';
import fc from 'fast-check';
import { DistinctSketch, hash32, mix32 } from '@ft/sdk';

describe('DistinctSketch (HyperLogLog, exact while small)', () => {
  it('is exact up to 64 items, repeats included, for text and for IPv4 values', () => {
    for (const n of [0, 1, 10, 50, 64]) {
      const text = new DistinctSketch();
      const v4 = new DistinctSketch();
      for (let rep = 0; rep < 2; rep++)
        for (let i = 0; i < n; i++) {
          text.add(`10.0.${i >> 8}.${i & 255}`);
          v4.addHash(mix32((10 << 24) | i));
        }
      expect([text.estimate(), v4.estimate()]).to.deep.equal([n, n]);
    }
  });

  it('estimates within 5 % from hundreds to a million, in 2 KiB', () => {
    for (const n of [1000, 20_000, 200_000, 1_000_000]) {
      const d = new DistinctSketch();
      for (let i = 0; i < n; i++) d.add(`2001:db8::${i.toString(16)}`);
      expect(Math.abs(d.estimate() - n) / n, `estimate ${d.estimate()} for ${n}`).to.be.below(0.05);
      expect(d.state().registers!.length).to.equal(2048);
    }
  });

  it('merges shards into the sketch of their union (workers, trailing windows, the hosts of a prefix)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 400 }), { minLength: 1, maxLength: 6 }),
        (shards) => {
          const whole = new DistinctSketch();
          const merged = new DistinctSketch();
          for (const shard of shards) {
            const part = new DistinctSketch();
            for (const x of shard) {
              part.addHash(hash32(`item-${x}`));
              whole.addHash(hash32(`item-${x}`));
            }
            merged.merge(part.state());
          }
          expect(merged.estimate()).to.equal(whole.estimate());
          expect(DistinctSketch.estimateState(DistinctSketch.fromState(merged.state()).state())).to.equal(
            whole.estimate(),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
