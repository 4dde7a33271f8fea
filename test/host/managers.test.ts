import type { Action, HostFilterRule } from '@ft/sdk';
import { expect } from 'chai';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { run } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { PrivateFirewalld } from './firewalld.js';
import { applyAndCrash, create, expectRefused, reconcileAll } from './harness.js';
import { ALLOWED, BLOCKED, HostLab, hostRule } from './lab.js';

/**
 * ufw for real, inside the namespace: `ip netns exec` bind-mounts /etc/netns/<ns>/ufw over /etc/ufw and
 * /etc/netns/<ns>/default over /etc/default, so the test's ufw has its own configuration and its own rules
 * and the host's ufw is never touched.
 */
describe('host action ufw (real ufw in a namespace with its own /etc/ufw)', function () {
  this.timeout(120_000);
  let lab: HostLab | undefined;
  let etc: string | undefined;
  let action: Action;
  let pristine: string;
  let pristineRules: string;
  let server: Daemon | undefined;
  // ufw's before.rules accept ICMP echo ahead of every user rule, so reachability is a TCP connect to the port
  // the operator allowed (22), from a chosen source address, 1.5 s at most.
  const connects = (from: string) =>
    lab!.peer.exec(
      [
        process.execPath,
        '-e',
        `const s=require('net').connect({host:'192.0.2.1',port:22,localAddress:'${from}',timeout:1500});s.on('connect',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(2))`,
      ],
      { allowFail: true, timeoutMs: 5000 },
    ).status === 0;
  const config = () => ({ netns: lab!.fw.name });
  const userRules = () => readFileSync(join(etc!, 'ufw', 'user.rules'), 'utf8');

  before(async function () {
    requireLab(this, { root: true, commands: ['ip', 'ping', 'ufw'] });
    lab = HostLab.create('ufw');
    etc = join('/etc/netns', lab.fw.name);
    mkdirSync(join(etc, 'default'), { recursive: true });
    cpSync('/etc/ufw', join(etc, 'ufw'), { recursive: true });
    cpSync('/etc/default/ufw', join(etc, 'default', 'ufw'));
    action = await create('ufw', config());
    server = new Daemon(
      lab.fw.argv([process.execPath, '-e', "require('net').createServer((s)=>s.end()).listen(22,'192.0.2.1')"]),
    );
  });
  after(async () => {
    await server?.stop();
    lab?.delete();
    if (etc) rmSync(etc, { recursive: true, force: true });
  });

  it('detects whether ufw manages the namespace', async () => {
    expect((await action.health()).status).to.equal('degraded');
    lab!.fw.exec(['ufw', '--force', 'enable']);
    lab!.fw.exec(['ufw', 'allow', '22/tcp', 'comment', 'operator ssh']);
    expect(await action.health()).to.deep.equal({ status: 'ok', detail: 'ufw is active' });
    // Right after `ufw enable` + `ufw allow`, ufw6-user-limit lacks two lines that ufw's next full reload (which
    // any later ufw change triggers) puts in: reload once so the baseline is ufw's own settled state.
    lab!.fw.exec(['ufw', 'reload']);
    pristine = lab!.snapshot();
    pristineRules = userRules();
    expect(connects(BLOCKED), 'the operator allowed 22/tcp').to.equal(true);
  });

  it("adds a commented deny through ufw's own CLI ahead of the operator's rules; withdraw leaves ufw as it was", async () => {
    const l = lab!;
    const rule = hostRule({ sources: [BLOCKED] });
    await action.apply(rule);
    const added = l.fw.exec(['ufw', 'show', 'added']).stdout;
    expect(added).to.contain(`ufw deny from ${BLOCKED} to 192.0.2.1 comment 'ft:${rule.id}'`);
    expect(added.indexOf(rule.id)).to.be.lessThan(added.indexOf('operator ssh'));
    // ufw keeps comments hex-encoded in user.rules.
    expect(userRules()).to.contain(Buffer.from(`ft:${rule.id}`).toString('hex'));
    expect(connects(BLOCKED)).to.equal(false);
    expect(connects(ALLOWED)).to.equal(true);
    expect((await action.list()).map((r) => r.ruleId)).to.deep.equal([rule.id]);
    await action.apply(rule);
    expect(l.fw.exec(['ufw', 'show', 'added']).stdout.split(rule.id).length).to.equal(2);
    await action.withdraw(rule);
    expect(connects(BLOCKED)).to.equal(true);
    expect(userRules()).to.equal(pristineRules);
    expect(l.snapshot()).to.equal(pristine);
  });

  it('reconcile deletes ufw rules a killed process left, and not the operator rule', async () => {
    applyAndCrash(
      'ufw',
      config(),
      hostRule({
        sources: [BLOCKED],
        protocol: 'udp',
        sourcePorts: [
          { min: 53, max: 53 },
          { min: 123, max: 123 },
        ],
      }),
    );
    const fresh = await create('ufw', config());
    expect(await reconcileAll(fresh)).to.equal(1);
    expect(userRules()).to.equal(pristineRules);
    expect(lab!.snapshot()).to.equal(pristine);
  });

  it('refuses what ufw cannot express and bad input', async () => {
    await expectRefused(
      lab!,
      action,
      hostRule({ sources: [BLOCKED] }, { type: 'hashlimit', packetsPerSecond: 10, burst: 5, per: 'source' }),
      /ufw denies or rejects/,
    );
    await expectRefused(lab!, action, hostRule({ sources: ['2001:db8::9'] }), /IPv6.*IPv4/);
    await expectRefused(
      lab!,
      action,
      hostRule({ protocol: 'tcp', destinationPorts: [{ min: 70000, max: 70000 }] }),
      /not a port/,
    );
  });
});

/**
 * firewalld for real, inside the namespace, never the host's: a private dbus-daemon started (and always stopped)
 * by this test carries firewall-cmd's calls to a firewalld that runs in the namespace with its own copy of
 * /etc/firewalld. ft's commands find that firewalld through DBUS_SYSTEM_BUS_ADDRESS, set for this suite only.
 */
describe('host action firewalld (real firewalld in a namespace, on a private D-Bus)', function () {
  this.timeout(120_000);
  let lab: HostLab | undefined;
  let fwd: PrivateFirewalld | undefined;
  let action: Action;
  let pristine: string;
  let savedBus: string | undefined;
  const hostHadFirewalld = () => run(['nft', 'list', 'tables'], { allowFail: true }).stdout.includes('firewalld');
  const config = () => ({ zone: 'public', priority: -100, netns: lab!.fw.name });
  const richRules = () => fwd!.cmd(['--zone=public', '--list-rich-rules']).stdout;
  const operatorRule = 'rule family="ipv4" source address="192.0.2.99" drop';

  before(async function () {
    requireLab(this, { root: true, commands: ['ip', 'ping', 'nft', 'firewalld', 'firewall-cmd', 'dbus-daemon'] });
    expect(hostHadFirewalld(), "the host's own ruleset has no firewalld table").to.equal(false);
    lab = HostLab.create('fwd');
    fwd = await PrivateFirewalld.start(lab.fw.name);
    savedBus = process.env.DBUS_SYSTEM_BUS_ADDRESS;
    process.env.DBUS_SYSTEM_BUS_ADDRESS = fwd.busAddress;
    expect(fwd.cmd(['--zone=public', `--add-rich-rule=${operatorRule}`]).status).to.equal(0);
    action = await create('firewalld', config());
    pristine = lab.snapshot() + richRules();
  });
  after(async () => {
    if (savedBus === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
    else process.env.DBUS_SYSTEM_BUS_ADDRESS = savedBus;
    await fwd?.stop();
    lab?.delete();
    expect(hostHadFirewalld(), "the host's ruleset is untouched").to.equal(false);
  });

  it('health: firewalld is running in the namespace', async () => {
    expect(await action.health()).to.deep.equal({ status: 'ok', detail: 'firewalld is running' });
  });

  it('adds one runtime rich rule per source, tagged ft:<rule id>; drops the source, not its neighbour; withdraw restores firewalld and the kernel exactly', async () => {
    const l = lab!;
    expect(l.reaches(BLOCKED), 'before any rule').to.equal(true);
    const rule = hostRule({ sources: [BLOCKED] });
    await action.apply(rule);
    // firewalld lists the rule exactly as ft wrote it (withdraw removes it in that listed form).
    const rendered = action.render(rule).map((c) => c.argv!.find((a) => a.startsWith('--add-rich-rule='))!.slice(16));
    for (const r of rendered) expect(richRules()).to.contain(r);
    expect(rendered[0]).to.contain(`log prefix="ft:${rule.id} "`);
    expect(l.reaches(BLOCKED), 'blocked source').to.equal(false);
    expect(l.reaches(ALLOWED), 'its neighbour').to.equal(true);
    expect((await action.list()).map((r) => r.ruleId)).to.deep.equal([rule.id]);
    await action.apply(rule);
    expect(richRules().split(rule.id).length, 'apply again adds nothing').to.equal(2);
    await action.withdraw(rule);
    expect(l.reaches(BLOCKED), 'after withdraw').to.equal(true);
    // The operator's rule included: firewalld's runtime rules and the namespace's nftables as before ft.
    expect(l.snapshot() + richRules()).to.equal(pristine);
  });

  it("expires a rule on firewalld's own timer (--timeout = the rule's TTL): nothing of it stays if ft is gone", async () => {
    const rule: HostFilterRule = { ...hostRule({ sources: [BLOCKED], protocol: 'udp' }), ttlSeconds: 2 };
    await action.apply(rule);
    expect(richRules()).to.contain(rule.id);
    await waitFor(() => !richRules().includes(rule.id), { timeoutMs: 60_000, what: 'firewalld to expire the rule' });
    expect(await action.list()).to.deep.equal([]);
    expect(lab!.snapshot() + richRules()).to.equal(pristine);
  });

  it('reconcile removes the rich rules a killed ft process left, and not the operator rule', async () => {
    applyAndCrash(
      'firewalld',
      config(),
      hostRule({ sources: [BLOCKED, '192.0.2.9'], protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] }),
    );
    expect(richRules().match(/log prefix="ft:/g), 'one rich rule per source').to.have.length(2);
    const fresh = await create('firewalld', config());
    expect(await reconcileAll(fresh)).to.equal(1);
    expect(richRules()).to.contain(operatorRule);
    expect(lab!.snapshot() + richRules()).to.equal(pristine);
  });

  it('refuses what a rich rule cannot express, changing nothing', async () => {
    await expectRefused(
      lab!,
      action,
      hostRule({
        sources: [BLOCKED],
        protocol: 'tcp',
        sourcePorts: [{ min: 1, max: 1 }],
        destinationPorts: [{ min: 80, max: 80 }],
      }),
      /one element/,
    );
    await expectRefused(
      lab!,
      action,
      hostRule({ sources: [BLOCKED] }, { type: 'connlimit', maxConnections: 5 }),
      /drop or reject/,
    );
    expect(lab!.snapshot() + richRules()).to.equal(pristine);
  });
});

/**
 * CSF (ConfigServer Security & Firewall) cannot run here. It is not packaged for Debian (no csf package in Debian 12
 * or later; lab/setup installs Debian packages only). Its vendor, ConfigServer, shut down on 31 August 2025 and its
 * download site with it: the last release (15.x, made GPL) now lives only in third-party forks and mirrors, which
 * would be fetched and run as unvetted code. And it has no per-namespace install: install.sh writes /etc/csf,
 * /usr/sbin/csf, /usr/local/csf and the init system's units, `csf -r` rebuilds the whole iptables ruleset from
 * /etc/csf and lfd is a host-wide daemon. What can be checked honestly without it: the exact argv ft would run, its
 * output parser against the format CSF's usage text gives, and that detection says it is absent.
 */
describe('host action csf (rendering and detection only: CSF is not packaged for Debian)', () => {
  it("csf: one temporary deny per source with the TTL and ft's comment", async () => {
    const rule = hostRule({ sources: [BLOCKED, '192.0.2.9'], protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] });
    const csf = await create('csf', {});
    const r = hostRule({
      sources: [BLOCKED],
      protocol: 'tcp',
      destinationPorts: [
        { min: 80, max: 80 },
        { min: 8000, max: 8080 },
      ],
    });
    expect(csf.render(r).map((c) => c.argv)).to.deep.equal([
      ['csf', '--tempdeny', BLOCKED, '300', '-p', '80,8000_8080', '-d', 'in', `ft:${r.id}`],
    ]);
    expect(() => csf.render(rule)).to.throw(/destination ports, nothing else/);
    expect(() => csf.render(hostRule({}))).to.throw(/give at least one/);
    expect((await csf.health()).detail).to.match(/csf is not installed/);
  });
});
