import { expect } from 'chai';
import { AwsShieldAction, awsShieldConfigSchema } from '../src/aws-shield.js';
import { capturedContext } from '../../http-vendor/test/fake.js';
import { AwsFake } from './aws-fake.js';
import { block, divert } from './rules.js';

const AKID = 'AKIAFTTESTFAKE000001';
const SECRET = 'ftTestSecretKey/abcdefghijklmnopqrstuvw';

describe('aws-shield (WAFv2 IP sets beside Shield Advanced) via the official SDK against a local fake', function () {
  this.timeout(20_000);
  let aws: AwsFake;
  let v4: string;
  let v6: string;
  let captured: ReturnType<typeof capturedContext>;
  const actions: AwsShieldAction[] = [];

  beforeEach(async () => {
    aws = new AwsFake(AKID, SECRET);
    v4 = aws.addIpSet('ft-block-v4', 'IPV4', ['192.0.2.200/32']);
    v6 = aws.addIpSet('ft-block-v6', 'IPV6');
    await aws.server.start();
    captured = capturedContext('aws', { AWS_AKID: AKID, AWS_SECRET: SECRET, AWS_BAD: 'wrong/secret' });
  });
  afterEach(async () => {
    for (const a of actions.splice(0)) await a.close();
    await aws.server.stop();
    captured.cleanup();
  });

  const action = (secretRef = 'AWS_SECRET', extra: Record<string, unknown> = {}) => {
    const a = new AwsShieldAction(
      awsShieldConfigSchema.parse({
        region: 'eu-west-1',
        ipSets: { v4: { name: 'ft-block-v4', id: v4 }, v6: { name: 'ft-block-v6', id: v6 } },
        protectionId: 'prot-1',
        accessKeyId: 'AWS_AKID',
        secretAccessKey: secretRef,
        wafEndpoint: aws.server.base,
        shieldEndpoint: aws.server.base,
        retries: 2,
        ...extra,
      }),
      captured.ctx,
    );
    actions.push(a);
    return a;
  };

  it('activate → status → withdraw: SigV4-signed GetIPSet/UpdateIPSet with the LockToken; withdraw removes only what ft added', async () => {
    const a = action();
    const rule = block(['198.51.100.7/32', '2001:db8:5::/48']);
    expect((await a.apply(rule)).state).to.equal('installed');
    expect(aws.ipSets.get(v4)!.Addresses).to.deep.equal(['192.0.2.200/32', '198.51.100.7/32']);
    expect(aws.ipSets.get(v6)!.Addresses).to.deep.equal(['2001:db8:5::/48']);
    expect(aws.ipSets.get(v4)!.Description).to.equal('ddos blocklist');
    const update = aws.server.requests.find((r) => r.headers['x-amz-target'] === 'AWSWAF_20190729.UpdateIPSet')!;
    expect(String(update.headers.authorization)).to.match(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${AKID}/\\d{8}/eu-west-1/wafv2/aws4_request`),
    );

    const writes = () =>
      aws.server.requests.filter((r) => r.headers['x-amz-target'] === 'AWSWAF_20190729.UpdateIPSet').length;
    await a.apply(rule);
    expect(writes()).to.equal(2);
    expect((await a.list()).map((l) => l.ruleId)).to.deep.equal([rule.id]);
    expect((await a.health()).detail).to.match(/Shield Advanced protection edge-eip/);

    await a.withdraw(rule);
    await a.withdraw(rule);
    expect(aws.ipSets.get(v4)!.Addresses).to.deep.equal(['192.0.2.200/32']);
    expect(aws.ipSets.get(v6)!.Addresses).to.deep.equal([]);
    expect(await a.list()).to.deep.equal([]);
  });

  it("an address that was already in the set is not ft's: withdraw leaves it; two ft rules sharing a source keep it until both go", async () => {
    const a = action();
    const mine = block(['192.0.2.200/32'], {}, '203.0.113.8/32');
    await a.apply(mine);
    await a.withdraw(mine);
    expect(aws.ipSets.get(v4)!.Addresses).to.deep.equal(['192.0.2.200/32']);

    const r1 = block(['198.51.100.7/32'], {}, '203.0.113.7/32');
    const r2 = block(['198.51.100.7/32'], {}, '203.0.113.9/32');
    await a.apply(r1);
    await a.apply(r2);
    await a.withdraw(r1);
    expect(aws.ipSets.get(v4)!.Addresses).to.include('198.51.100.7/32');
    await a.withdraw(r2);
    expect(aws.ipSets.get(v4)!.Addresses).to.not.include('198.51.100.7/32');
  });

  it('someone writes between GetIPSet and UpdateIPSet: WAFOptimisticLockException → read again, both changes kept; endless writes → conflict', async () => {
    let once = true;
    aws.beforeUpdate = () => {
      if (once) {
        once = false;
        aws.touch(v4, '192.0.2.201/32');
      }
    };
    await action().apply(block(['198.51.100.7/32']));
    expect(aws.ipSets.get(v4)!.Addresses).to.deep.equal(['192.0.2.200/32', '192.0.2.201/32', '198.51.100.7/32']);

    let n = 0;
    aws.beforeUpdate = () => aws.touch(v4, `192.0.2.${10 + n++}/32`);
    const err = (await action()
      .apply(block(['198.51.100.8/32']))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/WAF IP set ft-block-v4 kept changing under us/);
    expect(aws.ipSets.get(v4)!.Addresses).to.not.include('198.51.100.8/32');
  });

  it('a wrong secret: InvalidSignatureException, one request (the SDK does not retry it), no secret in logs', async () => {
    const err = (await action('AWS_BAD')
      .apply(block(['198.51.100.7/32']))
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(
      /InvalidSignatureException \(HTTP 403\): The request signature we calculated does not match.*not retried/,
    );
    expect(aws.server.requests).to.have.length(1);
    await action().apply(block(['198.51.100.7/32']));
    expect(captured.logs()).to.not.contain(SECRET);
  });

  it('retries throttling and 5xx (SDK retry strategy)', async () => {
    aws.server.inject.push({ status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } });
    aws.server.inject.push({ status: 503, body: { __type: 'WAFInternalErrorException', message: 'internal' } });
    await action().apply(block(['198.51.100.7/32']));
    expect(aws.ipSets.get(v4)!.Addresses).to.include('198.51.100.7/32');
    expect(aws.server.requests.length).to.equal(4);
  });

  it('cannot: divert (Shield is always on), narrowing, a family without an IP set; render needs no credentials', () => {
    const a = new AwsShieldAction(
      awsShieldConfigSchema.parse({
        ipSets: { v4: { name: 'x', id: 'y' } },
        accessKeyId: 'UNSET',
        secretAccessKey: 'UNSET',
      }),
      captured.ctx,
    );
    expect(a.render(divert())[0]!.text).to.match(/aws-shield cannot: Shield Advanced has no on-demand scrubbing/);
    expect(a.render(block(['198.51.100.7/32'], { protocol: 'udp' }))[0]!.text).to.match(/narrowing is not expressible/);
    expect(
      a
        .render(block(['2001:db8::1/128']))
        .map((c) => c.text)
        .join(),
    ).to.match(/no v6 IP set configured/);
    expect(a.render(block(['198.51.100.7/32']))[0]!.text).to.match(
      /UpdateIPSet \(us-east-1\) x\/y: add 198\.51\.100\.7\/32/,
    );
    expect(aws.server.requests).to.have.length(0);
  });
});
