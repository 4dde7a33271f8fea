import { expect } from 'chai';
import fc from 'fast-check';
import { backoffMs, serverWaitMs } from '../src/index.js';

describe('http-vendor: rate-limit header parsing holds up to hostile values', () => {
  it('serverWaitMs never throws and gives either nothing or a finite, non-negative wait', () => {
    const value = fc.oneof(
      fc.string(),
      fc.constant('9'.repeat(400)),
      fc.stringMatching(/^[0-9]{1,30}$/),
      fc.integer().map(String),
      fc.double().map(String),
      fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
    );
    fc.assert(
      fc.property(
        fc.record({
          'retry-after': fc.option(value),
          ratelimit: fc.option(value),
          'ratelimit-reset': fc.option(value),
          'x-ratelimit-reset': fc.option(value),
        }),
        (h) => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(h)) if (v !== null) headers.set(k, v.replace(/[\r\n\0]/g, ''));
          const ms = serverWaitMs(headers, 1_700_000_000_000);
          expect(ms === undefined || (Number.isFinite(ms) && ms >= 0)).to.equal(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('backoff grows with the attempt, stays within [base·2^n, 1.25·base·2^n] and under the ceiling', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, r) => {
          const max = 30_000;
          const ms = backoffMs(attempt, base, max, () => r);
          const exp = Math.min(max, base * 2 ** attempt);
          expect(ms).to.be.at.least(Math.min(exp, max));
          expect(ms).to.be.at.most(Math.min(max, Math.round(exp * 1.25)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
