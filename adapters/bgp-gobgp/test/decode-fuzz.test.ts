import { expect } from 'chai';
import fc from 'fast-check';
import { ComponentDecodeError, decodeFlowSpec } from '../src/decode.js';
import { itemsToFragments, itemsToRanges, itemsToTcpFlags } from '../src/flowspec-ops.js';
import { TYPE_PREFIX, type AnyJson } from '../src/render.js';

// What a peer may send: any operator byte, any value, any component type, any prefix text.
const item = fc.record({
  op: fc.integer({ min: 0, max: 255 }),
  value: fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constant(2 ** 40)),
});
const component: fc.Arbitrary<AnyJson> = fc.oneof(
  fc
    .record({ type: fc.integer({ min: 0, max: 20 }), items: fc.array(item, { maxLength: 6 }) })
    .map((c) => ({ '@type': `${TYPE_PREFIX}FlowSpecComponent`, ...c })),
  fc
    .record({
      type: fc.integer({ min: 0, max: 3 }),
      prefix: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()),
      prefix_len: fc.integer({ min: 0, max: 200 }),
      offset: fc.integer({ min: 0, max: 3 }),
    })
    .map((c) => ({ '@type': `${TYPE_PREFIX}FlowSpecIPPrefix`, ...c })),
);

describe('FlowSpec decoding of hostile routes (fuzz)', () => {
  it('numeric operators always decode to sorted ranges inside the field, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), fc.constantFrom(63, 255, 65535), (items, max) => {
        const ranges = itemsToRanges(items, max);
        for (const [i, r] of ranges.entries()) {
          expect(r.min).to.be.within(0, max);
          expect(r.max).to.be.within(r.min, max);
          if (i > 0) expect(r.min).to.be.above((ranges[i - 1]?.max ?? -2) + 1);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('bitmask components decode or refuse with ComponentDecodeError, never another error', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), (items) => {
        for (const f of [itemsToTcpFlags, itemsToFragments]) {
          try {
            f(items);
          } catch (err) {
            expect(err).to.be.instanceOf(ComponentDecodeError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('whole NLRIs decode or refuse with ComponentDecodeError (the enforcer skips those and keeps going)', () => {
    fc.assert(
      fc.property(fc.array(component, { maxLength: 6 }), (rules) => {
        try {
          const d = decodeFlowSpec({ '@type': `${TYPE_PREFIX}FlowSpecNLRI`, rules }, []);
          expect(d.match.destination).to.not.equal(undefined);
        } catch (err) {
          expect(err, String(err)).to.be.instanceOf(ComponentDecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
