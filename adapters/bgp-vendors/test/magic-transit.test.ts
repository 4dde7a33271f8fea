import { expect } from 'chai';
import { makeRule, Prefix, type DivertRule, type FlowSpecRule } from '@ft/sdk';
import { MagicTransitAction, magicTransitConfigSchema } from '../src/magic-transit.js';
import { CloudflareFake } from '../../http-vendor/test/cloudflare-fake.js';
import { capturedContext } from '../../http-vendor/test/fake.js';

const ACCOUNT = '0123456789abcdef0123456789abcdef';
const TOKEN = 'cf-token-9e8d7c6b5a';

const divert = (target = '203.0.113.0/24') =>
  makeRule<DivertRule>({
    kind: 'divert',
    tenant: 'lab',
    target: Prefix.parse(target),
    provider: 'cf',
    level: 4,
    ttlSeconds: 300,
  });

describe('cloudflare-magic-transit against a local fake of the Cloudflare v4 API', () => {
  let cf: CloudflareFake;
  let captured: ReturnType<typeof capturedContext>;

  beforeEach(async () => {
    cf = new CloudflareFake(ACCOUNT, TOKEN);
    cf.addPrefix('198.51.100.0/24', ['198.51.100.0/24']);
    cf.addPrefix('203.0.112.0/23', ['203.0.112.0/24', '203.0.113.0/24']);
    await cf.server.start();
    captured = capturedContext('cf', { CF_TOKEN: TOKEN, CF_BAD: 'nope' });
  });
  afterEach(async () => {
    await cf.server.stop();
    captured.cleanup();
  });

  const action = (extra: Record<string, unknown> = {}) =>
    new MagicTransitAction(
      magicTransitConfigSchema.parse({
        accountId: ACCOUNT,
        apiToken: 'CF_TOKEN',
        baseUrl: cf.base,
        retries: 2,
        ...extra,
      }),
      captured.ctx,
    );

  it('activate → pending while Cloudflare propagates → installed once settled → listed → withdraw un-advertises', async () => {
    cf.lagGets = 1;
    const a = action({ settleSeconds: 0 });
    const rule = divert();
    const first = await a.apply(rule);
    expect(cf.bgp('203.0.113.0/24')!.on_demand.advertised).to.equal(true);
    const patches = cf.server.requests.filter((r) => r.method === 'PATCH');
    expect(patches).to.have.length(1);
    expect(patches[0]!.path).to.equal(
      `/client/v4/accounts/${ACCOUNT}/addressing/prefixes/${cf.prefixes[1]!.id}/bgp/prefixes/${cf.bgp('203.0.113.0/24')!.id}`,
    );
    expect(JSON.parse(patches[0]!.body)).to.deep.equal({ on_demand: { advertised: true } });
    expect(first.state).to.equal('installed');

    // Re-apply (the executor polling) reads status: the lagging GET shows not yet, so pending; no second PATCH.
    const polled = await a.apply(rule);
    expect(polled.state).to.equal('pending');
    expect(polled.detail).to.match(/requested at .*does not show it yet/);
    expect((await a.apply(rule)).state).to.equal('installed');
    expect(cf.server.count('PATCH', '/')).to.equal(1);
    expect((await a.list()).map((r) => r.ruleId)).to.deep.equal([rule.id]);

    await a.withdraw(rule);
    expect(cf.bgp('203.0.113.0/24')!.on_demand.advertised).to.equal(false);
    expect(JSON.parse(cf.server.requests.at(-1)!.body)).to.deep.equal({ on_demand: { advertised: false } });
    await a.withdraw(rule);
    expect(cf.server.count('PATCH', '/')).to.equal(2);
    expect(await a.list()).to.deep.equal([]);
  });

  it('reports pending (with when Cloudflare registered it) until the documented propagation time has passed', async () => {
    const a = action();
    const res = await a.apply(divert());
    expect(res.state).to.equal('pending');
    expect(res.detail).to.match(/registered the advertisement at .*2-7 min/);
    cf.lagGets = 0;
    // Pretend the change was registered 8 minutes ago: the next poll reports it installed.
    cf.bgp('203.0.113.0/24')!.on_demand.advertised_modified_at = new Date(Date.now() - 8 * 60_000).toISOString();
    expect((await a.apply(divert())).state).to.equal('installed');
  });

  it('never withdraws an advertisement ft did not make', async () => {
    cf.bgp('203.0.113.0/24')!.on_demand = {
      ...cf.bgp('203.0.113.0/24')!.on_demand,
      advertised: true,
      advertised_modified_at: new Date(0).toISOString(),
    };
    const a = action();
    expect((await a.apply(divert())).state).to.equal('installed');
    expect(await a.list()).to.deep.equal([]);
    await a.withdraw(divert());
    expect(cf.bgp('203.0.113.0/24')!.on_demand.advertised).to.equal(true);
    expect(cf.server.count('PATCH', '/')).to.equal(0);
  });

  it('retries 429 (Retry-After) and 502, each with the same PATCH body', async () => {
    const a = action({ settleSeconds: 0 });
    cf.server.inject.push((r) =>
      r.method === 'PATCH'
        ? {
            status: 429,
            headers: { 'retry-after': '1' },
            body: { success: false, errors: [{ code: 10000, message: 'rate limited' }], messages: [], result: null },
          }
        : undefined,
    );
    cf.server.inject.push((r) =>
      r.method === 'PATCH' ? { status: 502, body: '<html>bad gateway</html>' } : undefined,
    );
    expect((await a.apply(divert())).state).to.equal('installed');
    const bodies = cf.server.requests.filter((r) => r.method === 'PATCH').map((r) => r.body);
    expect(bodies).to.have.length(3);
    expect(new Set(bodies).size).to.equal(1);
  });

  it('a prefix that is not a Magic Transit BGP prefix is a clear error, nothing is changed', async () => {
    const err = (await action()
      .apply(divert('192.0.2.0/24'))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/192\.0\.2\.0\/24 is not a BGP prefix of any IP prefix in account/);
    expect(cf.server.count('PATCH', '/')).to.equal(0);
  });

  it('bad token: a clear error after one request (no retry storm), and no credential in the logs', async () => {
    const a = new MagicTransitAction(
      magicTransitConfigSchema.parse({ accountId: ACCOUNT, apiToken: 'CF_BAD', baseUrl: cf.base }),
      captured.ctx,
    );
    const err = (await a.apply(divert()).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 403: 10000 Authentication error \(check the credential/);
    expect(cf.server.requests).to.have.length(1);
    expect((await a.health()).status).to.equal('down');
    await action({ settleSeconds: 0 }).apply(divert());
    expect(captured.logs()).to.not.contain(TOKEN);
  });

  it("[UNVERIFIED cooldown] re-advertising right after a withdraw surfaces Cloudflare's message", async () => {
    cf.readvertiseCooldown = true;
    const a = action({ settleSeconds: 0, retries: 0 });
    await a.apply(divert());
    await a.withdraw(divert());
    const err = (await a.apply(divert()).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 429: 1002 Prefix was withdrawn less than 15 minutes ago/);
    // Refused: not recorded as ft's, so a later withdraw leaves an advertisement someone else makes alone.
    cf.bgp('203.0.113.0/24')!.on_demand.advertised = true;
    const patches = cf.server.count('PATCH', '/');
    await a.withdraw(divert());
    expect(cf.server.count('PATCH', '/')).to.equal(patches);
  });

  it('render is pure and exact (method, URL, body), never the token; other rule kinds render a "cannot"', () => {
    const a = new MagicTransitAction(
      magicTransitConfigSchema.parse({ accountId: ACCOUNT, apiToken: 'UNSET_IN_PREVIEW' }),
      captured.ctx,
    );
    const [cmd] = a.render(divert());
    expect(cmd!.payload).to.deep.include({ method: 'PATCH', body: { on_demand: { advertised: true } } });
    expect(cmd!.text).to.contain(
      `https://api.cloudflare.com/client/v4/accounts/${ACCOUNT}/addressing/prefixes/{prefix_id}/bgp/prefixes/{bgp_prefix_id}`,
    );
    const fs = makeRule<FlowSpecRule>({
      kind: 'flowspec',
      tenant: 'lab',
      target: Prefix.parse('203.0.113.7/32'),
      match: { destination: Prefix.parse('203.0.113.7/32') },
      action: { type: 'discard' },
      level: 2,
      ttlSeconds: 60,
    });
    expect(a.render(fs)[0]!.text).to.match(/^cannot:/);
    expect(cf.server.requests).to.have.length(0);
  });
});
