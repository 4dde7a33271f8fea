import { expect } from 'chai';
import type { FlowSpecRule } from '@ft/sdk';
import { loop, speakers, TARGET } from './loop.js';

const SPEAKERS = `speakers:
  edge: { adapter: test-speaker }
escalation:
  - { level: 1, when: { bps: ">100Mbps" }, do: { flowspec: { then: rate-limit, rate: 50Mbps } }, via: [edge], ttl: 30s }
  - { level: 2, when: { bps: ">500Mbps" }, do: { flowspec: { then: discard } }, via: [edge], ttl: 30s }
`;

/** What the speaker announces now: level and action of each FlowSpec rule. */
function announced(): { level: number; action: string; target: string }[] {
  const edge = speakers.get('edge');
  return [...(edge?.installed.values() ?? [])]
    .map((r) => r as FlowSpecRule)
    .map((r) => ({ level: r.level, action: r.action.type, target: String(r.target) }))
    .sort((a, b) => a.level - b.level);
}

describe('escalation through the run loop: up at once, down after the cooldown, TTL refreshed while the attack lasts', function () {
  this.timeout(60_000);

  it('escalates to discard, holds it for the cooldown when the attack weakens, then steps down; the TTL never lapses mid-attack', async () => {
    const l = await loop({ policyExtra: SPEAKERS });
    const run = async (seconds: number, pps: number, flood: boolean) => {
      for (let i = 0; i < seconds * 10; i++) await l.step(pps, flood);
    };
    await run(3, 2000, false);
    expect(announced(), 'before the attack').to.deep.equal([]);
    await run(3, 200_000, true); // ~750 Mbps: level 2
    expect(announced()).to.deep.equal([{ level: 2, action: 'discard', target: `${TARGET}/32` }]);

    await run(5, 60_000, true); // ~225 Mbps: level 1 wanted, level 2 held by the 10 s cooldown
    expect(announced()).to.deep.equal([
      { level: 1, action: 'rate-limit', target: `${TARGET}/32` },
      { level: 2, action: 'discard', target: `${TARGET}/32` },
    ]);
    await run(6, 60_000, true); // past the cooldown
    expect(announced()).to.deep.equal([{ level: 1, action: 'rate-limit', target: `${TARGET}/32` }]);

    // 90 s more of the same attack with a 30 s TTL: refreshed, never withdrawn and re-added.
    const before = speakers.get('edge')!.calls.apply;
    await run(90, 60_000, true);
    expect(announced()).to.deep.equal([{ level: 1, action: 'rate-limit', target: `${TARGET}/32` }]);
    expect(speakers.get('edge')!.calls.apply).to.equal(before);
    const live = await l.store.rules();
    expect(Date.parse(live[0]!.expiresAt)).to.be.greaterThan(l.clock.t);

    // Quiet: the incident resolves and the network rule goes (cooldown long passed).
    await run(5, 2000, false);
    const trail = async () =>
      JSON.stringify(
        (await l.store.queryAudit({})).map((r) => [
          r.at,
          r.op,
          r.phase,
          r.rule?.level,
          r.plannedBy,
          r.message ?? (typeof r.reason === 'string' ? r.reason : r.reason?.summary),
        ]),
      );
    expect(announced(), `after the attack: ${await trail()}`).to.deep.equal([]);
    const ops = (await l.store.queryAudit({}))
      .filter((r) => r.phase === 'start' && r.rule?.kind === 'flowspec')
      .map((r) => `${r.op}:${r.rule?.level}:${r.plannedBy}`);
    // The flood's first tick sees only part of it (level 1); the next one escalates, superseding level 1 at once.
    // Make before break both ways: the replacement goes in before the rule it replaces comes out.
    expect(ops).to.deep.equal([
      'add:1:planner',
      'add:2:planner',
      'withdraw:1:planner',
      'add:1:planner',
      'withdraw:2:planner',
      'withdraw:1:planner',
    ]);
    await l.runner.stop('test', 'keep');
    await l.store.close();
  });
});
