import type { Action } from '@ft/sdk';
import { expect } from 'chai';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
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
 * firewalld and CSF are not installed in the lab (firewalld needs a system D-Bus and takes over the whole
 * ruleset; CSF is not packaged for Debian). What can be checked honestly without them: the exact argv ft would
 * run, the parsers against the formats their documentation gives, and that detection says they are absent.
 */
describe('host actions firewalld and csf (rendering and detection only: tools not in the lab)', () => {
  const rule = hostRule({ sources: [BLOCKED, '192.0.2.9'], protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] });

  it('firewalld: one runtime rich rule per source, tagged by log prefix, expiring with the TTL', async () => {
    const fw = await create('firewalld', { zone: 'public', priority: -100 });
    const cmds = fw.render(rule);
    expect(cmds.map((c) => c.argv)).to.deep.equal(
      [BLOCKED, '192.0.2.9'].map((src) => [
        'firewall-cmd',
        '--zone=public',
        `--add-rich-rule=rule priority="-100" family="ipv4" source address="${src}" destination address="192.0.2.1/32" source-port port="53" protocol="udp" log prefix="ft:${rule.id} " level="warning" limit value="1/m" drop`,
        '--timeout=300s',
      ]),
    );
    expect(() =>
      fw.render(
        hostRule({
          sources: [BLOCKED],
          protocol: 'tcp',
          sourcePorts: [{ min: 1, max: 1 }],
          destinationPorts: [{ min: 80, max: 80 }],
        }),
      ),
    ).to.throw(/one element/);
    const health = await fw.health();
    expect(health.status).to.equal('down');
    expect(health.detail).to.match(/firewall-cmd is not installed/);
  });

  it("csf: one temporary deny per source with the TTL and ft's comment", async () => {
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
