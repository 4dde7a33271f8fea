import { expect } from 'chai';
import { EngineCollateralProbe } from '../../core/run/collateral.js';
import { MemoryAction, flowspec, handle } from '../exec/fixtures.js';

describe("collateral probe: legitimate traffic from the engine view and the rule's own counters", () => {
  it('before the rule: the learnt baseline; after: what reaches the target minus what the rule matched per second', async () => {
    const rule = flowspec(50);
    const edge = new MemoryAction('edge');
    edge.installed.set(rule.id, rule);
    let now = 1_000_000;
    let view: { pps: number; baselinePps?: number } | undefined = { pps: 90_000, baselinePps: 4000 };
    const probe = new EngineCollateralProbe(
      (t) => (t === '203.0.113.50/32' ? view : undefined),
      new Map([['edge', handle(edge)]]),
      () => now,
    );

    expect(await probe.legitRate(rule, [])).to.equal(4000);
    edge.matched.set(rule.id, 1_000_000);
    // First reading after apply: no counter delta yet, so nothing is subtracted (errs toward keeping the rule).
    expect(await probe.legitRate(rule, ['edge'])).to.equal(90_000);
    now += 2000;
    edge.matched.set(rule.id, 1_000_000 + 2 * 86_500); // 86.5 kpps matched over 2 s
    expect(await probe.legitRate(rule, ['edge'])).to.equal(3500);
    // An adapter without counters adds nothing; a target the engine does not see gives no answer.
    expect(await probe.legitRate(rule, ['elsewhere'])).to.equal(90_000);
    view = undefined;
    expect(await probe.legitRate(rule, ['edge'])).to.equal(undefined);
    // Still learning: no baseline, no reference to compare against.
    view = { pps: 5000 };
    expect(await probe.legitRate(rule, [])).to.equal(undefined);
  });
});
