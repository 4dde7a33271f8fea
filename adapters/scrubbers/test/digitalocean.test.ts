import { expect } from 'chai';
import { DigitalOceanAction, digitalOceanConfigSchema } from '../src/digitalocean.js';
import { VultrAction, vultrConfigSchema } from '../src/vultr.js';
import { FakeServer, capturedContext } from '../../http-vendor/test/fake.js';
import { DoFake } from './do-fake.js';
import { block, divert } from './rules.js';

const TOKEN = 'dop_v1_feedfacecafebeef';

describe('digitalocean (Cloud Firewall deny rules) against a local fake [deny availability UNVERIFIED]', () => {
  let fake: DoFake;
  let captured: ReturnType<typeof capturedContext>;

  beforeEach(async () => {
    fake = new DoFake(TOKEN);
    await fake.server.start();
    captured = capturedContext('do', { DO_TOKEN: TOKEN, DO_BAD: 'nope' });
  });
  afterEach(async () => {
    await fake.server.stop();
    captured.cleanup();
  });

  const action = (ref = 'DO_TOKEN') =>
    new DigitalOceanAction(
      digitalOceanConfigSchema.parse({ firewallId: fake.id, apiToken: ref, baseUrl: fake.server.base, retries: 2 }),
      captured.ctx,
    );

  it("activate → pending (waiting) → installed → listed → withdraw deletes exactly ft's rules", async () => {
    const a = action();
    const rule = block(['198.51.100.7/32', '198.51.100.0/24'], {
      protocol: 'udp',
      destinationPorts: [{ min: 53, max: 53 }],
    });
    const first = await a.apply(rule);
    expect(first.state).to.equal('pending');
    const post = fake.server.requests.find((r) => r.method === 'POST')!;
    expect(post.path).to.equal(`/v2/firewalls/${fake.id}/rules`);
    expect(JSON.parse(post.body)).to.deep.equal({
      inbound_rules: [
        { protocol: 'udp', ports: '53', action: 'deny', sources: { addresses: ['198.51.100.7', '198.51.100.0/24'] } },
      ],
    });
    expect((await a.apply(rule)).state).to.equal('installed');
    expect(fake.server.count('POST', '/')).to.equal(1);
    expect((await a.list()).map((l) => l.ruleId)).to.deep.equal([rule.id]);
    await a.withdraw(rule);
    await a.withdraw(rule);
    expect(fake.server.count('DELETE', '/')).to.equal(1);
    expect(fake.inbound).to.deep.equal([
      { protocol: 'tcp', ports: '443', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
    ]);
  });

  it('never lists or removes a rule ft did not add, even an identical-looking one', async () => {
    fake.inbound.push({ protocol: 'tcp', ports: '0', action: 'deny', sources: { addresses: ['198.51.100.66'] } });
    expect(await action().list()).to.deep.equal([]);
    await action().withdraw({ nativeId: `${fake.id}/hf-0000000000000000`, description: 'x' });
    expect(fake.server.count('DELETE', '/')).to.equal(0);
  });

  it('429 Retry-After on the POST is waited out (resent once); bad token is one request; no secret logged', async () => {
    fake.server.inject.push((r) =>
      r.method === 'POST'
        ? {
            status: 429,
            headers: { 'retry-after': '1' },
            body: { id: 'too_many_requests', message: 'API Rate limit exceeded.' },
          }
        : undefined,
    );
    await action().apply(block(['198.51.100.8/32'], { protocol: 'tcp' }));
    expect(fake.server.count('POST', '/')).to.equal(2);
    const before = fake.server.requests.length;
    const err = (await action('DO_BAD')
      .apply(block(['198.51.100.9/32']))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 401: unauthorized: Unable to authenticate you/);
    expect(fake.server.requests.length - before).to.equal(1);
    expect(captured.logs()).to.not.contain(TOKEN);
  });

  it('a refused add (422) claims nothing: an identical rule someone adds later is never removed by ft', async () => {
    fake.server.inject.push((r) =>
      r.method === 'POST'
        ? {
            status: 422,
            body: {
              id: 'unprocessable_entity',
              message: 'deny rules are not enabled for this account',
              request_id: 'x',
            },
          }
        : undefined,
    );
    const rule = block(['198.51.100.12/32'], { protocol: 'tcp' });
    const err = (await action()
      .apply(rule)
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 422: unprocessable_entity: deny rules are not enabled/);
    fake.inbound.push({ protocol: 'tcp', ports: '0', action: 'deny', sources: { addresses: ['198.51.100.12'] } });
    await action().withdraw(rule);
    expect(fake.server.count('DELETE', '/')).to.equal(0);
    expect(await action().list()).to.deep.equal([]);
  });

  it('cannot: divert, several port ranges', () => {
    expect(action().render(divert())[0]!.text).to.match(/digitalocean cannot: .*divert/);
    expect(
      action().render(
        block(['198.51.100.7/32'], {
          destinationPorts: [
            { min: 1, max: 1 },
            { min: 3, max: 3 },
          ],
        }),
      )[0]!.text,
    ).to.match(/one destination port range/);
  });
});

describe('vultr: declared unable (accept-only firewall groups)', () => {
  it('has no capabilities, renders and refuses with the reason, health checks the key against a fake', async () => {
    const key = 'vultr-key-1234abcd';
    const fake = await new FakeServer((r) =>
      r.headers.authorization === `Bearer ${key}` && r.path === '/v2/firewalls/fwg-1/rules'
        ? { status: 200, body: { firewall_rules: [], meta: { total: 0, links: { next: '', prev: '' } } } }
        : { status: 401, body: { error: 'Invalid API token.', status: 401 } },
    ).start();
    const captured = capturedContext('vultr', { V_KEY: key, V_BAD: 'x' });
    try {
      const a = new VultrAction(
        vultrConfigSchema.parse({ firewallGroupId: 'fwg-1', apiKey: 'V_KEY', baseUrl: fake.base }),
        captured.ctx,
      );
      expect(a.capabilities).to.deep.equal([]);
      expect(a.render(block(['198.51.100.7/32']))[0]!.text).to.match(/vultr cannot: host-filter: .*accept-only/);
      expect((await a.apply(divert()).catch((e: unknown) => e)) as Error)
        .to.have.property('message')
        .match(/no scrubbing API/);
      expect((await a.health()).status).to.equal('degraded');
      const bad = new VultrAction(
        vultrConfigSchema.parse({ firewallGroupId: 'fwg-1', apiKey: 'V_BAD', baseUrl: fake.base }),
        captured.ctx,
      );
      expect((await bad.health()).detail).to.match(/HTTP 401: Invalid API token/);
      expect(captured.logs()).to.not.contain(key);
    } finally {
      await fake.stop();
      captured.cleanup();
    }
  });
});
