import { expect } from 'chai';
import type { FlowSpecRule } from '@ft/sdk';
import { encodeEvent, wireEventSchema, type EventOf, type FtEvent } from '../../core/events/index.js';
import { loop, speakers } from '../run/loop.js';
import { allEvents } from './fixtures.js';

const SPEAKERS = `speakers:
  edge: { adapter: test-speaker }
escalation:
  - { level: 1, when: { bps: ">100Mbps" }, do: { flowspec: { then: rate-limit, rate: 50Mbps } }, via: [edge], ttl: 30s }
  - { level: 2, when: { bps: ">500Mbps" }, do: { flowspec: { then: discard } }, via: [edge], ttl: 30s }
`;

const of = <T extends FtEvent['type']>(events: FtEvent[], type: T) =>
  events.filter((e): e is EventOf<T> => e.type === type);

describe('the run loop on the event stream (incidents from detection, rules from the executor)', function () {
  this.timeout(60_000);

  it('an attack that escalates, weakens and ends is told as it happened: opened, escalated, held, replaced, de-escalated, resolved', async () => {
    const l = await loop({ policyExtra: SPEAKERS, events: true });
    const run = async (seconds: number, pps: number, flood: boolean) => {
      for (let i = 0; i < seconds * 10; i++) await l.step(pps, flood);
    };
    await run(3, 2000, false);
    await run(3, 200_000, true); // ~750 Mbps: level 2
    await run(5, 60_000, true); // ~225 Mbps: level 1 wanted, level 2 held by the 10 s cooldown
    await run(6, 60_000, true); // past the cooldown: the route steps down to rate-limit
    await run(5, 2000, false); // quiet: resolved
    const events = (await allEvents(l.events!.source)).events;

    // One log, no gap, every event in the wire form a subscriber gets.
    expect(events.map((e) => e.seq)).to.deep.equal(events.map((_, i) => i + 1));
    for (const e of events) expect(wireEventSchema.safeParse(encodeEvent(e)).success, e.type).to.equal(true);

    const opened = of(events, 'incident.opened');
    expect(opened).to.have.length(1);
    const incidentId = opened[0]!.data.incident.id;
    expect(String(opened[0]!.data.incident.target)).to.equal('203.0.113.10/32');
    expect(opened[0]!.data.incident.vectors).to.include('ntp');

    const levels = events
      .filter((e) => e.type === 'incident.escalated' || e.type === 'incident.deescalated')
      .map((e) => {
        const d = (e as EventOf<'incident.escalated'>).data;
        return [e.type, d.previousLevel, d.level];
      });
    // The flood ramps up through level 1 within the detection window; it comes down once, after the cooldown.
    expect(levels).to.deep.equal([
      ['incident.escalated', 0, 1],
      ['incident.escalated', 1, 2],
      ['incident.deescalated', 2, 1],
    ]);

    const flowspec = of(events, 'rule.added').filter((e) => e.data.kind === 'flowspec');
    expect(flowspec.map((e) => [e.data.level, e.data.action.split(' ')[0], e.data.via])).to.deep.equal([
      [1, 'rate-limit', ['edge']],
      [2, 'discard', ['edge']],
      [1, 'rate-limit', ['edge']],
    ]);
    // The on-node rule of the policy's onNode section, on its own action.
    expect(
      of(events, 'rule.added')
        .filter((e) => e.data.kind === 'host-filter')
        .map((e) => e.data.via),
    ).to.deep.equal([['host-rec']]);
    const discard = flowspec[1]!;
    expect(discard.data.incidentId).to.equal(incidentId);
    expect(discard.data.results).to.deep.equal([{ ...discard.data.results[0], adapter: 'edge', outcome: 'ok' }]);
    // Intent before outcome: each add has its op.started, with the commands, earlier in the stream.
    const started = of(events, 'op.started').find((e) => e.data.opId === discard.data.opId)!;
    expect(started.seq).to.be.lessThan(discard.seq);
    expect(started.data.rendered.length).to.be.greaterThan(0);

    const held = of(events, 'rule.held');
    expect(held.map((e) => [e.data.level, e.data.wantedLevel])).to.deep.equal([[2, 1]]);
    // One wire route (same FlowSpec match), its action changed twice: up to discard, and down again.
    const replaced = of(events, 'rule.replaced');
    expect(replaced.map((e) => [e.data.replacedLevel, e.data.level])).to.deep.equal([
      [1, 2],
      [2, 1],
    ]);
    expect(replaced[1]!.data.replacedRuleId).to.equal(discard.data.ruleId);
    const withdrawn = of(events, 'rule.withdrawn').find((e) => e.data.ruleId === discard.data.ruleId)!;
    expect(withdrawn.data.reason).to.match(/attack fell below level 2; cooldown/);
    expect(withdrawn.seq).to.be.lessThan(replaced[1]!.seq);
    // The NOC hears of the step down once the cooldown is over, not while it held the discard.
    const deesc = of(events, 'incident.deescalated')[0]!;
    expect(deesc.seq).to.be.greaterThan(held[0]!.seq);
    expect(deesc.seq).to.be.lessThan(withdrawn.seq);

    const updated = of(events, 'incident.updated');
    expect(updated.length).to.be.greaterThan(0);
    expect(updated.some((e) => e.data.changed.includes('bps'))).to.equal(true);
    for (let i = 1; i < updated.length; i++)
      expect(updated[i]!.at - updated[i - 1]!.at, 'coalesced: at most one per 10 s').to.be.at.least(10_000);

    const resolved = of(events, 'incident.resolved');
    expect(resolved.map((e) => [e.data.incident.id, e.data.level])).to.deep.equal([[incidentId, 2]]);
    expect(resolved[0]!.seq).to.be.greaterThan(deesc.seq);

    // The audit trail is a view of this stream: start/end pairs per op, incidents as before.
    const trail = await l.store.queryAudit({ ruleId: discard.data.ruleId });
    expect(trail.map((r) => [r.op, r.phase])).to.deep.include.members([
      ['add', 'start'],
      ['add', 'end'],
      ['withdraw', 'start'],
      ['withdraw', 'end'],
    ]);
    const incidents = await l.store.queryAudit({ incidentId });
    expect(incidents.filter((r) => r.op === 'incident').map((r) => r.message?.split(':')[0])).to.deep.equal([
      'incident open',
      'incident resolve',
    ]);
  });

  it('a subscriber stuck in its handler does not hold up the rules: the speaker carries them, the stream has them, it got none', async () => {
    const l = await loop({ policyExtra: SPEAKERS, events: true });
    const stuck = await l.events!.subscribe('stuck', () => new Promise<void>(() => undefined), { queue: 4 });
    for (let i = 0; i < 30; i++) await l.step(2000, false);
    for (let i = 0; i < 30; i++) await l.step(200_000, true);
    const carried = [...(speakers.get('edge')?.installed.values() ?? [])].map((r) => (r as FlowSpecRule).action.type);
    expect(carried).to.deep.equal(['discard']);
    const events = (await allEvents(l.events!.source)).events;
    const flowspec = of(events, 'rule.added').filter((e) => e.data.kind === 'flowspec');
    expect(flowspec.at(-1)?.data.action).to.equal('discard');
    expect(events.length).to.be.greaterThan(4);
    expect(stuck.stats().delivered).to.equal(0);
    expect(stuck.stats().behind).to.equal(true);
    await stuck.close(10);
  });

  it('a collateral-damage rollback is rule.rolled_back with the numbers, and the rule that stays out is refused with why', async () => {
    let legit = 5000;
    const probe = { legitRate: async (_r: unknown, on: string[]) => (on.length === 0 ? 5000 : legit) };
    const l = await loop({ probe, collateralDrop: 0.9, events: true });
    for (let i = 0; i < 30; i++) await l.step(2000, false);
    for (let i = 0; i < 5; i++) await l.step(200_000, true);
    legit = 100; // -98 % once the rule is in
    l.clock.t += 1000;
    await l.runner.tick();
    for (let i = 0; i < 5; i++) await l.step(200_000, true);
    const events = (await allEvents(l.events!.source)).events;
    const rolled = of(events, 'rule.rolled_back');
    expect(rolled).to.have.length(1);
    expect(rolled[0]!.data).to.deep.include({ legitBefore: 5000, legitAfter: 100, drop: 0.98, allowed: 0.9 });
    expect(rolled[0]!.data.kind).to.equal('host-filter');
    expect(String(rolled[0]!.data.target)).to.equal('203.0.113.10/32');
    const refused = of(events, 'rule.refused').filter((e) => e.data.ruleId === rolled[0]!.data.ruleId);
    expect(refused.length).to.be.greaterThan(0);
    expect(refused[0]!.data.rail).to.equal('collateral-suppressed');
    expect(refused[0]!.seq).to.be.greaterThan(rolled[0]!.seq);
    await l.runner.stop('test', 'keep');
  });
});
