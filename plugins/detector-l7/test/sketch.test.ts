import { expect } from 'chai';
import fc from 'fast-check';
import { TopK } from '../src/sketch.js';

describe('l7 sketches', () => {
  it('TopK keeps every key seen more than n/(capacity+1) times, counting it low by at most that much', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 600 }),
        fc.integer({ min: 1, max: 16 }),
        (keys, capacity) => {
          const t = new TopK(capacity);
          const exact = new Map<string, number>();
          for (const k of keys) {
            t.add(String(k));
            exact.set(String(k), (exact.get(String(k)) ?? 0) + 1);
          }
          const bound = keys.length / (capacity + 1);
          const kept = new Map(t.top(capacity).map((c) => [c.key, c.count]));
          expect(kept.size).to.be.at.most(capacity);
          for (const [k, n] of exact) {
            if (n > bound) expect(kept.has(k), `key ${k} seen ${n} times of ${keys.length}`).to.equal(true);
            const c = kept.get(k);
            if (c !== undefined) expect(c).to.be.within(n - bound, n);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a flooder arriving after the table filled with thousands of one-off clients is still on top', () => {
    const t = new TopK(512);
    for (let i = 0; i < 5000; i++) t.add(`198.51.100.${i % 250}.${i}`);
    for (let i = 0; i < 3000; i++) {
      t.add('203.0.113.66');
      t.add(`192.0.2.${i % 250}.${i}`);
    }
    expect(t.top(1)[0]?.key).to.equal('203.0.113.66');
  });
});
