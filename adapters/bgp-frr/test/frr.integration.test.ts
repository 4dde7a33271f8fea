import { expect } from 'chai';
import { join } from 'node:path';
import { Daemon } from '../../../test/helpers/daemon.js';
import { requireLab } from '../../../test/helpers/env.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { run } from '../../../test/helpers/net.js';
import { startFrr as startFrrIn, stopAll, writeFrrConfig } from '../../bgp-exabgp/test/speakers.js';
import { BLACKHOLE, NO_EXPORT, makeLab, taggedFor, type PeerLab } from '../../bgp-exabgp/test/peer-lab.js';
import { context, flow, rtbh } from '../../bgp-exabgp/test/rules.js';
import { FrrAction } from '../src/action.js';
import { frrConfigSchema } from '../src/config.js';

// FRR is the RTBH trigger router here: iBGP to the receiving edge (FRR, following RFC 7999, never sends
// BLACKHOLE-tagged routes to eBGP peers).
const AS = 65000;
const FRR = '/usr/lib/frr';

const tagged = (id: string) => taggedFor(AS, id);

describe('bgp-frr adapter against real FRR daemons and a gobgpd peer', function () {
  this.timeout(60_000);
  let lab: PeerLab;
  let vty: string;
  let daemons: Daemon[] = [];
  let current: FrrAction | undefined;
  const all: FrrAction[] = [];

  async function startFrr(): Promise<void> {
    daemons = await startFrrIn(lab, vty);
  }

  async function stopFrr(): Promise<void> {
    await stopAll(daemons);
    daemons = [];
  }

  function adapter(): FrrAction {
    if (current) return current;
    const cfg = frrConfigSchema.parse({ asn: AS, vtySocket: vty, nextHop4: '192.0.2.66', resyncIntervalMs: 300 });
    current = new FrrAction(cfg, context('pop1-frr', lab.dir));
    all.push(current);
    return current;
  }

  before(async function () {
    requireLab(this, {
      root: true,
      commands: ['vtysh', `${FRR}/zebra`, `${FRR}/bgpd`, `${FRR}/staticd`, 'gobgpd', 'gobgp', 'ip'],
    });
    lab = await makeLab('frr', { speakerAs: AS, peerAs: AS });
    vty = join(lab.dir, 'frr');
    writeFrrConfig(lab, vty, AS);
    await startFrr();
    await lab.gobgp.waitEstablished();
  });

  after(async () => {
    for (const a of all) await a.close();
    await stopFrr();
    await lab?.cleanup();
  });

  it('declares RTBH only and refuses FlowSpec with a clear reason', async () => {
    const a = adapter();
    expect(a.capabilities).to.deep.equal(['rtbh']);
    const fs = flow({ destination: '203.0.113.10/32' }, { type: 'discard' });
    expect(() => a.render(fs)).to.throw(/cannot originate FlowSpec/);
    await a.apply(fs).then(
      () => expect.fail('applied'),
      (e: Error) => expect(e.message).to.match(/cannot originate FlowSpec/),
    );
  });

  it('announces RTBH for IPv4 and IPv6 with BLACKHOLE, NO_EXPORT, the discard next hop and ft tag; withdraws it', async () => {
    const a = adapter();
    const v4 = rtbh('203.0.113.30/32', { communities: ['65535:666', '64500:666'] });
    const v6 = rtbh('2001:db8:100::30/128');
    await a.apply(v4);
    await a.apply(v4);
    await a.apply(v6);
    const p4 = await lab.gobgp.waitFor('ipv4', (ps) => ps.find(tagged(v4.id)), 'the IPv4 blackhole');
    expect(p4.key).to.equal('203.0.113.30/32');
    expect(p4.nexthop).to.equal('192.0.2.66');
    expect(p4.communities).to.include.members([BLACKHOLE, NO_EXPORT, 64500 * 65536 + 666]);
    const p6 = await lab.gobgp.waitFor('ipv6', (ps) => ps.find(tagged(v6.id)), 'the IPv6 blackhole');
    expect(p6.key).to.equal('2001:db8:100::30/128');
    expect(p6.nexthop).to.equal('100::1');
    expect(p6.communities).to.include(BLACKHOLE);
    // The trigger route is in FRR's kernel table as a blackhole (the speaker drops too).
    expect(lab.speaker.exec(['ip', 'route', 'show', '203.0.113.30/32']).stdout).to.match(/blackhole 203\.0\.113\.30/);
    expect((await a.list()).map((r) => r.ruleId)).to.include.members([v4.id, v6.id]);

    await a.withdraw(v4);
    await a.withdraw(v4);
    // The vtysh command preview prints for the withdrawal (renderWithdraw) takes the route down when run as is.
    const [del] = a.renderWithdraw(v6);
    expect(del?.text).to.include('no network 2001:db8:100::30/128');
    const out = run(del?.argv ?? ['false'], { allowFail: true });
    expect(out.status, `${del?.text}: ${out.stderr}${out.stdout}`).to.equal(0);
    await lab.gobgp.waitGone('ipv6', tagged(v6.id), 'the IPv6 blackhole (withdrawn by the rendered vtysh command)');
    await a.withdraw(v6);
    await lab.gobgp.waitGone('ipv4', tagged(v4.id), 'the IPv4 blackhole');
    await lab.gobgp.waitGone('ipv6', tagged(v6.id), 'the IPv6 blackhole');
    expect(lab.speaker.exec(['ip', 'route', 'show', '203.0.113.30/32']).stdout.trim()).to.equal('');
    expect((await a.list()).map((r) => r.ruleId)).not.to.include.members([v4.id]);
  });

  it("never withdraws or lists the operator's own blackhole route", async () => {
    const a = adapter();
    await lab.gobgp.waitFor('ipv4', (ps) => ps.find((p) => p.key === '203.0.113.200/32'), "the operator's blackhole");
    expect((await a.list()).map((r) => r.nativeId)).not.to.include('ipv4 203.0.113.200/32');
    await a.apply(rtbh('203.0.113.200/32')).then(
      () => expect.fail("took the operator's route over"),
      (e: Error) => expect(e.message).to.match(/refusing to take it over/),
    );
    await a.withdraw(rtbh('203.0.113.200/32'));
    await a.withdraw({ nativeId: 'ipv4 203.0.113.200/32', description: 'guess' }).then(
      () => expect.fail('withdrew'),
      (e: Error) => expect(e.message).to.match(/refusing/),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(lab.gobgp.rib('ipv4').some((p) => p.key === '203.0.113.200/32')).to.equal(true);
  });

  it('refuses values that could smuggle FRR commands, running nothing', async () => {
    const a = adapter();
    const bad = rtbh('203.0.113.40/32', { communities: ['65535:666', '1:1\nrouter bgp 1'] });
    expect(() => a.render(bad)).to.throw(/not AA:NN/);
    await a.apply(bad).then(
      () => expect.fail('applied'),
      (e: Error) => expect(e.message).to.match(/not AA:NN/),
    );
    expect(lab.gobgp.rib('ipv4').some((p) => p.key === '203.0.113.40/32')).to.equal(false);
  });

  it('a second RTBH rule for the same prefix replaces the first, and withdrawing the first keeps the second', async () => {
    const a = adapter();
    const first = rtbh('203.0.113.70/32');
    const second = rtbh('203.0.113.70/32', { communities: ['65535:666', '64500:666'] });
    await a.apply(first);
    await lab.gobgp.waitFor('ipv4', (ps) => ps.find(tagged(first.id)), 'the first rule');
    await a.apply(second);
    const seen = await lab.gobgp.waitFor('ipv4', (ps) => ps.find(tagged(second.id)), 'the second rule');
    expect(seen.communities).to.include(64500 * 65536 + 666);
    await a.withdraw(first);
    // FRR must keep announcing the second rule, never flapping back to the first one's attributes.
    for (let i = 0; i < 25; i++) {
      const now = lab.gobgp.rib('ipv4').filter((p) => p.key === '203.0.113.70/32');
      expect(now.length === 1 && tagged(second.id)(now[0] as never), `sample ${i}: ${JSON.stringify(now)}`).to.equal(
        true,
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(lab.gobgp.rib('ipv4').some(tagged(second.id)), 'the second rule is still announced').to.equal(true);
    await a.withdraw(second);
    await lab.gobgp.waitGone('ipv4', (p) => p.key === '203.0.113.70/32', 'the prefix');
  });

  it("after an ft restart, list() finds the previous run's announcements and withdraws orphans by their ref", async () => {
    const first = adapter();
    const keep = rtbh('203.0.113.50/32');
    const orphan = rtbh('2001:db8:100::51/128');
    await first.apply(keep);
    await first.apply(orphan);
    await lab.gobgp.waitFor('ipv6', (ps) => ps.find(tagged(orphan.id)), 'the orphan');
    await first.close();
    current = undefined;

    const second = adapter();
    const found = await second.list();
    expect(found.map((r) => r.ruleId)).to.include.members([keep.id, orphan.id]);
    await second.withdraw(found.find((r) => r.ruleId === orphan.id) as (typeof found)[number]);
    await lab.gobgp.waitGone('ipv6', tagged(orphan.id), 'the orphan');
    expect(lab.gobgp.rib('ipv4').some(tagged(keep.id))).to.equal(true);
    await second.apply(keep);
    expect(await second.health()).to.deep.include({ status: 'ok' });
  });

  it("re-announces after the peer session flaps and after the FRR daemons restart without ft's routes", async () => {
    const a = adapter();
    const live = rtbh('203.0.113.50/32');
    await lab.gobgp.restart();
    await lab.gobgp.waitFor('ipv4', (ps) => ps.find(tagged(live.id)), 'the route after a session flap', 20_000);

    await stopFrr();
    await lab.gobgp.waitGone('ipv4', tagged(live.id), 'the route while FRR is down', 15_000);
    expect((await a.health()).status).to.equal('down');
    await startFrr();
    await lab.gobgp.waitFor('ipv4', (ps) => ps.find(tagged(live.id)), 'the route after FRR restarted', 30_000);
    await waitFor(async () => (await a.health()).status === 'ok', { what: 'health ok again', timeoutMs: 15_000 });
    await a.withdraw(live);
    await lab.gobgp.waitGone('ipv4', tagged(live.id), 'the route');
  });
});
