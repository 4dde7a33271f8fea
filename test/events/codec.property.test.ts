import { expect } from 'chai';
import fc from 'fast-check';
import { Prefix } from '@ft/sdk';
import {
  EVENT_TYPES,
  EventDecodeError,
  decodeEvent,
  encodeEvent,
  wireEventSchema,
  type FtEvent,
} from '../../core/events/index.js';
import { arbAnyWireEvent, arbWireEvent } from './arbitrary.js';

describe('event codec (property)', () => {
  it('every type: wire → core → wire is the identity, and what encode writes passes the wire schema', () => {
    for (const type of EVENT_TYPES) {
      fc.assert(
        fc.property(arbWireEvent(type), (wire) => {
          const json = JSON.parse(JSON.stringify(wire)) as unknown;
          const event = decodeEvent(json);
          expect(event.type).to.equal(type);
          expect(typeof event.at).to.equal('number');
          const again = encodeEvent(event);
          expect(again).to.deep.equal(json);
          expect(wireEventSchema.safeParse(again).success).to.equal(true);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('core form holds Prefix objects and epoch ms, never their text', () => {
    fc.assert(
      fc.property(arbWireEvent('rule.added'), (wire) => {
        const e = decodeEvent(JSON.parse(JSON.stringify(wire))) as Extract<FtEvent, { type: 'rule.added' }>;
        expect(e.data.target).to.be.instanceOf(Prefix);
        expect(e.data.rule.target).to.be.instanceOf(Prefix);
        expect(e.data.expiresAt).to.be.a('number');
        expect(Object.keys(encodeEvent(e).data)).to.include.members(['rule_id', 'expires_at', 'duration_ms']);
      }),
      { numRuns: 50 },
    );
  });

  it('anything that is not an event is refused with EventDecodeError naming the field, never another error', () => {
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        try {
          decodeEvent(junk, 'input');
        } catch (err) {
          expect(err).to.be.instanceOf(EventDecodeError);
          return;
        }
        expect.fail('junk decoded as an event');
      }),
      { numRuns: 300 },
    );
  });

  it('a valid event with one field broken is refused, and the message says where', () => {
    fc.assert(
      fc.property(
        arbAnyWireEvent,
        fc.constantFrom('seq', 'at', 'type', 'data'),
        fc.oneof(fc.constant(null), fc.constant(-1), fc.constant('x'), fc.constant([])),
        (wire, field, bad) => {
          const broken = { ...(JSON.parse(JSON.stringify(wire)) as Record<string, unknown>), [field]: bad };
          let err: unknown;
          try {
            decodeEvent(broken, 'input');
          } catch (e) {
            err = e;
          }
          expect(err, `${field}=${JSON.stringify(bad)}`).to.be.instanceOf(EventDecodeError);
          expect((err as EventDecodeError).message).to.match(new RegExp(`^input: not an ft event: .*(${field}|type)`));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an unknown field inside data is refused (the schema is the contract: no silent extras)', () => {
    fc.assert(
      fc.property(arbAnyWireEvent, (wire) => {
        const w = JSON.parse(JSON.stringify(wire)) as { data: Record<string, unknown> };
        w.data.surprise = 1;
        expect(() => decodeEvent(w)).to.throw(EventDecodeError, /surprise|Unrecognized/);
      }),
      { numRuns: 100 },
    );
  });
});
