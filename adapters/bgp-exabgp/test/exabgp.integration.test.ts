import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prefix } from '@ft/sdk';
import { Daemon } from '../../../test/helpers/daemon.js';
import { requireLab } from '../../../test/helpers/env.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { ExabgpAction } from '../src/action.js';
import { exabgpConfigSchema } from '../src/config.js';
import { exabgpConf, startExabgp as startExabgpIn } from './speakers.js';
import { BLACKHOLE, NO_EXPORT, SPEAKER_ADDR, keyHas, makeLab, taggedFor, type PeerLab } from './peer-lab.js';
import { context, flow, rtbh } from './rules.js';

const SPEAKER_AS = 65000;
const PEER_AS = 65001;

const tagged = (id: string) => taggedFor(SPEAKER_AS, id);

describe('bgp-exabgp adapter against a real ExaBGP and a gobgpd peer', function () {
  this.timeout(60_000);
  let lab: PeerLab;
  let exabgp: Daemon | undefined;
  let socket: string;
  let configPath: string;
  const actions: ExabgpAction[] = [];

  const startExabgp = () => startExabgpIn(lab, configPath);

  let current: ExabgpAction | undefined;
  /** The adapter of the running "ft process"; a new one only after the previous one was closed (an ft restart). */
  function adapter(): ExabgpAction {
    if (current) return current;
    const cfg = exabgpConfigSchema.parse({ socket, tagAsn: SPEAKER_AS, timeoutMs: 5000 });
    const a = new ExabgpAction(cfg, context('pop1-exabgp', lab.dir));
    actions.push(a);
    current = a;
    return a;
  }

  before(async function () {
    requireLab(this, { root: true, commands: ['exabgp', 'gobgpd', 'gobgp', 'ip', 'tcpdump', 'timeout'] });
    lab = await makeLab('exa', { speakerAs: SPEAKER_AS, peerAs: PEER_AS });
    socket = join(lab.dir, 'ft.sock');
    configPath = join(lab.dir, 'exabgp.conf');
    writeFileSync(
      configPath,
      exabgpConf(
        socket,
        { local: SPEAKER_AS, peer: PEER_AS },
        `  static { route 203.0.113.200/32 next-hop ${SPEAKER_ADDR}; }\n`,
      ),
    );
    exabgp = startExabgp();
    await lab.gobgp.waitEstablished();
  });

  after(async () => {
    for (const a of actions) await a.close();
    await exabgp?.stop();
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

  it('announces an IPv6 FlowSpec rate-limit with TCP flags and ports', async () => {
    const a = adapter();
    const rule = flow(
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
    await a.apply(rule);
    const seen = await lab.gobgp.waitFor('ipv6-flowspec', (ps) => ps.find(tagged(rule.id)), 'the IPv6 rate-limit');
    expect(
      keyHas(
        seen,
        '[destination: 2001:db8:100::10/128/0]',
        '[protocol: ==tcp]',
        '[destination-port: ==80 >=8000&<=8080]',
        '[tcp-flags: =S&!A]', // as GoBGP and BIRD send it: the match bit on the set flags
      ),
    ).to.equal(true, seen.key);
    expect(seen.extended).to.deep.include({ type: 128, subtype: 6, as: 0, rate: 125000 });
    await a.withdraw(rule);
    await lab.gobgp.waitGone('ipv6-flowspec', tagged(rule.id), 'the IPv6 rate-limit');
  });

  it('announces redirect and DSCP mark actions', async () => {
    const a = adapter();
    const redirect = flow(
      { destination: '203.0.113.20/32', source: Prefix.parse('198.51.100.0/24') },
      { type: 'redirect', routeTarget: '65000:999' },
    );
    const mark = flow({ destination: '203.0.113.21/32', fragment: ['is-fragment'] }, { type: 'mark', dscp: 10 });
    await a.apply(redirect);
    await a.apply(mark);
    const r = await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(redirect.id)), 'the redirect rule');
    expect(keyHas(r, '[destination: 203.0.113.20/32]', '[source: 198.51.100.0/24]')).to.equal(true, r.key);
    expect(JSON.stringify(r.extended))
      .to.match(/"subtype":8/)
      .and.to.match(/999/);
    const m = await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(mark.id)), 'the mark rule');
    expect(m.key).to.include('is-fragment');
    expect(m.extended, JSON.stringify(m.extended)).to.deep.include({ type: 128, subtype: 9, value: 10 });
    await a.withdraw(redirect);
    await a.withdraw(mark);
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
    expect(lab.gobgp.rib('ipv4').filter((p) => p.key === '203.0.113.30/32')).to.have.length(1);
    const p6 = await lab.gobgp.waitFor('ipv6', (ps) => ps.find(tagged(v6.id)), 'the IPv6 blackhole');
    expect(p6.nexthop).to.equal('100::1');
    expect(p6.communities).to.include(BLACKHOLE);
    await a.withdraw(v4);
    await a.withdraw(v4);
    await a.withdraw(v6);
    await lab.gobgp.waitGone('ipv4', tagged(v4.id), 'the IPv4 blackhole');
    await lab.gobgp.waitGone('ipv6', tagged(v6.id), 'the IPv6 blackhole');
  });

  it('repeating an apply sends no second UPDATE (FRR 8.4 receivers crash on re-announced identical FlowSpec)', async () => {
    const a = adapter();
    const rule = flow({ destination: '203.0.113.80/32', protocols: [17] }, { type: 'discard' });
    const capture = spawn('ip', [
      'netns',
      'exec',
      lab.peer.name,
      'timeout',
      '4',
      'tcpdump',
      '-l',
      '-n',
      '-i',
      'any',
      'tcp port 179',
    ]);
    let packets = '';
    capture.stdout.on('data', (d: Buffer) => (packets += d.toString()));
    const done = new Promise((r) => capture.on('exit', r));
    await new Promise((r) => setTimeout(r, 700));
    await a.apply(rule);
    await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(rule.id)), 'the rule');
    await a.apply(rule);
    await a.apply(rule);
    await done;
    // Segments from the speaker with more than a KEEPALIVE (19 bytes) of BGP in them.
    const updates = packets
      .split('\n')
      .filter(
        (l) => /IP 192\.0\.2\.1\.\d+ > 192\.0\.2\.2\.\d+/.test(l) && Number(/length (\d+)/.exec(l)?.[1] ?? 0) > 19,
      );
    expect(updates, packets).to.have.length(1);
    await a.withdraw(rule);
  });

  it('never withdraws a route ft did not announce', async () => {
    const a = adapter();
    await lab.gobgp.waitFor(
      'ipv4',
      (ps) => ps.find((p) => p.key === '203.0.113.200/32'),
      "the operator's static route",
    );
    expect((await a.list()).map((r) => r.nativeId)).not.to.include('ipv4 unicast 203.0.113.200/32');
    await a.apply(rtbh('203.0.113.200/32')).then(
      () => expect.fail("took the operator's route over"),
      (e: Error) => expect(e.message).to.match(/refusing to take it over/),
    );
    await a.withdraw(rtbh('203.0.113.200/32'));
    let err: Error | undefined;
    await a
      .withdraw({ nativeId: 'ipv4 unicast 203.0.113.200/32', description: 'guess' })
      .catch((e: Error) => (err = e));
    expect(err?.message).to.match(/no ft tag/);
    await new Promise((r) => setTimeout(r, 300));
    expect(lab.gobgp.rib('ipv4').some((p) => p.key === '203.0.113.200/32')).to.equal(true);
  });

  it('refuses a rule whose values cannot be rendered safely, sending nothing', async () => {
    const a = adapter();
    const bad = flow(
      { destination: '203.0.113.40/32' },
      { type: 'redirect', routeTarget: '65000:1; } } announce route 0.0.0.0/0' },
    );
    expect(() => a.render(bad)).to.throw(/not ASN:NN/);
    await a.apply(bad).then(
      () => expect.fail('applied'),
      (e: Error) => expect(e.message).to.match(/not ASN:NN/),
    );
    const tiny = flow({ destination: '203.0.113.41/32' }, { type: 'rate-limit', bytesPerSecond: 0.2 });
    await a.apply(tiny).then(
      () => expect.fail('applied'),
      (e: Error) => expect(e.message).to.match(/rate-limit/),
    );
    expect(lab.gobgp.rib('ipv4-flowspec').some((p) => p.key.includes('203.0.113.4'))).to.equal(false);
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
    await first.close();
    current = undefined;

    const second = adapter();
    const found = await second.list();
    expect(found.map((r) => r.ruleId)).to.include.members([keep.id, orphan.id, orphanBh.id]);
    for (const ref of found.filter((r) => r.ruleId === orphan.id || r.ruleId === orphanBh.id))
      await second.withdraw(ref);
    await lab.gobgp.waitGone('ipv6-flowspec', tagged(orphan.id), 'the orphan FlowSpec');
    await lab.gobgp.waitGone('ipv4', tagged(orphanBh.id), 'the orphan RTBH');
    expect(lab.gobgp.rib('ipv4-flowspec').some(tagged(keep.id))).to.equal(true);
    await second.apply(keep);
    expect(await second.health()).to.deep.include({ status: 'ok' });
  });

  it('re-announces what is live after the peer session flaps and after ExaBGP restarts', async () => {
    const a = adapter();
    const live = flow(
      { destination: '203.0.113.50/32', protocols: [17], sourcePorts: [{ min: 123, max: 123 }] },
      { type: 'discard' },
    );

    await lab.gobgp.restart();
    await lab.gobgp.waitFor('ipv4-flowspec', (ps) => ps.find(tagged(live.id)), 'the rule after a session flap', 20_000);

    await exabgp?.stop();
    await lab.gobgp.waitGone('ipv4-flowspec', tagged(live.id), 'the rule while ExaBGP is down', 15_000);
    expect((await a.health()).status).to.equal('down');
    exabgp = startExabgp();
    await lab.gobgp.waitFor(
      'ipv4-flowspec',
      (ps) => ps.find(tagged(live.id)),
      'the rule after ExaBGP restarted',
      30_000,
    );
    await waitFor(async () => (await a.health()).status === 'ok', { what: 'health ok again', timeoutMs: 10_000 });
    await a.withdraw(live);
    await lab.gobgp.waitGone('ipv4-flowspec', tagged(live.id), 'the rule');
  });
});
