import { expect } from 'chai';
import { plan, refusalDigest } from '../../core/plan/index.js';
import { NOW, incident, policy, testRpki } from './helpers.js';

describe('planner: refusal digest (what the run loop logs once per change, not every tick)', () => {
  const p = policy();
  const tick = (target: string, bps: number, seconds: number) =>
    plan({
      policy: p,
      incident: incident({ bps, target }),
      active: [],
      now: new Date(NOW.getTime() + seconds * 1000),
      rpki: testRpki(),
    });

  it('a /24 covering a never-target refused tick after tick, at other rates, gives the same digest', () => {
    const first = tick('203.0.113.0/24', 800e6, 0);
    const later = tick('203.0.113.0/24', 3e9, 7);
    expect(first.refused.map((r) => r.rail)).to.deep.equal(['never-target']);
    expect(refusalDigest(later.refused)).to.equal(refusalDigest(first.refused));
  });

  it('changes when the refusal changes, and is empty when nothing is refused', () => {
    const never = refusalDigest(tick('203.0.113.0/24', 800e6, 0).refused);
    const outside = refusalDigest(tick('198.51.100.10', 800e6, 1).refused);
    expect(outside).to.not.equal(never);
    expect(refusalDigest(tick('203.0.113.10', 800e6, 2).refused)).to.equal('');
  });

  it('does not depend on the order refusals come in', () => {
    const a = { rail: 'rpki', message: 'x' };
    const b = { rail: 'cap', message: 'y' };
    expect(refusalDigest([a, b])).to.equal(refusalDigest([b, a]));
  });
});
