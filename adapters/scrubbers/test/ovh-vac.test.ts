import { expect } from 'chai';
import { OvhVacAction, ovhVacConfigSchema } from '../src/ovh-vac.js';
import { ovhSignature } from '../src/ovh-sign.js';
import { capturedContext } from '../../http-vendor/test/fake.js';
import { OvhFake } from './ovh-fake.js';
import { block, divert } from './rules.js';

const AK = 'ovhAppKey123';
const AS = 'ovhAppSecret-5f4e3d2c1b';
const CK = 'ovhConsumerKey-a1b2c3d4';

describe('ovh-vac against a local fake of the OVH API (signed requests, server time offset)', () => {
  let ovh: OvhFake;
  let captured: ReturnType<typeof capturedContext>;

  beforeEach(async () => {
    ovh = new OvhFake(AK, AS, CK);
    await ovh.server.start();
    captured = capturedContext('ovh', { OVH_AK: AK, OVH_AS: AS, OVH_CK: CK, OVH_BAD_AS: 'wrong-secret' });
  });
  afterEach(async () => {
    await ovh.server.stop();
    captured.cleanup();
  });

  const action = (secretRef = 'OVH_AS') =>
    new OvhVacAction(
      ovhVacConfigSchema.parse({
        baseUrl: ovh.base,
        applicationKey: 'OVH_AK',
        applicationSecret: secretRef,
        consumerKey: 'OVH_CK',
        ipBlocks: ['203.0.113.0/24'],
        retries: 2,
      }),
      captured.ctx,
    );

  it('signature matches the documented formula on a known vector', () => {
    // sha1("AS+CK+GET+https://eu.api.ovh.com/1.0/ip++1700000000")
    expect(ovhSignature('AS', 'CK', 'get', 'https://eu.api.ovh.com/1.0/ip', '', 1700000000)).to.equal(
      '$1$56b52fa70c3195b02b4cdb45f5b3017734be0fee',
    );
  });

  it('activate → pending while OVH sets it up → installed → listed → withdraw deletes it', async () => {
    const a = action();
    const rule = divert('203.0.113.7/32');
    const first = await a.apply(rule);
    expect(first.state).to.equal('pending');
    expect(first.detail).to.match(/creationPending/);
    const post = ovh.server.requests.find((r) => r.method === 'POST')!;
    expect(post.path).to.equal('/1.0/ip/203.0.113.0%2F24/mitigation');
    expect(JSON.parse(post.body)).to.deep.equal({ ipOnMitigation: '203.0.113.7' });
    expect(ovh.server.count('GET', '/1.0/auth/time')).to.equal(1);

    expect((await a.apply(rule)).state).to.equal('installed');
    expect(ovh.server.count('POST', '/')).to.equal(1);
    expect((await a.list()).map((l) => l.ruleId)).to.deep.equal([rule.id]);
    await a.withdraw(rule);
    expect(ovh.mitigations.size).to.equal(0);
    await a.withdraw(rule);
    expect(ovh.server.count('DELETE', '/')).to.equal(1);
  });

  it('an address OVH already auto-mitigates is made permanent, and withdraw hands it back to auto (not deleted)', async () => {
    ovh.mitigations.set('203.0.113.9', {
      ipOnMitigation: '203.0.113.9',
      permanent: false,
      auto: true,
      state: 'ok',
      pendingGets: 0,
    });
    const a = action();
    expect((await a.apply(divert('203.0.113.9/32'))).state).to.equal('installed');
    expect(ovh.mitigations.get('203.0.113.9')!.permanent).to.equal(true);
    await a.withdraw(divert('203.0.113.9/32'));
    expect(ovh.mitigations.get('203.0.113.9')).to.include({ permanent: false, auto: true });
  });

  it('a wrong application secret: "Invalid signature", one signed request, no retries, no secret in logs', async () => {
    const err = (await action('OVH_BAD_AS')
      .apply(divert('203.0.113.7/32'))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 400: Client::BadRequest: Invalid signature/);
    expect(ovh.server.requests.filter((r) => r.path !== '/1.0/auth/time')).to.have.length(1);
    await action().apply(divert('203.0.113.7/32'));
    const logs = captured.logs();
    for (const s of [AS, CK, AK]) expect(logs).to.not.contain(s);
  });

  it('retries a 429 [UNVERIFIED: OVH rate limits are not documented] and a 500, re-signing each attempt', async () => {
    ovh.server.inject.push((r) =>
      r.method === 'POST'
        ? {
            status: 429,
            headers: { 'retry-after': '1' },
            body: { class: 'Client::TooManyRequests', message: 'slow down' },
          }
        : undefined,
    );
    ovh.server.inject.push((r) =>
      r.method === 'GET' && r.path.includes('mitigation/')
        ? { status: 500, body: { class: 'Server::InternalServerError', message: 'Internal server error' } }
        : undefined,
    );
    await action().apply(divert('203.0.113.7/32'));
    expect(ovh.server.count('POST', '/')).to.equal(2);
    expect(ovh.mitigations.has('203.0.113.7')).to.equal(true);
  });

  it("a refused create leaves nothing recorded as ft's: a later withdraw does not delete a mitigation someone else made", async () => {
    ovh.server.inject.push((r) =>
      r.method === 'POST'
        ? {
            status: 400,
            body: { class: 'Client::BadRequest', message: 'This IP is not eligible to permanent mitigation' },
          }
        : undefined,
    );
    const err = (await action()
      .apply(divert('203.0.113.7/32'))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/Client::BadRequest: This IP is not eligible/);
    ovh.mitigations.set('203.0.113.7', {
      ipOnMitigation: '203.0.113.7',
      permanent: true,
      auto: false,
      state: 'ok',
      pendingGets: 0,
    });
    await action().withdraw(divert('203.0.113.7/32'));
    expect(ovh.mitigations.has('203.0.113.7')).to.equal(true);
    expect(ovh.server.count('DELETE', '/')).to.equal(0);
  });

  it('cannot: a /24 (per-address API), an address outside the blocks, a host-filter rule — preview says so, nothing sent', async () => {
    const a = action();
    expect(a.render(divert('203.0.113.0/24'))[0]!.text).to.match(/ovh-vac cannot: .*per IPv4 address.*divertLength/);
    expect(a.render(divert('198.51.100.7/32'))[0]!.text).to.match(/in none of the configured ipBlocks/);
    expect(a.render(block(['198.51.100.7/32']))[0]!.text).to.match(/cannot: .*host-filter/);
    expect(a.render(divert('203.0.113.7/32'))[0]!.payload).to.deep.include({
      method: 'POST',
      url: `${ovh.base}/ip/203.0.113.0%2F24/mitigation`,
      body: { ipOnMitigation: '203.0.113.7' },
    });
    await a.apply(divert('203.0.113.0/24')).catch(() => undefined);
    expect(ovh.server.requests).to.have.length(0);
  });
});
