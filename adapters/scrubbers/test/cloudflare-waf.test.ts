import { expect } from 'chai';
import { CloudflareWafAction, cloudflareWafConfigSchema } from '../src/cloudflare-waf.js';
import { CloudflareFake } from '../../http-vendor/test/cloudflare-fake.js';
import { capturedContext } from '../../http-vendor/test/fake.js';
import { block, divert } from './rules.js';

const ACCOUNT = 'abcdef0123456789abcdef0123456789';
const TOKEN = 'cf-waf-token-4b3a2f1e';

describe('cloudflare-waf against a local fake of the Cloudflare v4 API (IP Access Rules)', () => {
  let cf: CloudflareFake;
  let captured: ReturnType<typeof capturedContext>;

  beforeEach(async () => {
    cf = new CloudflareFake(ACCOUNT, TOKEN);
    await cf.server.start();
    captured = capturedContext('cfwaf', { CF_TOKEN: TOKEN, CF_BAD: 'nope' });
  });
  afterEach(async () => {
    await cf.server.stop();
    captured.cleanup();
  });

  const action = (tokenRef = 'CF_TOKEN') =>
    new CloudflareWafAction(
      cloudflareWafConfigSchema.parse({ zoneId: cf.zoneId, apiToken: tokenRef, baseUrl: cf.base, retries: 2 }),
      captured.ctx,
    );

  it("activate → status → withdraw: one labelled block rule per source, withdraw removes only ft's", async () => {
    // An operator's own rule on the zone, which ft must never touch.
    cf.accessRules.set('f'.repeat(32), {
      id: 'f'.repeat(32),
      mode: 'block',
      configuration: { target: 'ip', value: '192.0.2.99' },
      notes: 'manual block by noc',
      created_on: '',
      modified_on: '',
    });
    const a = action();
    const rule = block(['198.51.100.7/32', '198.51.100.0/24', '2001:db8:5::/48']);
    expect((await a.apply(rule)).state).to.equal('installed');
    const posts = cf.server.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.path)).to.deep.equal(
      Array(3).fill(`/client/v4/zones/${cf.zoneId}/firewall/access_rules/rules`),
    );
    expect(JSON.parse(posts[0]!.body)).to.deep.equal({
      mode: 'block',
      configuration: { target: 'ip', value: '198.51.100.7' },
      notes: `ft:${rule.id} 203.0.113.7/32`,
    });
    expect(JSON.parse(posts[1]!.body).configuration).to.deep.equal({ target: 'ip_range', value: '198.51.100.0/24' });

    await a.apply(rule);
    expect(cf.server.count('POST', '/')).to.equal(3);
    const listed = await a.list();
    expect(listed).to.have.length(3);
    expect(listed.every((l) => l.ruleId === rule.id)).to.equal(true);

    await a.withdraw(rule);
    expect([...cf.accessRules.values()].map((r) => r.notes)).to.deep.equal(['manual block by noc']);
    await a.withdraw(rule);
    expect(await a.list()).to.deep.equal([]);
  });

  it('two ft instances applying the same rule at once end with one rule per source, both installed', async () => {
    const rule = block(['198.51.100.8/32']);
    const [x, y] = await Promise.all([action().apply(rule), action().apply(rule)]);
    expect([x.state, y.state]).to.deep.equal(['installed', 'installed']);
    expect([...cf.accessRules.values()].filter((r) => r.configuration.value === '198.51.100.8')).to.have.length(1);
  });

  it('a source someone else already blocks by hand: clear error, their rule left alone', async () => {
    cf.accessRules.set('e'.repeat(32), {
      id: 'e'.repeat(32),
      mode: 'block',
      configuration: { target: 'ip', value: '198.51.100.9' },
      notes: 'noc',
      created_on: '',
      modified_on: '',
    });
    const err = (await action()
      .apply(block(['198.51.100.9/32']))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/access rule for 198\.51\.100\.9 already exists and was not created by ft/);
    expect(cf.accessRules.size).to.equal(1);
  });

  it('retries a 429 (Retry-After) on the create, sends it once more, and a 5xx on the list', async () => {
    cf.server.inject.push((r) => (r.method === 'GET' ? { status: 503, body: 'upstream' } : undefined));
    cf.server.inject.push((r) =>
      r.method === 'POST'
        ? {
            status: 429,
            headers: { 'retry-after': '1' },
            body: {
              success: false,
              errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }],
              messages: [],
              result: null,
            },
          }
        : undefined,
    );
    await action().apply(block(['198.51.100.10/32']));
    expect(cf.server.count('POST', '/')).to.equal(2);
    expect(cf.accessRules.size).to.equal(1);
  });

  it('says "cannot" for what IP Access Rules cannot express, in preview and apply, without a request', async () => {
    const a = action();
    expect(a.render(divert())[0]!.text).to.match(/cloudflare-waf cannot: .* divert rule/);
    expect(a.render(block(['198.51.100.0/25']))[0]!.text).to.match(/cannot: .*198\.51\.100\.0\/25 is not one/);
    expect(a.render(block(['198.51.100.7/32'], { protocol: 'udp' }))[0]!.text).to.match(/cannot narrow by protocol/);
    expect(
      a.render(
        block(['198.51.100.7/32'], {}, '203.0.113.7/32', { type: 'rate-limit', packetsPerSecond: 10, burst: 10 }),
      )[0]!.text,
    ).to.match(/"rate-limit" is not expressible/);
    const err = (await a.apply(block(['198.51.100.0/25'])).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/cannot/);
    expect(cf.server.requests).to.have.length(0);
  });

  it('bad token: one request, clear error, no credential in logs', async () => {
    const err = (await action('CF_BAD')
      .apply(block(['198.51.100.11/32']))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 403: 10000 Authentication error/);
    expect(cf.server.requests).to.have.length(1);
    await action().apply(block(['198.51.100.11/32']));
    expect(captured.logs()).to.not.contain(TOKEN);
  });

  it('config: exactly one of zoneId / accountId', () => {
    expect(cloudflareWafConfigSchema.safeParse({ apiToken: 'X' }).success).to.equal(false);
    expect(
      cloudflareWafConfigSchema.safeParse({ apiToken: 'X', zoneId: ACCOUNT, accountId: ACCOUNT }).success,
    ).to.equal(false);
    expect(
      cloudflareWafConfigSchema.safeParse({ apiToken: 'X', accountId: ACCOUNT, baseUrl: 'http://api.example.com' })
        .success,
    ).to.equal(false);
  });
});
