import { expect } from 'chai';
import { DigitalOceanAction, digitalOceanConfigSchema } from '../src/digitalocean.js';
import { VultrAction, vultrConfigSchema } from '../src/vultr.js';
import { FakeServer, capturedContext } from '../../http-vendor/test/fake.js';
import { DoFake } from './do-fake.js';
import { block, divert } from './rules.js';

const TOKEN = 'dop_v1_feedfacecafebeef';

describe('digitalocean: declared unable (Cloud Firewalls are allow-only), against a local fake of the documented API', () => {
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
      digitalOceanConfigSchema.parse({ firewallId: fake.id, apiToken: ref, baseUrl: fake.server.base }),
      captured.ctx,
    );

  it('has no capabilities: preview and apply say why, and nothing is ever sent to the firewall', async () => {
    const a = action();
    expect(a.capabilities).to.deep.equal([]);
    const rule = block(['198.51.100.7/32'], { protocol: 'udp', destinationPorts: [{ min: 53, max: 53 }] });
    expect(a.render(rule)[0]!.text).to.match(/digitalocean cannot: host-filter: .*allow-only.*no action/);
    const err = (await a.apply(rule).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/digitalocean cannot: host-filter: .*a source cannot be blocked/);
    expect(await a.apply(divert()).catch((e: unknown) => e))
      .to.have.property('message')
      .match(/no scrubbing API/);
    expect(await a.list()).to.deep.equal([]);
    await a.withdraw();
    expect(fake.server.requests).to.have.length(0);
    expect(fake.inbound).to.deep.equal([
      { protocol: 'tcp', ports: '443', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
    ]);
  });

  it('health checks the token against the firewall and says the kind cannot block; a bad token is down, never logged', async () => {
    const health = await action().health();
    expect(health.status).to.equal('degraded');
    expect(health.detail).to.match(/^reachable, but DigitalOcean Cloud Firewalls are allow-only/);
    const bad = await action('DO_BAD').health();
    expect(bad.status).to.equal('down');
    expect(bad.detail).to.match(/HTTP 401: unauthorized: Unable to authenticate you/);
    expect(captured.logs()).to.not.contain(TOKEN);
  });

  it('the fake holds the documented rule model: a rule with an `action` (what ft used to send) is refused', async () => {
    const post = (rule: unknown) =>
      fetch(`${fake.server.base}/v2/firewalls/${fake.id}/rules`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ inbound_rules: [rule] }),
      });
    const denied = await post({
      protocol: 'udp',
      ports: '53',
      action: 'deny',
      sources: { addresses: ['198.51.100.7'] },
    });
    expect(denied.status).to.equal(422);
    expect(((await denied.json()) as { message: string }).message).to.match(/unknown field action/);
    const allowed = await post({ protocol: 'tcp', ports: '22', sources: { addresses: ['192.0.2.0/24'] } });
    expect(allowed.status).to.equal(204);
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
      expect(await a.apply(divert()).catch((e: unknown) => e))
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
