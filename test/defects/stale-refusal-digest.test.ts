import { expect } from 'chai';
import { plan, refusalDigest } from '../../core/plan/index.js';
import { VrpTable, createVerdictProvider } from '../../core/rpki/index.js';
import { NOW, incident, policy } from '../plan/helpers.js';

// With RPKI data past its expire interval, every announcement is refused and the refusal says how old the data
// is. The run loop re-logs refusals whenever their digest changes, and the age changed every second: one log line
// per second for as long as the attack lasted.
describe('run loop refusal log: stale RPKI data is said once, not every second', () => {
  it('plans a second apart against the same stale data give one digest, and the message still gives the age', () => {
    let now = NOW.getTime();
    const rpki = createVerdictProvider({
      table: new VrpTable(),
      dataAgeSeconds: 8000,
      expireSeconds: 7200,
      now: () => now,
    });
    const p = policy();
    const tick = () => plan({ policy: p, incident: incident({ bps: 6e8 }), active: [], now: new Date(now), rpki });
    const first = tick();
    now += 1000;
    const second = tick();
    now += 60_000;
    const third = tick();
    expect(first.refused.map((r) => r.rail)).to.deep.equal(['rpki', 'rpki']);
    expect(first.refused[0]!.message).to.match(/stale \(last End of Data 8000 s ago/);
    expect(second.refused[0]!.message).to.match(/8001 s ago/);
    expect(refusalDigest(second.refused)).to.equal(refusalDigest(first.refused));
    expect(refusalDigest(third.refused)).to.equal(refusalDigest(first.refused));
  });
});
