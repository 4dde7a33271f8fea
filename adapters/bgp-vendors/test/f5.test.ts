import { expect } from 'chai';
import { makeRule, Prefix, type DivertRule, type HostFilterRule } from '@ft/sdk';
import { F5SilverlineAction, f5SilverlineConfigSchema } from '../src/f5-silverline.js';
import { F5_PLACEHOLDER, F5BigipAction, f5BigipConfigSchema } from '../src/f5-bigip.js';
import { capturedContext } from '../../http-vendor/test/fake.js';
import { BigipFake, SilverlineFake } from './f5-fakes.js';

const divert = (target = '203.0.113.0/24') =>
  makeRule<DivertRule>({
    kind: 'divert',
    tenant: 'lab',
    target: Prefix.parse(target),
    provider: 'sl',
    level: 4,
    ttlSeconds: 300,
  });
const block = (sources: string[], dest = '203.0.113.7/32') =>
  makeRule<HostFilterRule>({
    kind: 'host-filter',
    tenant: 'lab',
    target: Prefix.parse(dest),
    match: { destination: Prefix.parse(dest), sources: sources.map((s) => Prefix.parse(s)) },
    action: { type: 'drop' },
    level: 4,
    ttlSeconds: 300,
  });

describe('f5-silverline (route announce = divert) against a local fake [C: third-party sourced API]', () => {
  const TOKEN = 'sl-token-0badc0de';
  let sl: SilverlineFake;
  let captured: ReturnType<typeof capturedContext>;
  beforeEach(async () => {
    sl = new SilverlineFake(TOKEN);
    await sl.server.start();
    captured = capturedContext('sl', { SL_TOKEN: TOKEN, SL_BAD: 'x' });
  });
  afterEach(async () => {
    await sl.server.stop();
    captured.cleanup();
  });
  const action = (ref = 'SL_TOKEN') =>
    new F5SilverlineAction(
      f5SilverlineConfigSchema.parse({ apiToken: ref, baseUrl: sl.server.base, retries: 2 }),
      captured.ctx,
    );

  it('activate → pending (queued) → installed when advertised → withdraw; a prefix someone else announced is left alone', async () => {
    const a = action();
    const rule = divert();
    expect((await a.apply(rule)).state).to.equal('pending');
    const post = sl.server.requests.find((r) => r.method === 'POST')!;
    // The form the client known to work against the live API sends (FastNetMon): application/json, type "string".
    expect(post.headers['content-type']).to.equal('application/json');
    expect(JSON.parse(post.body)).to.deep.equal({
      data: { type: 'string', attributes: { prefix: '203.0.113.0/24', comment: `ft ${rule.id}` } },
    });
    expect((await a.apply(rule)).state).to.equal('pending');
    expect((await a.apply(rule)).state).to.equal('installed');
    expect(sl.server.count('POST', '/')).to.equal(1);
    expect((await a.list()).map((l) => l.ruleId)).to.deep.equal([rule.id]);
    await a.withdraw(rule);
    await a.withdraw(rule);
    expect(sl.advertised.size).to.equal(0);
    expect(sl.server.count('DELETE', '/')).to.equal(1);

    sl.advertised.add('198.51.100.0/24');
    expect((await a.apply(divert('198.51.100.0/24'))).state).to.equal('installed');
    await a.withdraw(divert('198.51.100.0/24'));
    expect(sl.advertised.has('198.51.100.0/24')).to.equal(true);
  });

  it('Silverline\'s 403 "already being advertised" / "not currently being advertised" is a state, not a credential problem', async () => {
    const a = action();
    const rule = divert();
    // A resend after a lost reply: the prefix is queued already; ft takes it as done and polls.
    sl.server.inject.push((r) =>
      r.method === 'POST'
        ? {
            status: 403,
            body: {
              error:
                'The requested prefix 203.0.113.0/24 is already being advertised by F5 Silverline. Please reference the currently advertised prefixes in the Route Originate section of the F5 Silverline Portal',
            },
          }
        : undefined,
    );
    expect((await a.apply(rule)).state).to.equal('pending');
    expect(sl.server.count('POST', '/api/v1/routes'), 'a 403 conflict is not retried').to.equal(1);
    // Withdrawn at the portal by someone else meanwhile: ft's withdraw is done, its record goes.
    sl.server.inject.push((r) =>
      r.method === 'DELETE'
        ? {
            status: 403,
            body: { error: 'The requested prefix 203.0.113.0/24 is not currently being advertised by F5 Silverline.' },
          }
        : undefined,
    );
    await a.withdraw(rule);
    expect(await a.list()).to.deep.equal([]);
    expect(captured.logs()).to.not.match(/check the credential/);
    // Any other 403 is the token, and says so.
    sl.server.inject.push({ status: 403, body: { error: 'Forbidden' } });
    const err = (await a.apply(divert('198.51.100.0/24')).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 403: Forbidden \(check the credential/);
  });

  it("retries 5xx; bad token is one request with Silverline's message; no token in logs", async () => {
    sl.server.inject.push({ status: 500, body: { error: 'Internal Server Error' } });
    await action().apply(divert());
    expect(sl.server.count('GET', '/api/v1/routes/advertised')).to.equal(2);
    const before = sl.server.requests.length;
    const err = (await action('SL_BAD')
      .apply(divert('198.51.100.0/24'))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 401: You need to sign in/);
    expect(sl.server.requests.length - before).to.equal(1);
    expect(captured.logs()).to.not.contain(TOKEN);
  });
});

describe('f5-bigip (AFM address list, generation-guarded read-modify-write) against a local fake', () => {
  const PASS = 'bigip-pass-5e6f7a';
  let ip: BigipFake;
  let captured: ReturnType<typeof capturedContext>;
  beforeEach(async () => {
    ip = new BigipFake('ft', PASS);
    await ip.server.start();
    captured = capturedContext('bigip', { F5_USER: 'ft', F5_PASS: PASS, F5_BAD: 'x' });
  });
  afterEach(async () => {
    await ip.server.stop();
    captured.cleanup();
  });
  const action = (ref = 'F5_PASS') =>
    new F5BigipAction(
      f5BigipConfigSchema.parse({
        url: ip.server.base,
        username: 'F5_USER',
        password: ref,
        addressList: 'ddos_block',
        retries: 2,
      }),
      captured.ctx,
    );

  it("activate → status → withdraw: PATCH sends every entry back whole (descriptions kept); withdraw removes only ft's; never an empty list", async () => {
    const a = action();
    const noc = { name: '192.0.2.250', description: 'NOC: scanner, blocked by change 4711' };
    const rule = block(['198.51.100.7/32', '198.51.100.0/24']);
    expect((await a.apply(rule)).state).to.equal('installed');
    const patch = JSON.parse(ip.server.requests.find((r) => r.method === 'PATCH')!.body);
    expect(patch).to.deep.equal({
      addresses: [
        noc,
        { name: '198.51.100.7', description: `ft ${rule.id}` },
        { name: '198.51.100.0/24', description: `ft ${rule.id}` },
      ],
    });
    await a.apply(rule);
    expect(ip.server.count('PATCH', '/')).to.equal(1);
    expect((await a.list()).map((l) => l.ruleId)).to.deep.equal([rule.id]);
    await a.withdraw(rule);
    expect(ip.entries, "the operator's entry, description and all").to.deep.equal([noc]);

    ip.write([{ name: F5_PLACEHOLDER }]);
    await a.apply(rule);
    expect(ip.addresses).to.deep.equal(['198.51.100.7', '198.51.100.0/24']);
    await a.withdraw(rule);
    expect(ip.addresses).to.deep.equal([F5_PLACEHOLDER]);
  });

  it('an entry another writer added between two ft rules keeps its description through both ft writes', async () => {
    const a = action();
    const first = block(['198.51.100.7/32']);
    await a.apply(first);
    const theirs = { name: '192.0.2.251', description: 'added in the GUI by oncall' };
    ip.write([...ip.entries, theirs]);
    const second = block(['198.51.100.8/32']);
    await a.apply(second);
    await a.withdraw(first);
    expect(ip.entries).to.deep.include(theirs);
    expect(ip.entries.map((e) => e.name)).to.deep.equal(['192.0.2.250', '192.0.2.251', '198.51.100.8']);
  });

  it("a write between ft's read and PATCH (generation moved): start over, keep theirs; endless writes: conflict, nothing written", async () => {
    let once = true;
    ip.onGet = () => {
      if (once && ip.server.count('GET', '/') === 1) {
        once = false;
        ip.write([...ip.entries, { name: '192.0.2.251' }]);
      }
    };
    await action().apply(block(['198.51.100.7/32']));
    expect(ip.addresses).to.deep.equal(['192.0.2.250', '192.0.2.251', '198.51.100.7']);
    ip.onGet = () => ip.write([...ip.entries]);
    const patches = ip.server.count('PATCH', '/');
    const err = (await action()
      .apply(block(['198.51.100.8/32']))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/address list ddos_block kept changing under us/);
    expect(ip.server.count('PATCH', '/')).to.equal(patches);
  });

  it("bad password: one request, F5's message, no secret in logs; cannot for divert", async () => {
    const err = (await action('F5_BAD')
      .apply(block(['198.51.100.7/32']))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 401: Authorization failed/);
    expect(ip.server.requests).to.have.length(1);
    await action().apply(block(['198.51.100.7/32']));
    expect(captured.logs()).to.not.contain(PASS);
    expect(action().render(divert())[0]!.text).to.match(/f5-bigip cannot/);
  });
});
