import { makeRule, Prefix, type Action, type RtbhRule } from '@ft/sdk';
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { requireLab } from '../helpers/env.js';
import { applyAndCrash, create, expectRefused, reconcileAll } from './harness.js';
import {
  ALLOWED,
  ALLOWED6,
  BLOCKED,
  BLOCKED6,
  FOREIGN_SRC,
  HostLab,
  hostRule,
  manySources,
  shapeRule,
  TARGET,
  TARGET6,
} from './lab.js';

function pingStats(lab: HostLab, from: 'fw' | 'peer', to: string, args: string[]): number {
  const ns = from === 'fw' ? lab.fw : lab.peer;
  const out = ns.exec(['ping', '-n', '-q', ...args, to], { allowFail: true, timeoutMs: 15_000 }).stdout;
  return Number(/(\d+) received/.exec(out)?.[1] ?? -1);
}

describe('host action nullroute (real routes in a namespace)', function () {
  this.timeout(60_000);
  let lab: HostLab | undefined;
  let action: Action;
  let pristine: string;
  const config = () => ({ netns: lab!.fw.name });

  before(async function () {
    requireLab(this, { root: true, commands: ['ip', 'ping'] });
    lab = HostLab.create('nr');
    lab.installForeign();
    pristine = lab.snapshot();
    action = await create('nullroute', config());
  });
  after(() => lab?.delete());

  it('routes attacking sources to a blackhole tagged proto 247: their pings die, others pass; withdraw restores the table', async () => {
    const l = lab!;
    const rule = hostRule({ sources: [BLOCKED] });
    await action.apply(rule);
    expect(l.fw.exec(['ip', 'route', 'show', 'proto', '247']).stdout).to.match(/^blackhole 192\.0\.2\.7 /m);
    expect(l.reaches(BLOCKED)).to.equal(false);
    expect(l.reaches(ALLOWED)).to.equal(true);
    expect((await action.list()).map((r) => r.ruleId)).to.deep.equal([rule.id]);
    await action.apply(rule);
    expect(l.fw.exec(['ip', 'route', 'show', 'proto', '247']).stdout.trim().split('\n')).to.have.length(1);
    await action.withdraw(rule);
    expect(l.reaches(BLOCKED)).to.equal(true);
    expect(l.snapshot()).to.equal(pristine);
  });

  it('null-routes an RTBH target locally and keeps an operator route to the same prefix family', async () => {
    const l = lab!;
    const rule = makeRule<RtbhRule>({
      kind: 'rtbh',
      tenant: 't1',
      target: Prefix.parse('198.51.100.50/32'),
      communities: ['65535:666'],
      noExport: true,
      level: 3,
      ttlSeconds: 300,
    });
    expect(action.render(rule)[0]?.payload).to.equal('route replace blackhole 198.51.100.50/32 proto 247 table main\n');
    await action.apply(rule);
    expect(l.fw.exec(['ip', 'route', 'show', '198.51.100.50']).stdout).to.match(/blackhole 198\.51\.100\.50 proto 247/);
    await action.withdraw(rule);
    expect(l.fw.exec(['ip', 'route', 'show', '198.51.100.3']).stdout).to.match(/blackhole/);
    expect(l.snapshot()).to.equal(pristine);
  });

  it('reconcile removes routes a killed process left, and only proto 247 routes', async () => {
    const l = lab!;
    applyAndCrash('nullroute', config(), hostRule({ sources: [BLOCKED] }));
    const fresh = await create('nullroute', config());
    expect((await fresh.list()).map((r) => r.nativeId)).to.deep.equal(['route 192.0.2.7/32']);
    expect(await reconcileAll(fresh)).to.equal(1);
    expect(l.snapshot()).to.equal(pristine);
  });

  it('refuses what a route cannot express and bad addresses', async () => {
    await expectRefused(
      lab!,
      action,
      hostRule({ sources: [BLOCKED], protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] }),
      /matches addresses only/,
    );
    await expectRefused(lab!, action, hostRule({ sources: ['2001:db8::1'] }), /IPv6.*IPv4/);
  });
});

describe('host action tc (real HTB shaping in a namespace)', function () {
  this.timeout(60_000);
  let lab: HostLab | undefined;
  let action: Action;
  let pristine: string;
  const config = () => ({ netns: lab!.fw.name, interface: lab!.fwIf });

  before(async function () {
    requireLab(this, { root: true, commands: ['ip', 'ping', 'tc'] });
    lab = HostLab.create('tc');
    lab.installForeign();
    pristine = lab.snapshot();
    action = await create('tc', config());
  });
  after(() => lab?.delete());

  it('shapes traffic to one destination to 16 kbit/s while another flows freely; withdraw gives the default qdisc back', async () => {
    const l = lab!;
    // ft's box is the router here: the protected host is the peer address BLOCKED, shaped on the way to it.
    const rule = shapeRule({ protocol: 'icmp' }, 16_000, BLOCKED);
    await action.apply(rule);
    expect(l.fw.exec(['tc', 'qdisc', 'show', 'dev', l.fwIf]).stdout).to.match(/qdisc htb f7: root/);
    expect(l.fw.exec(['tc', 'class', 'show', 'dev', l.fwIf]).stdout).to.match(/class htb f7:[0-9a-f]+ .*rate 16Kbit/);
    const burst = ['-c', '20', '-i', '0.01', '-s', '1400', '-w', '2', '-W', '1'];
    const shaped = pingStats(l, 'fw', BLOCKED, burst);
    const free = pingStats(l, 'fw', ALLOWED, burst);
    expect(free, 'unshaped destination').to.equal(20);
    expect(shaped, 'shaped destination: 28 kB cannot pass 16 kbit/s in 2 s').to.be.within(0, 8);
    const c = (await action.counters!()).find((x) => x.ruleId === rule.id);
    expect(c?.packets).to.be.at.least(1);
    expect((await action.list()).map((r) => r.ruleId)).to.deep.equal([rule.id]);
    await action.withdraw(rule);
    expect(l.snapshot()).to.equal(pristine);
    expect(pingStats(l, 'fw', BLOCKED, burst)).to.equal(20);
  });

  it("never replaces an operator's root qdisc", async () => {
    const l = lab!;
    l.fw.exec(['tc', 'qdisc', 'add', 'dev', l.fwIf, 'root', 'handle', '1:', 'htb']);
    try {
      const before = l.snapshot();
      let err: unknown;
      await action.apply(shapeRule({}, 1_000_000, BLOCKED)).catch((e: unknown) => (err = e));
      expect(String(err)).to.match(/has its own root qdisc \(htb 1:\)/);
      expect(l.snapshot()).to.equal(before);
    } finally {
      l.fw.exec(['tc', 'qdisc', 'del', 'dev', l.fwIf, 'root']);
    }
  });

  it('reconcile removes classes a killed process left', async () => {
    const l = lab!;
    applyAndCrash('tc', config(), shapeRule({ sources: [TARGET] }, 1_000_000, BLOCKED));
    const fresh = await create('tc', config());
    expect(await fresh.list()).to.have.length(1);
    expect(await reconcileAll(fresh)).to.equal(1);
    expect(l.snapshot()).to.equal(pristine);
  });

  it('refuses bad input', async () => {
    await expectRefused(
      lab!,
      action,
      shapeRule({ protocol: 'udp', destinationPorts: [{ min: 70000, max: 70000 }] }, 1_000_000, BLOCKED),
      /not a port/,
    );
    await expectRefused(lab!, action, shapeRule({}, 0, BLOCKED), /bitsPerSecond/);
    let err: unknown;
    await create('tc', { interface: 'eth0;reboot', netns: lab!.fw.name }).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/letters, digits/);
  });
});

describe('host action xdp (xdp-filter in a namespace)', function () {
  this.timeout(90_000);
  let lab: HostLab | undefined;
  let action: Action;
  let pristine: string;
  const config = () => ({ netns: lab!.fw.name, interface: lab!.fwIf });
  const bpffs = () => `/run/ft/bpffs/${lab!.fw.name}`;
  const mounted = () => readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${bpffs()} `);
  const xdpStatus = () => lab!.fw.exec(['env', `LIBXDP_BPFFS=${bpffs()}`, 'xdp-filter', 'status']).stdout;

  before(async function () {
    requireLab(this, { root: true, commands: ['ip', 'ping', 'xdp-filter', 'bpftool', 'hping3'] });
    lab = HostLab.create('xdp');
    lab.installForeign();
    pristine = lab.snapshot();
    action = await create('xdp', config());
  });
  after(() => {
    if (!lab) return;
    // Whatever a failed test left: the program goes with the namespace; ft's bpffs instance is unmounted here.
    lab.delete();
    if (mounted()) spawnSync('umount', [bpffs()]);
    spawnSync('rmdir', [bpffs()]);
  });

  it("drops a source at the driver, passes another; withdraw unloads the program and unmounts ft's bpffs", async () => {
    const l = lab!;
    expect(mounted()).to.equal(false);
    const rule = hostRule({ sources: [BLOCKED] });
    const applied = await action.apply(rule);
    expect(applied.detail).to.match(/ft mounted its own instance/);
    expect(mounted()).to.equal(true);
    expect(l.fw.exec(['ip', 'link', 'show', l.fwIf]).stdout).to.match(/prog\/xdp id \d+ name xdpfilt/);
    expect(xdpStatus()).to.match(/192\.0\.2\.7\s+src/);
    expect(l.reaches(BLOCKED), 'blocked at XDP').to.equal(false);
    expect(l.reaches(ALLOWED), 'other source').to.equal(true);
    expect(l.reaches(FOREIGN_SRC), 'operator iptables rule still there').to.equal(false);
    const c = (await action.counters!()).find((x) => x.ruleId === rule.id);
    expect(c?.packets).to.be.at.least(2);
    expect((await action.list()).map((r) => r.ruleId)).to.deep.equal([rule.id]);
    await action.withdraw(rule);
    expect(l.fw.exec(['ip', 'link', 'show', l.fwIf]).stdout).to.not.match(/prog\/xdp/);
    expect(mounted()).to.equal(false);
    expect(l.snapshot()).to.equal(pristine);
  });

  it('drops UDP from an amplification source port and keeps a rule shared entry until its last owner goes', async () => {
    const l = lab!;
    const dns = hostRule({ protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] });
    const both = hostRule({
      protocol: 'udp',
      sourcePorts: [
        { min: 53, max: 53 },
        { min: 123, max: 123 },
      ],
    });
    await action.apply(dns);
    await action.apply(both);
    l.peer.exec(
      ['timeout', '5', 'hping3', '-2', '-q', '-s', '53', '-k', '-p', '9', '-c', '5', '-i', 'u20000', TARGET],
      { allowFail: true },
    );
    const c = (await action.counters!()).find((x) => x.ruleId === dns.id);
    expect(c?.packets, 'the five UDP/53 packets were dropped at XDP').to.be.at.least(5);
    expect(l.reaches(BLOCKED), 'ICMP is not matched by a port entry').to.equal(true);
    await action.withdraw(both);
    expect(xdpStatus()).to.match(/\n\s+53\s+src,udp/);
    expect(xdpStatus()).to.not.match(/\n\s+123\s+src/);
    await action.withdraw(dns);
    expect(l.snapshot()).to.equal(pristine);
    expect(mounted()).to.equal(false);
  });

  it('writes 10,000 IPv6 sources into the pinned map in one bpftool batch; the same address as source and destination of two rules survives either withdraw', async () => {
    const l = lab!;
    // xdp-filter's maps hold exactly 10,000 addresses per family: one more is refused before anything is written.
    const tooMany = hostRule({ sources: [...manySources(10_000), BLOCKED6] }, { type: 'drop' }, TARGET6);
    const before = l.snapshot();
    let err: unknown;
    await action.apply(tooMany).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/10001 sources exceed this mechanism's limit of 10000/);
    // Even with a higher per-rule limit, the map's own size is checked before anything is written.
    const roomy = await create('xdp', { ...config(), maxEntries: 20_000 });
    await roomy.apply(tooMany).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/IPv6 map holds 10000 addresses: 0 are in use and this rule adds 10001/);
    expect(l.snapshot()).to.equal(before);
    const rule = hostRule({ sources: [...manySources(9_999), BLOCKED6] }, { type: 'drop' }, TARGET6);
    const rendered = action.render(rule);
    expect(
      rendered.filter((c) => c.argv?.includes('bpftool')),
      'one batch for every address',
    ).to.have.length(1);
    await action.apply(rule);
    const status = xdpStatus();
    expect(status.match(/2001:db8:ff/g)?.length, 'read back by xdp-filter itself').to.equal(9_999);
    expect(status).to.match(/2001:db8:1::7\s+src/);
    expect(l.reaches(BLOCKED6)).to.equal(false);
    expect(l.reaches(ALLOWED6)).to.equal(true);
    // One address, two modes from two rules: withdrawing one keeps the other mode.
    const asDst = hostRule({}, { type: 'drop' }, BLOCKED);
    const asSrc = hostRule({ sources: [BLOCKED] });
    await action.apply(asDst);
    await action.apply(asSrc);
    expect(xdpStatus()).to.match(/192\.0\.2\.7\s+src,dst/);
    await action.withdraw(asDst);
    expect(xdpStatus()).to.match(/192\.0\.2\.7\s+src\s/);
    await action.withdraw(asSrc);
    await action.withdraw(rule);
    expect(l.snapshot()).to.equal(pristine);
    expect(mounted()).to.equal(false);
  });

  it('generic (skb) mode, for drivers without native XDP: still drops, and says which mode it runs in', async () => {
    const l = lab!;
    const skb = await create('xdp', { ...config(), mode: 'skb' });
    const rule = hostRule({ sources: [BLOCKED] });
    expect((await skb.apply(rule)).detail).to.match(/skb mode/);
    expect(l.fw.exec(['ip', 'link', 'show', l.fwIf]).stdout).to.match(/xdpgeneric/);
    expect((await skb.health()).detail).to.match(/loaded on .* in skb mode/);
    expect(l.reaches(BLOCKED)).to.equal(false);
    expect(l.reaches(ALLOWED)).to.equal(true);
    await skb.withdraw(rule);
    expect(l.snapshot()).to.equal(pristine);
  });

  it('mode auto falls back to skb mode where the driver has no native XDP (a bridge)', async () => {
    const l = lab!;
    l.fw.exec(['ip', 'link', 'add', 'ftbr0', 'type', 'bridge']);
    l.fw.exec(['ip', 'link', 'set', 'ftbr0', 'up']);
    try {
      const onBridge = await create('xdp', { netns: l.fw.name, interface: 'ftbr0' });
      const rule = hostRule({ sources: [BLOCKED] });
      expect((await onBridge.apply(rule)).detail).to.match(/skb mode/);
      expect(l.fw.exec(['ip', 'link', 'show', 'ftbr0']).stdout).to.match(/xdpgeneric/);
      await onBridge.withdraw(rule);
      expect(l.fw.exec(['ip', 'link', 'show', 'ftbr0']).stdout).to.not.match(/prog\/xdp/);
    } finally {
      l.fw.exec(['ip', 'link', 'del', 'ftbr0']);
    }
    expect(mounted()).to.equal(false);
  });

  it('reconcile unloads what a killed process left', async () => {
    const l = lab!;
    applyAndCrash('xdp', config(), hostRule({ sources: [BLOCKED] }));
    expect(l.reaches(BLOCKED)).to.equal(false);
    const fresh = await create('xdp', config());
    expect(await fresh.list()).to.have.length(1);
    await reconcileAll(fresh);
    expect(l.snapshot()).to.equal(pristine);
    expect(mounted()).to.equal(false);
  });

  it('refuses combinations xdp-filter cannot express, prefixes and bad ports', async () => {
    await expectRefused(
      lab!,
      action,
      hostRule({ sources: [BLOCKED], protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] }),
      /one field per entry/,
    );
    await expectRefused(lab!, action, hostRule({ sources: ['192.0.2.0/28'] }), /is a prefix/);
    await expectRefused(lab!, action, hostRule({ protocol: 'udp', sourcePorts: [{ min: 0, max: 0 }] }), /not a port/);
  });
});
