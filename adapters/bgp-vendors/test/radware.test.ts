import { expect } from 'chai';
import { RadwareAction, radwareConfigSchema } from '../src/radware.js';
import { capturedContext } from '../../http-vendor/test/fake.js';
import { RadwareFake } from './radware-fake.js';
import { makeRule, Prefix, type DivertRule, type RtbhRule } from '@ft/sdk';

const USER = 'ft-api';
const PASS = 'vision-pass-8d7c6b';
const divert = (target = '203.0.113.0/24') =>
  makeRule<DivertRule>({
    kind: 'divert',
    tenant: 'lab',
    target: Prefix.parse(target),
    provider: 'df',
    level: 4,
    ttlSeconds: 300,
  });

describe('radware (DefenseFlow attackstart/attackstop via Vision) against a local fake', () => {
  let df: RadwareFake;
  let captured: ReturnType<typeof capturedContext>;

  beforeEach(async () => {
    df = new RadwareFake(USER, PASS);
    await df.server.start();
    captured = capturedContext('df', { RW_USER: USER, RW_PASS: PASS, RW_BAD: 'nope' });
  });
  afterEach(async () => {
    await df.server.stop();
    captured.cleanup();
  });

  const action = (pass = 'RW_PASS') =>
    new RadwareAction(
      radwareConfigSchema.parse({ url: df.server.base, username: 'RW_USER', password: pass, retries: 2 }),
      captured.ctx,
    );

  it('activate → status → withdraw: login, attackstart with the network, attackstop with the same id', async () => {
    const a = action();
    const rule = divert();
    expect((await a.apply(rule)).state).to.equal('installed');
    const start = df.server.requests.find((r) => r.path.endsWith('/attackstart'))!;
    const body = JSON.parse(start.body);
    expect(body).to.deep.include({
      externalAttackId: `ft_${rule.id.replace('-', '_')}`,
      networksDetails: { networks: [{ ip: '203.0.113.0', prefix: 24 }] },
    });
    expect(df.sessions.has(String(start.headers.jsessionid))).to.equal(true);
    await a.apply(rule);
    expect(df.server.count('POST', '/mgmt/device/df/config/action/attackstart')).to.equal(1);
    expect((await a.list()).map((l) => l.ruleId)).to.deep.equal([rule.id]);
    await a.withdraw(rule);
    await a.withdraw(rule);
    expect(df.attacks.size).to.equal(0);
    expect(df.server.count('POST', '/mgmt/device/df/config/action/attackstop')).to.equal(1);
  });

  it('an expired session is renewed once and the call goes through', async () => {
    const a = action();
    await a.apply(divert('198.51.100.0/24'));
    df.sessions.clear();
    await a.apply(divert('203.0.113.0/24'));
    expect(df.server.count('POST', '/mgmt/system/user/login')).to.equal(2);
    expect(df.attacks.size).to.equal(2);
  });

  it("wrong password: the login is refused once with Radware's message, no retry storm, no secret in logs", async () => {
    const err = (await action('RW_BAD')
      .apply(divert())
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 401: .*Invalid Username or invalid Password/);
    expect(df.server.requests).to.have.length(1);
    await action().apply(divert());
    expect(captured.logs()).to.not.contain(PASS);
  });

  it('retries a 503 on attackstart with the same external id (DefenseFlow refuses a duplicate id, so a resend cannot start two attacks)', async () => {
    df.server.inject.push((r) =>
      r.path.endsWith('/attackstart')
        ? { status: 503, headers: { 'retry-after': '0' }, body: { message: 'busy' } }
        : undefined,
    );
    await action().apply(divert());
    const ids = df.server.requests
      .filter((r) => r.path.endsWith('/attackstart'))
      .map((r) => JSON.parse(r.body).externalAttackId);
    expect(ids).to.have.length(2);
    expect(new Set(ids).size).to.equal(1);
  });

  it('[UNVERIFIED error texts] a resend after a lost reply ("already exists") or a stop of an ended attack ("not found") is success', async () => {
    const a = action();
    df.server.inject.push((r) => {
      if (!r.path.endsWith('/attackstart')) return undefined;
      df.attacks.set(JSON.parse(r.body).externalAttackId, { networks: [], alertInfo: '' });
      return { status: 502, body: { message: 'gateway' } };
    });
    expect((await a.apply(divert())).state).to.equal('installed');
    df.attacks.clear();
    await a.withdraw(divert());
    expect(await a.list()).to.deep.equal([]);
  });

  it('render is exact and offline; other rule kinds say cannot', () => {
    const a = new RadwareAction(
      radwareConfigSchema.parse({ url: 'https://vision.example.net', username: 'U', password: 'P' }),
      captured.ctx,
    );
    expect(a.render(divert())[0]!.payload).to.deep.include({
      method: 'POST',
      url: 'https://vision.example.net/mgmt/device/df/config/action/attackstart',
    });
    const bh = makeRule<RtbhRule>({
      kind: 'rtbh',
      tenant: 'lab',
      target: Prefix.parse('203.0.113.7/32'),
      communities: ['65535:666'],
      noExport: true,
      level: 3,
      ttlSeconds: 60,
    });
    expect(a.render(bh)[0]!.text).to.match(/radware cannot/);
    expect(
      radwareConfigSchema.safeParse({ url: 'http://vision.example.net', username: 'U', password: 'P' }).success,
    ).to.equal(false);
  });
});
