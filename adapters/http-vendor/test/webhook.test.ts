import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { makeRule, Prefix, type DivertRule } from '@ft/sdk';
import { WebhookAction, signWebhook, verifyWebhook, webhookConfigSchema } from '../src/index.js';
import { FakeServer, capturedContext, type Recorded } from './fake.js';

// whsec_ + base64 of the raw key bytes, as Standard Webhooks specifies.
const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const OTHER = `whsec_${Buffer.from('ffffffffffffffffffffffffffffffff').toString('base64')}`;

const divert = (target = '203.0.113.0/24') =>
  makeRule<DivertRule>({
    kind: 'divert',
    tenant: 'lab',
    target: Prefix.parse(target),
    provider: 'scrub',
    level: 4,
    ttlSeconds: 300,
  });

/** The receiver a user would write: verify with the helper, dedupe on webhook-id, 401 on a bad signature. */
function receiver(secret: string) {
  const seen = new Set<string>();
  const events: { id: string; body: any }[] = [];
  const route = (req: Recorded) => {
    try {
      const body = verifyWebhook(secret, req.body, req.headers) as any;
      const id = String(req.headers['webhook-id']);
      if (!seen.has(id)) events.push({ id, body });
      seen.add(id);
      return { status: 200, body: { ok: true } };
    } catch (err) {
      return { status: 401, body: { error: (err as Error).message } };
    }
  };
  return { route, events };
}

describe('http-vendor: Standard Webhooks signing and the webhook action', () => {
  let fake: FakeServer;
  let rx: ReturnType<typeof receiver>;
  let captured: ReturnType<typeof capturedContext>;

  beforeEach(async () => {
    rx = receiver(SECRET);
    fake = await new FakeServer((r) => rx.route(r)).start();
    captured = capturedContext('hook', { FT_HOOK_SECRET: SECRET, FT_WRONG: OTHER });
  });
  afterEach(async () => {
    await fake.stop();
    captured.cleanup();
  });

  const action = (secretRef = 'FT_HOOK_SECRET') =>
    new WebhookAction(
      ['divert', 'host-filter'],
      'scrub-webhook',
      webhookConfigSchema.parse({ url: `${fake.base}/hooks/ft?tenant=lab`, secret: secretRef }),
      captured.ctx,
    );

  it('signature is v1,base64(HMAC-SHA256(key, "id.ts.body")) computed independently of the library', () => {
    const at = new Date(1_700_000_000_000);
    const headers = signWebhook(SECRET, 'msg_1', '{"a":1}', at);
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update('msg_1.1700000000.{"a":1}').digest('base64');
    expect(headers).to.deep.equal({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': `v1,${expected}`,
    });
  });

  it('the verify helper rejects a tampered body, a wrong secret and a stale timestamp', () => {
    const now = new Date();
    const h = signWebhook(SECRET, 'msg_2', '{"a":1}', now);
    expect(verifyWebhook(SECRET, '{"a":1}', h)).to.deep.equal({ a: 1 });
    expect(() => verifyWebhook(SECRET, '{"a":2}', h)).to.throw(/signature rejected/);
    expect(() => verifyWebhook(OTHER, '{"a":1}', h)).to.throw(/signature rejected/);
    const old = signWebhook(SECRET, 'msg_3', '{"a":1}', new Date(Date.now() - 10 * 60_000));
    expect(() => verifyWebhook(SECRET, '{"a":1}', old)).to.throw(/signature rejected/);
    expect(() => verifyWebhook(SECRET, '{"a":1}', {})).to.throw(/missing webhook-id/);
  });

  it('activate → status → withdraw: the receiver gets a verified apply, list shows it, withdraw sends one withdraw', async () => {
    const a = action();
    const rule = divert();
    const applied = await a.apply(rule);
    expect(applied.state).to.equal('installed');
    expect(rx.events).to.have.length(1);
    expect(rx.events[0]!.body).to.deep.include({ type: 'rule.apply', instance: 'hook' });
    expect(rx.events[0]!.body.rule).to.include({
      id: rule.id,
      kind: 'divert',
      target: '203.0.113.0/24',
      provider: 'scrub',
    });
    expect(fake.requests[0]!.url.search).to.equal('?tenant=lab');

    await a.apply(rule);
    expect(fake.requests).to.have.length(1);
    expect((await a.list()).map((r) => r.ruleId)).to.deep.equal([rule.id]);

    await a.withdraw(rule);
    await a.withdraw(rule);
    expect(rx.events.map((e) => e.body.type)).to.deep.equal(['rule.apply', 'rule.withdraw']);
    expect(await a.list()).to.deep.equal([]);
  });

  it('retries a 503 with the same webhook-id, so a receiver that dedupes acts once', async () => {
    fake.inject.push((r) => (rx.route(r), { status: 503, headers: { 'retry-after': '0' } }));
    await action().apply(divert());
    expect(fake.requests).to.have.length(2);
    expect(fake.requests[0]!.headers['webhook-id']).to.equal(fake.requests[1]!.headers['webhook-id']);
    expect(rx.events).to.have.length(1);
  });

  it('render is the exact request, without the secret, and needs no credential', async () => {
    const preview = new WebhookAction(
      ['divert'],
      'bgp-webhook',
      webhookConfigSchema.parse({ url: `${fake.base}/h`, secret: 'NOT_SET_HERE' }),
      captured.ctx,
    );
    const [cmd] = preview.render(divert());
    expect(cmd!.format).to.equal('http');
    expect(cmd!.payload).to.deep.include({ method: 'POST', url: `${fake.base}/h` });
    expect(cmd!.text).to.not.contain(SECRET);
    expect(fake.requests).to.have.length(0);
  });

  it('a wrong secret: the receiver refuses, one request, a clear error; nothing recorded as installed; no secret in logs', async () => {
    const a = action('FT_WRONG');
    const err = (await a.apply(divert()).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/HTTP 401: webhook signature rejected/);
    expect(fake.requests).to.have.length(1);
    expect(await a.list()).to.deep.equal([]);
    await action().apply(divert('198.51.100.0/24'));
    const logs = captured.logs();
    expect(logs).to.not.contain(SECRET.slice(6));
    expect(logs).to.not.contain(OTHER.slice(6));
    expect(logs).to.not.match(/v1,[A-Za-z0-9+/=]{20,}/);
  });
});
