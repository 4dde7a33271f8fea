import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prefix } from '@ft/sdk';
import { Daemon } from '../../../test/helpers/daemon.js';
import { requireLab } from '../../../test/helpers/env.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { birdConf as birdConfText, startBird as startBirdIn } from '../../bgp-exabgp/test/speakers.js';
import { BLACKHOLE, NO_EXPORT, keyHas, makeLab, taggedFor, type PeerLab } from '../../bgp-exabgp/test/peer-lab.js';
import { context, flow, rtbh } from '../../bgp-exabgp/test/rules.js';
import { BirdAction, BirdConfigRejected } from '../src/action.js';
import { birdConfigSchema } from '../src/config.js';

const SPEAKER_AS = 65000;
const PEER_AS = 65001;

const tagged = (id: string) => taggedFor(SPEAKER_AS, id);

describe('bgp-bird adapter against a real BIRD 2 and a gobgpd peer', function () {
  this.timeout(60_000);
  let lab: PeerLab;
  let bird: Daemon | undefined;
  let include: string;
  let confPath: string;
  let socket: string;
  let current: BirdAction | undefined;

  const startBird = () => startBirdIn(lab, confPath, socket);
  const birdConf = (inc: string, broken = false) => birdConfText(inc, { local: SPEAKER_AS, peer: PEER_AS }, broken);

  function adapter(extra: Record<string, unknown> = {}): BirdAction {
    if (current && Object.keys(extra).length === 0) return current;
    const cfg = birdConfigSchema.parse({ socket, includeFile: include, tagAsn: SPEAKER_AS, ...extra });
    const a = new BirdAction(cfg, context('pop1-bird', lab.dir));
    if (Object.keys(extra).length === 0) current = a;
    return a;
  }

  before(async function () {
    requireLab(this, { root: true, commands: ['bird', 'birdc', 'gobgpd', 'gobgp', 'ip'] });
    lab = await makeLab('bird', { speakerAs: SPEAKER_AS, peerAs: PEER_AS });
    include = join(lab.dir, 'ft-routes.conf');
    confPath = join(lab.dir, 'bird.conf');
    socket = join(lab.dir, 'bird.ctl');
    writeFileSync(include, '');
    writeFileSync(confPath, birdConf(include));
    bird = startBird();
    await lab.gobgp.waitEstablished();
  });

  after(async () => {
    await bird?.stop();
    await lab?.cleanup();
  });

  it('announces an IPv4 FlowSpec discard the peer sees with its match, action and ft tag, and withdraws it', async () => {
    const a = adapter();
    const rule = flow(
      {
        destination: '203.0.113.10/32',
        protocols: [17],
        sourcePorts: [{ min: 53, max: 53 }],
        packetLength: [{ min: 512, max: 1500 }],
      },
      { type: 'discard' },
    );
    await a.apply(rule);
    const seen = await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(rule.id)), 'the discard rule');
    expect(
      keyHas(
        seen,
        '[destination: 203.0.113.10/32]',
        '[protocol: ==udp]',
        '[source-port: ==53]',
        '[packet-length: >=512&<=1500]',
      ),
    ).to.equal(true, seen.key);
    expect(seen.extended).to.deep.include({ type: 128, subtype: 6, as: 0, rate: 0 });
    expect((await a.list()).map((r) => r.ruleId)).to.include(rule.id);
    await a.withdraw(rule);
    await lab.gobgp.waitGone('ipv4-flowspec', tagged(rule.id), 'the discard rule');
    expect((await a.list()).map((r) => r.ruleId)).not.to.include(rule.id);
  });

  it('announces an IPv6 FlowSpec rate-limit with TCP flags and ports, redirect and mark', async () => {
    const a = adapter();
    const rl = flow(
      {
        destination: '2001:db8:100::10/128',
        protocols: [6],
        destinationPorts: [
          { min: 80, max: 80 },
          { min: 8000, max: 8080 },
        ],
        tcpFlags: { set: ['syn'], unset: ['ack'] },
      },
      { type: 'rate-limit', bytesPerSecond: 125000 },
    );
    const redirect = flow(
      { destination: '203.0.113.20/32', source: Prefix.parse('198.51.100.0/24') },
      { type: 'redirect', routeTarget: '65000:999' },
    );
    const mark = flow({ destination: '203.0.113.21/32', fragment: ['is-fragment'] }, { type: 'mark', dscp: 10 });
    for (const r of [rl, redirect, mark]) await a.apply(r);
    const seen = await lab.gobgp.waitFor('ipv6-flowspec', (ps) => ps.find(tagged(rl.id)), 'the IPv6 rate-limit');
    expect(
      keyHas(
        seen,
        '[destination: 2001:db8:100::10/128/0]',
        '[protocol: ==tcp]',
        '[destination-port: ==80 >=8000&<=8080]',
      ),
    ).to.equal(true, seen.key);
    expect(seen.key).to.match(/\[tcp-flags: =?S&!A\]/);
    expect(seen.extended).to.deep.include({ type: 128, subtype: 6, as: 0, rate: 125000 });
    const r = await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(redirect.id)), 'the redirect rule');
    expect(keyHas(r, '[source: 198.51.100.0/24]')).to.equal(true, r.key);
    expect(JSON.stringify(r.extended))
      .to.match(/"subtype":8/)
      .and.to.match(/999/);
    const m = await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(mark.id)), 'the mark rule');
    expect(m.key).to.include('is-fragment');
    expect(m.extended).to.deep.include({ type: 128, subtype: 9, value: 10 });
    for (const x of [rl, redirect, mark]) await a.withdraw(x);
    await lab.gobgp.waitGone('ipv6-flowspec', tagged(rl.id), 'the IPv6 rate-limit');
    await lab.gobgp.waitGone('ipv4-flowspec', (p) => tagged(redirect.id)(p) || tagged(mark.id)(p), 'redirect and mark');
  });

  it('announces RTBH for IPv4 and IPv6 with BLACKHOLE, NO_EXPORT and the discard next hop; apply and withdraw are idempotent', async () => {
    const a = adapter();
    const v4 = rtbh('203.0.113.30/32', { communities: ['65535:666', '64500:666'], nextHop: '192.0.2.66' });
    const v6 = rtbh('2001:db8:100::30/128');
    await a.apply(v4);
    await a.apply(v4);
    await a.apply(v6);
    const p4 = await lab.gobgp.waitFor('ipv4', (ps) => ps.find(tagged(v4.id)), 'the IPv4 blackhole');
    expect(p4.key).to.equal('203.0.113.30/32');
    expect(p4.nexthop).to.equal('192.0.2.66');
    expect(p4.communities).to.include.members([BLACKHOLE, NO_EXPORT, 64500 * 65536 + 666]);
    const p6 = await lab.gobgp.waitFor('ipv6', (ps) => ps.find(tagged(v6.id)), 'the IPv6 blackhole');
    expect(p6.nexthop).to.equal('100::1');
    await a.withdraw(v4);
    await a.withdraw(v4);
    await a.withdraw(v6);
    await lab.gobgp.waitGone('ipv4', tagged(v4.id), 'the IPv4 blackhole');
    await lab.gobgp.waitGone('ipv6', tagged(v6.id), 'the IPv6 blackhole');
    expect(
      lab.gobgp.rib('ipv4').some((p) => p.key === '203.0.113.200/32'),
      "the operator's own route stays",
    ).to.equal(true);
  });

  it("a configuration BIRD rejects leaves the running config and ft's file untouched, and is reported", async () => {
    const a = adapter();
    const live = flow({ destination: '203.0.113.60/32', protocols: [17] }, { type: 'discard' });
    await a.apply(live);
    await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(live.id)), 'the live rule');
    const before = readFileSync(include, 'utf8');

    // The operator's half-edited bird.conf: BIRD refuses every reconfiguration until it is fixed.
    writeFileSync(confPath, birdConf(include, true));
    const next = flow({ destination: '203.0.113.61/32', protocols: [17] }, { type: 'discard' });
    const err = await a.apply(next).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(BirdConfigRejected);
    expect(err?.message).to.match(/syntax error/);
    expect(readFileSync(include, 'utf8')).to.equal(before);
    expect(
      lab.gobgp.rib('ipv4-flowspec').some(tagged(live.id)),
      'the running config still announces the live rule',
    ).to.equal(true);
    expect(lab.gobgp.rib('ipv4-flowspec').some(tagged(next.id))).to.equal(false);
    writeFileSync(confPath, birdConf(include));

    // A table that does not exist in BIRD (an adapter misconfiguration) is refused the same way.
    const wrong = adapter({ tables: { flow4: 'no_such_table' } });
    const err2 = await wrong.apply(next).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err2).to.be.instanceOf(BirdConfigRejected);
    expect(readFileSync(include, 'utf8')).to.equal(before);

    await a.apply(next);
    await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(next.id)), 'the rule once bird.conf is fixed');
    await a.withdraw(next);
    await a.withdraw(live);
  });

  it('escalation: a discard for the same match replaces the rate-limit, and withdrawing the old rule keeps the new', async () => {
    const a = adapter();
    const match = { destination: '203.0.113.70/32', protocols: [17], sourcePorts: [{ min: 123, max: 123 }] };
    const limit = flow(match, { type: 'rate-limit', bytesPerSecond: 6_250_000 });
    const discard = flow(match, { type: 'discard' });
    await a.apply(limit);
    await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(limit.id)), 'the rate-limit');
    await a.apply(discard);
    const seen = await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(discard.id)), 'the discard');
    expect(seen.extended).to.deep.include({ type: 128, subtype: 6, as: 0, rate: 0 });
    expect(lab.gobgp.rib('ipv4-flowspec').filter((p) => p.key.includes('203.0.113.70/32'))).to.have.length(1);
    await a.withdraw(limit);
    await new Promise((r) => setTimeout(r, 300));
    expect(lab.gobgp.rib('ipv4-flowspec').some(tagged(discard.id)), 'the discard is still announced').to.equal(true);
    await a.withdraw(discard);
    await lab.gobgp.waitGone('ipv4-flowspec', (p) => p.key.includes('203.0.113.70/32'), 'the escalated rule');
  });

  it('after an ft restart, list() finds what the previous run announced and withdraws orphans by their ref', async () => {
    const first = adapter();
    const keep = flow(
      { destination: '203.0.113.50/32', protocols: [17], sourcePorts: [{ min: 123, max: 123 }] },
      { type: 'discard' },
    );
    const orphan = flow(
      { destination: '2001:db8:100::51/128', protocols: [17], sourcePorts: [{ min: 1900, max: 1900 }] },
      { type: 'discard' },
    );
    const orphanBh = rtbh('203.0.113.52/32');
    for (const r of [keep, orphan, orphanBh]) await first.apply(r);
    await lab.gobgp.waitFor('ipv6-flowspec', (ps) => ps.find(tagged(orphan.id)), 'the orphan');
    current = undefined;

    const second = adapter();
    const found = await second.list();
    expect(found.map((r) => r.ruleId)).to.include.members([keep.id, orphan.id, orphanBh.id]);
    for (const ref of found.filter((r) => r.ruleId === orphan.id || r.ruleId === orphanBh.id))
      await second.withdraw(ref);
    await lab.gobgp.waitGone('ipv6-flowspec', tagged(orphan.id), 'the orphan FlowSpec');
    await lab.gobgp.waitGone('ipv4', tagged(orphanBh.id), 'the orphan RTBH');
    expect(lab.gobgp.rib('ipv4-flowspec').some(tagged(keep.id))).to.equal(true);
    expect(await second.health()).to.deep.include({ status: 'ok' });
  });

  it('re-announces what is live after the peer session flaps and after BIRD restarts', async () => {
    const a = adapter();
    const live = flow(
      { destination: '203.0.113.50/32', protocols: [17], sourcePorts: [{ min: 123, max: 123 }] },
      { type: 'discard' },
    );
    await lab.gobgp.restart();
    await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(live.id)), 'the rule after a session flap', 20_000);

    await bird?.stop();
    await lab.gobgp.waitGone('ipv4-flowspec', tagged(live.id), 'the rule while BIRD is down', 15_000);
    expect((await a.health()).status).to.equal('down');
    bird = startBird();
    await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(live.id)), 'the rule after BIRD restarted', 30_000);
    await waitFor(async () => (await a.health()).status === 'ok', { what: 'health ok again', timeoutMs: 10_000 });
    await a.withdraw(live);
    await lab.gobgp.waitGone('ipv4-flowspec', tagged(live.id), 'the rule');
  });
});
