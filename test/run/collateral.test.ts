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
    // A target the engine does not see gives no answer.
    view = undefined;
    expect(await probe.legitRate(rule, ['edge'])).to.equal(undefined);
    // Still learning: no baseline, no reference to compare against.
    view = { pps: 5000 };
    expect(await probe.legitRate(rule, [])).to.equal(undefined);
  });

  it('an on-node rule whose mechanism keeps no counters (nullroute, ufw, firewalld, CSF) is never judged; a network rule is judged by what still arrives', async () => {
    const rule = flowspec(50);
    // An on-node action without counters() drops after the interface counters: what arrives says nothing.
    const blind = new MemoryAction('host-blind');
    Object.defineProperty(blind, 'counters', { value: undefined });
    // A network action (FlowSpec at the edge) drops before the victim's counters: what arrives is net of it.
    const edge = new MemoryAction('edge');
    Object.defineProperty(edge, 'counters', { value: undefined });
    const probe = new EngineCollateralProbe(
      () => ({ pps: 300, baselinePps: 4000 }),
      new Map([
        ['host-blind', handle(blind, { name: 'host-blind', reach: 'host' })],
        ['edge', handle(edge)],
      ]),
    );
    expect(await probe.legitRate(rule, ['host-blind']), 'cannot be judged').to.equal(undefined);
    expect(await probe.legitRate(rule, ['edge']), 'what still arrives').to.equal(300);
  });

  it('uses what the rule itself let through (passed) where the mechanism counts it: exact however large the flood', async () => {
    const rule = flowspec(50);
    let now = 1_000_000;
    let counters = { packets: 0, passed: 0 };
    const host = {
      ...new MemoryAction('host-nft'),
      counters: async () => [{ ruleId: rule.id, packets: counters.packets, bytes: 0, passed: counters.passed }],
    } as unknown as MemoryAction;
    // The engine's 1-s window still ramps up just after the rule went in: 300 kpps of a 1 Mpps flood seen so far.
    const probe = new EngineCollateralProbe(
      () => ({ pps: 300_000, baselinePps: 4000 }),
      new Map([['host-nft', handle(host, { name: 'host-nft', reach: 'host' })]]),
      () => now,
    );
    expect(await probe.legitRate(rule, ['host-nft']), 'first reading: no answer yet').to.equal(undefined);
    now += 1000;
    // The rule dropped 1 M packets of the flood and let the 3,900 legitimate ones through in that second: the
    // difference of rates (300 k - 1 M, floored at 0) would call that a collapse; the rule's own count does not.
    counters = { packets: 1_000_000, passed: 3900 };
    expect(await probe.legitRate(rule, ['host-nft'])).to.equal(3900);
    now += 1000;
    counters = { packets: 2_000_000, passed: 3920 };
    expect(await probe.legitRate(rule, ['host-nft']), 'a rule that lets almost nothing through').to.equal(20);
    // A faster check reuses the adapter's last reading: the same instant, so the same rate, never "nothing passed".
    now += 250;
    counters = { packets: 2_500_000, passed: 3925 };
    expect(await probe.legitRate(rule, ['host-nft'])).to.equal(20);
  });
});
