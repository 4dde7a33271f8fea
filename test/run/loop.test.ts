import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import type { HostFilterRule } from '@ft/sdk';
import { loop, TARGET } from './loop.js';

const installed = (file: string) =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, { kind: string; target: string }>) : {};

describe('the run loop: samples → detection → planner → executor → action', function () {
  this.timeout(20_000);

  it("an NTP reflection flood installs the policy's on-node rule within a tick, audited with its incident; resolve rolls it back", async () => {
    const l = await loop();
    for (let i = 0; i < 30; i++) await l.step(2000, false); // 3 s of ordinary traffic
    expect(installed(l.recordFile)).to.deep.equal({});
    let openedAt: number | undefined;
    for (let i = 0; i < 30; i++) {
      await l.step(200_000, true);
      if (openedAt === undefined && Object.keys(installed(l.recordFile)).length > 0) openedAt = i;
    }
    expect(openedAt, 'rule installed during the flood').to.not.equal(undefined);
    expect(openedAt).to.be.at.most(3); // the first ticks of the flood, not seconds later
    const live = await l.store.rules();
    expect(live).to.have.length(1);
    const rule = live[0]!.rule as HostFilterRule;
    expect(rule.kind).to.equal('host-filter');
    expect(String(rule.target)).to.equal(`${TARGET}/32`);
    expect(rule.match.protocol).to.equal('udp');
    expect(rule.match.sourcePorts).to.deep.equal([{ min: 123, max: 123 }]);
    expect(Object.values(installed(l.recordFile))).to.deep.equal([{ kind: 'host-filter', target: `${TARGET}/32` }]);
    const incidentId = live[0]!.incidentId!;
    expect(incidentId).to.be.a('string');
    const trail = await l.store.queryAudit({ incidentId });
    expect(trail[0]).to.include({ op: 'incident', phase: 'event' });
    const add = trail.find((r) => r.op === 'add' && r.phase === 'start');
    expect(add).to.include({ plannedBy: 'planner', ruleId: rule.id });
    expect(add?.rendered?.[0]?.text).to.equal(`record host-filter ${rule.id} ${TARGET}/32`);

    for (let i = 0; i < 60 && Object.keys(installed(l.recordFile)).length > 0; i++) await l.step(2000, false);
    expect(installed(l.recordFile)).to.deep.equal({});
    expect(await l.store.rules()).to.deep.equal([]);
    const after = await l.store.queryAudit({ incidentId });
    expect(after.some((r) => r.op === 'incident' && r.message?.startsWith('incident resolve'))).to.equal(true);
    expect(after.filter((r) => r.op === 'withdraw' && r.phase === 'end').map((r) => r.outcome)).to.deep.equal(['ok']);
    await l.runner.stop('test', 'keep');
    await l.store.close();
  });

  it('rolls a rule back when legitimate traffic collapses after it went in (collateral damage), and alerts', async () => {
    let legit = 5000;
    const probe = { legitRate: async (_r: unknown, on: string[]) => (on.length === 0 ? 5000 : legit) };
    const l = await loop({ probe, collateralDrop: 0.9 });
    for (let i = 0; i < 30; i++) await l.step(2000, false);
    for (let i = 0; i < 5; i++) await l.step(200_000, true);
    expect(Object.keys(installed(l.recordFile))).to.have.length(1);
    legit = 100; // -98 % once the rule is in
    l.clock.t += 1000;
    await l.runner.tick();
    expect(installed(l.recordFile)).to.deep.equal({});
    const alerts = (await l.store.queryAudit({})).filter((r) => r.op === 'alert');
    expect(alerts).to.have.length(1);
    expect(alerts[0]?.message).to.match(/collateral damage: legitimate traffic to 203\.0\.113\.10\/32 fell 98%/);
    // The attack goes on and the planner keeps asking: the rule stays out.
    for (let i = 0; i < 5; i++) await l.step(200_000, true);
    expect(installed(l.recordFile)).to.deep.equal({});
    await l.runner.stop('test', 'keep');
    await l.store.close();
  });
});
