import { expect } from 'chai';
import { HetznerRobotAction, hetznerConfigSchema } from '../src/hetzner-robot.js';
import type { VendorHttpError } from '@ft/http-vendor';
import { capturedContext } from '../../http-vendor/test/fake.js';
import { RobotFake, parseRobotForm } from './hetzner-fake.js';
import { block, divert } from './rules.js';

const USER = '#ws+AbCdEf';
const PASS = 'robot-pass-71c0ffee';

describe('hetzner (Robot firewall) against a local fake: read-modify-write of the whole rule set', () => {
  let robot: RobotFake;
  let captured: ReturnType<typeof capturedContext>;

  beforeEach(async () => {
    robot = new RobotFake(321, USER, PASS);
    await robot.server.start();
    captured = capturedContext('hz', { HZ_USER: USER, HZ_PASS: PASS, HZ_BAD: 'nope' });
  });
  afterEach(async () => {
    await robot.server.stop();
    captured.cleanup();
  });

  const action = (pass = 'HZ_PASS') =>
    new HetznerRobotAction(
      hetznerConfigSchema.parse({
        serverNumber: 321,
        user: 'HZ_USER',
        password: pass,
        baseUrl: robot.server.base,
        retries: 2,
      }),
      captured.ctx,
    );

  it("activate → pending (in process) → installed; ft discards go first, the server's rules stay; withdraw removes only ft's", async () => {
    const a = action();
    const rule = block(['198.51.100.7/32', '198.51.100.64/26'], {
      protocol: 'udp',
      destinationPorts: [{ min: 53, max: 53 }],
    });
    const first = await a.apply(rule);
    expect(first.state).to.equal('pending');
    const post = robot.server.requests.find((r) => r.method === 'POST')!;
    const form = parseRobotForm(post.body);
    // The POST replaces the whole configuration: every setting GET returned goes back (identifiers do not).
    expect(form.fields).to.deep.equal({ status: 'active', filter_ipv6: 'true', whitelist_hos: 'true', port: 'main' });
    expect(form.input.map((r) => r.name)).to.deep.equal([`ft-${rule.id}`, `ft-${rule.id}`, 'ssh', 'web']);
    expect(form.input[0]).to.deep.equal({
      name: `ft-${rule.id}`,
      ip_version: 'ipv4',
      dst_ip: '203.0.113.7/32',
      dst_port: '53',
      src_ip: '198.51.100.7/32',
      protocol: 'udp',
      action: 'discard',
    });
    expect(form.output).to.have.length(1);

    // The executor's poll: still "in process" → pending without writing; then live → installed.
    const polled = await a.apply(rule);
    expect(polled.state).to.equal('pending');
    expect(polled.detail).to.match(/in process/);
    expect((await a.apply(rule)).state).to.equal('installed');
    expect(robot.server.count('POST', '/')).to.equal(1);
    expect((await a.list()).map((l) => l.ruleId)).to.deep.equal([rule.id]);

    await a.withdraw(rule);
    await a.withdraw(rule);
    expect(robot.server.count('POST', '/')).to.equal(2);
    expect(robot.firewall.rules.input.map((r) => r.name)).to.deep.equal(['ssh', 'web']);
    expect(await a.list()).to.deep.equal([]);
  });

  it("keeps the owner's settings across ft's writes: IPv6 filtering stays on after apply and withdraw", async () => {
    robot.processGets = 0;
    const rule = block(['198.51.100.7/32']);
    await action().apply(rule);
    expect(robot.firewall.filter_ipv6, 'after apply').to.equal(true);
    expect(robot.firewall.whitelist_hos).to.equal(true);
    await action().withdraw(rule);
    expect(robot.firewall.filter_ipv6, 'after withdraw').to.equal(true);
    expect(robot.firewall.rules.input.map((r) => r.name)).to.deep.equal(['ssh', 'web']);
  });

  it("a settings change between ft's two reads is not undone: ft starts over with the new settings", async () => {
    robot.processGets = 0;
    // The operator switches "Hetzner services" off in the Robot panel just after ft's first read.
    robot.onGet = (fw) => {
      if (robot.server.count('GET', '/') === 2) fw.whitelist_hos = false;
    };
    await action().apply(block(['198.51.100.7/32']));
    expect(robot.firewall.whitelist_hos).to.equal(false);
    expect(robot.server.count('GET', '/'), 'two reads, a mismatch, two more reads').to.equal(4);
    expect(robot.server.count('POST', '/')).to.equal(1);
  });

  it("Robot's request limit (HTTP 403 RATE_LIMIT_EXCEEDED) is waited out and the write resent: not an auth failure", async () => {
    robot.processGets = 0;
    // Two GETs of the read-modify-write fit in the window; the POST is refused until the 1 s interval has passed.
    robot.limit = { maxRequest: 2, interval: 1 };
    const rule = block(['198.51.100.7/32']);
    const applied = await action().apply(rule);
    expect(applied.state).to.equal('pending');
    const posts = robot.server.requests.filter((r) => r.method === 'POST');
    expect(posts, 'refused once, then resent after the interval').to.have.length(2);
    expect(robot.firewall.rules.input.map((r) => r.name)).to.deep.equal([`ft-${rule.id}`, 'ssh', 'web']);
    expect(captured.logs()).to.not.match(/check the credential/);

    // A window longer than the adapter waits (Robot's hourly limits): a rate-limit error now, naming the limit;
    // the executor retries the rule later. Never "check the credential".
    robot.limit = { maxRequest: 0, interval: 3600 };
    const err = (await action()
      .withdraw(rule)
      .catch((e: unknown) => e)) as VendorHttpError;
    expect(err.kind).to.equal('rate-limited');
    expect(err.message).to.match(
      /HTTP 403: RATE_LIMIT_EXCEEDED: rate limit exceeded \(Robot allows 0 requests per 3600 s\); server asks to wait 3600 s/,
    );
    expect(err.message).to.not.match(/check the credential/);
  });

  it("someone edits the rules between ft's read and write: ft starts over and keeps their change", async () => {
    let edits = 1;
    robot.onGet = (fw) => {
      if (edits-- > 0)
        fw.rules.input.push({
          name: 'noc-added',
          ip_version: 'ipv4',
          dst_ip: null,
          dst_port: '80',
          src_ip: null,
          src_port: null,
          protocol: 'tcp',
          tcp_flags: null,
          action: 'accept',
        });
    };
    robot.processGets = 0;
    const rule = block(['198.51.100.7/32']);
    await action().apply(rule);
    expect(robot.firewall.rules.input.map((r) => r.name)).to.deep.equal([`ft-${rule.id}`, 'ssh', 'web', 'noc-added']);
  });

  it('rules that keep changing: a conflict error after the retries, nothing written', async () => {
    let n = 0;
    robot.onGet = (fw) => void (fw.rules.input[1]!.dst_port = String(1000 + n++));
    const err = (await action()
      .apply(block(['198.51.100.7/32']))
      .catch((e: unknown) => e)) as Error;
    expect(err.name).to.equal('ConflictError');
    expect(err.message).to.match(/kept changing under us .* nothing was written/);
    expect(robot.server.count('POST', '/')).to.equal(0);
  });

  it("Robot's 10-rule cap is checked before writing, and a disabled firewall is never switched on", async () => {
    const many = block(Array.from({ length: 9 }, (_, i) => `198.51.100.${i + 1}/32`));
    const err = (await action()
      .apply(many)
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/would need 11 input rules, Robot allows 10; nothing was changed/);
    robot.firewall.status = 'disabled';
    const off = (await action()
      .apply(block(['198.51.100.7/32']))
      .catch((e: unknown) => e)) as Error;
    expect(off.message).to.match(/is disabled; ft will not switch it on/);
    expect(robot.server.count('POST', '/')).to.equal(0);
  });

  it('retries a 503 on the read [Robot limits UNVERIFIED]; bad password is one request, clear, no secret in logs', async () => {
    robot.server.inject.push({
      status: 503,
      body: { error: { status: 503, code: 'SERVICE_UNAVAILABLE', message: 'try later' } },
    });
    robot.processGets = 0;
    expect((await action().apply(block(['198.51.100.7/32']))).state).to.equal('pending');
    const before = robot.server.requests.length;
    const err = (await action('HZ_BAD')
      .list()
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(
      /HTTP 401: UNAUTHORIZED: Unauthorized \(Robot blocks the calling address for 10 minutes after 3 failed logins\) \(check the credential/,
    );
    expect(robot.server.requests.length - before).to.equal(1);
    const logs = captured.logs();
    expect(logs).to.not.contain(PASS);
    expect(logs).to.not.contain(Buffer.from(`${USER}:${PASS}`).toString('base64'));
  });

  it('cannot: divert (Hetzner has no scrubbing API), rate limits, IPv6, several port ranges', () => {
    const a = action();
    expect(a.render(divert())[0]!.text).to.match(/hetzner cannot: .*divert.*no scrubbing API/);
    expect(
      a.render(
        block(['198.51.100.7/32'], {}, '203.0.113.7/32', { type: 'rate-limit', packetsPerSecond: 1, burst: 1 }),
      )[0]!.text,
    ).to.match(/cannot/);
    expect(a.render(block(['2001:db8::1/128'], {}, '2001:db8:100::7/128'))[0]!.text).to.match(/IPv4 Robot rules only/);
    expect(
      a.render(
        block(['198.51.100.7/32'], {
          destinationPorts: [
            { min: 53, max: 53 },
            { min: 123, max: 123 },
          ],
        }),
      )[0]!.text,
    ).to.match(/one destination port range/);
    expect(robot.server.requests).to.have.length(0);
  });
});
