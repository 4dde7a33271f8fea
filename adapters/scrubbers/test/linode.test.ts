import { expect } from 'chai';
import { LinodeAction, linodeConfigSchema } from '../src/linode.js';
import { capturedContext } from '../../http-vendor/test/fake.js';
import { LinodeFake } from './linode-fake.js';
import { block, divert } from './rules.js';

const TOKEN = 'linode-pat-0a1b2c3d4e5f';

describe('linode (Cloud Firewall) against a local fake: PUT replaces everything, version-guarded read-modify-write', () => {
  let lin: LinodeFake;
  let captured: ReturnType<typeof capturedContext>;

  beforeEach(async () => {
    lin = new LinodeFake(777, TOKEN);
    await lin.server.start();
    captured = capturedContext('lin', { LIN_TOKEN: TOKEN, LIN_BAD: 'nope' });
  });
  afterEach(async () => {
    await lin.server.stop();
    captured.cleanup();
  });

  const action = (ref = 'LIN_TOKEN') =>
    new LinodeAction(
      linodeConfigSchema.parse({ firewallId: 777, apiToken: ref, baseUrl: `${lin.server.base}/v4`, retries: 2 }),
      captured.ctx,
    );

  it("activate → status → withdraw: labelled DROP rules first, customer rule and policies kept, withdraw removes only ft's", async () => {
    const a = action();
    const rule = block(['198.51.100.7/32', '2001:db8:5::/48'], {
      protocol: 'udp',
      destinationPorts: [
        { min: 53, max: 53 },
        { min: 1000, max: 2000 },
      ],
    });
    expect((await a.apply(rule)).state).to.equal('installed');
    const put = JSON.parse(lin.server.requests.find((r) => r.method === 'PUT')!.body);
    expect(put.inbound[0]).to.deep.equal({
      action: 'DROP',
      protocol: 'UDP',
      ports: '53, 1000-2000',
      addresses: { ipv4: ['198.51.100.7/32'], ipv6: ['2001:db8:5::/48'] },
      label: `ft-${rule.id}`,
      description: 'ft host-filter for 203.0.113.7/32',
    });
    expect(put.inbound[1].label).to.equal('allow-ssh-https');
    expect(put).to.include({ inbound_policy: 'ACCEPT', outbound_policy: 'ACCEPT' });

    await a.apply(rule);
    expect(lin.server.count('PUT', '/')).to.equal(1);
    expect((await a.list()).map((l) => l.ruleId)).to.deep.equal([rule.id]);
    await a.withdraw(rule);
    await a.withdraw(rule);
    expect(lin.rules.inbound.map((r) => r.label)).to.deep.equal(['allow-ssh-https']);
    expect(lin.server.count('PUT', '/')).to.equal(2);
  });

  it('no protocol in the rule: one DROP per protocol, ICMP without ports', async () => {
    await action().apply(block(['198.51.100.7/32']));
    expect(lin.rules.inbound.slice(0, 3).map((r) => [r.protocol, r.ports])).to.deep.equal([
      ['TCP', undefined],
      ['UDP', undefined],
      ['ICMP', undefined],
    ]);
  });

  it('a concurrent edit (version moved between read and write) makes ft start over; endless edits give a conflict, nothing written', async () => {
    let once = true;
    lin.onGet = () => {
      if (once) {
        once = false;
        lin.rules.inbound.push({
          action: 'ACCEPT',
          protocol: 'TCP',
          ports: '80',
          addresses: { ipv4: ['0.0.0.0/0'] },
          label: 'noc-web',
        });
        lin.bump();
      }
    };
    const rule = block(['198.51.100.7/32'], { protocol: 'tcp' });
    await action().apply(rule);
    expect(lin.rules.inbound.map((r) => r.label)).to.deep.equal([`ft-${rule.id}`, 'allow-ssh-https', 'noc-web']);

    lin.onGet = () => lin.bump();
    const puts = lin.server.count('PUT', '/');
    const err = (await action()
      .apply(block(['198.51.100.8/32'], { protocol: 'tcp' }))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/kept changing under us/);
    expect(lin.server.count('PUT', '/')).to.equal(puts);
  });

  it('429 with Retry-After is waited out and the PUT sent again; a bad token is one request and no secret is logged', async () => {
    lin.server.inject.push((r) =>
      r.method === 'PUT'
        ? { status: 429, headers: { 'retry-after': '1' }, body: { errors: [{ reason: 'Too Many Requests' }] } }
        : undefined,
    );
    await action().apply(block(['198.51.100.9/32'], { protocol: 'udp' }));
    expect(lin.server.count('PUT', '/')).to.equal(2);
    const before = lin.server.requests.length;
    const err = (await action('LIN_BAD')
      .list()
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 401: Invalid Token/);
    expect(lin.server.requests.length - before).to.equal(1);
    expect(captured.logs()).to.not.contain(TOKEN);
  });

  it('cannot: divert, source ports, a rule without sources', () => {
    const a = action();
    expect(a.render(divert())[0]!.text).to.match(/linode cannot: .*divert/);
    expect(a.render(block(['198.51.100.7/32'], { sourcePorts: [{ min: 53, max: 53 }] }))[0]!.text).to.match(
      /destination ports only/,
    );
    expect(a.render(block([]))[0]!.text).to.match(/without sources/);
    expect(lin.server.requests).to.have.length(0);
  });
});
