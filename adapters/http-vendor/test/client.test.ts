import { expect } from 'chai';
import { VendorClient, VendorHttpError, serverWaitMs } from '../src/index.js';
import { FakeServer, capturedContext } from './fake.js';

const TOKEN = 'tok-7f3e9a-super-secret';

describe('http-vendor: the shared vendor client against a local fake', () => {
  let fake: FakeServer;
  const waits: number[] = [];
  let captured: ReturnType<typeof capturedContext>;

  beforeEach(async () => {
    waits.length = 0;
    captured = capturedContext('client', {});
    fake = await new FakeServer((req) =>
      req.headers.authorization === `Bearer ${TOKEN}`
        ? { status: 200, body: { ok: true, path: req.path } }
        : { status: 401, body: { errors: [{ code: 10000, message: 'Authentication error' }] } },
    ).start();
  });
  afterEach(async () => {
    await fake.stop();
    captured.cleanup();
  });

  const client = (token = TOKEN, extra: Partial<ConstructorParameters<typeof VendorClient>[0]> = {}) =>
    new VendorClient({
      vendor: 'fakevendor',
      baseUrl: fake.base,
      retries: 3,
      backoffBaseMs: 10,
      logger: captured.ctx.logger,
      authorize: (r) => void (r.headers.authorization = `Bearer ${token}`),
      sleep: async (ms) => void waits.push(ms),
      ...extra,
    });

  it('waits as long as Retry-After says after a 429, then succeeds with the same request', async () => {
    fake.inject.push({
      status: 429,
      headers: { 'retry-after': '2' },
      body: { errors: [{ code: 971, message: 'rate limited' }] },
    });
    const res = await client().request({ method: 'PATCH', path: '/thing', body: { a: 1 } });
    expect(res.status).to.equal(200);
    expect(res.attempts).to.equal(2);
    expect(waits).to.deep.equal([2000]);
    expect(fake.requests.map((r) => r.body)).to.deep.equal(['{"a":1}', '{"a":1}']);
  });

  it('honours the draft RateLimit header (Cloudflare) and RateLimit-Reset epochs (Hetzner) when there is no Retry-After', () => {
    expect(serverWaitMs(new Headers({ ratelimit: '"default";r=0;t=30' }))).to.equal(30_000);
    expect(serverWaitMs(new Headers({ 'ratelimit-reset': String(1_000_000_100) }), 1_000_000_000_000)).to.equal(
      100_000,
    );
    expect(serverWaitMs(new Headers({ 'x-ratelimit-reset': '7' }))).to.equal(7000);
  });

  it('retries 5xx with growing backoff, and gives up after the configured retries with the vendor message', async () => {
    for (let i = 0; i < 10; i++)
      fake.inject.push({ status: 502, body: { errors: [{ code: 1, message: 'bad gateway upstream' }] } });
    const err = await client()
      .request({ method: 'GET', path: '/x' })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(VendorHttpError);
    expect((err as Error).message).to.match(/HTTP 502: 1 bad gateway upstream after 4 attempts/);
    expect(fake.requests).to.have.length(4);
    expect(waits[1]!).to.be.greaterThan(waits[0]!);
  });

  it('bad credentials: one request, a clear error, no retry storm', async () => {
    const err = (await client('wrong')
      .request({ method: 'GET', path: '/x' })
      .catch((e: unknown) => e)) as VendorHttpError;
    expect(err.kind).to.equal('auth');
    expect(err.message).to.match(/HTTP 401: 10000 Authentication error \(check the credential/);
    expect(fake.requests).to.have.length(1);
  });

  it('a 403 is what the vendor says it is: a vendor code for its request limit is waited out and resent, not an auth failure', async () => {
    // Hetzner Robot's documented shape: HTTP 403 with error.code RATE_LIMIT_EXCEEDED and the window in `interval`.
    const limited = {
      status: 403,
      body: {
        error: {
          status: 403,
          code: 'RATE_LIMIT_EXCEEDED',
          max_request: 200,
          interval: 3,
          message: 'rate limit exceeded',
        },
      },
    };
    const classify = (status: number, body: unknown) => {
      const e = (body as { error?: { code?: string; interval?: number } } | undefined)?.error;
      return status === 403 && e?.code === 'RATE_LIMIT_EXCEEDED'
        ? { kind: 'rate-limited' as const, waitMs: (e.interval ?? 1) * 1000 }
        : undefined;
    };
    fake.inject.push(limited);
    const res = await client(TOKEN, { classify }).request({ method: 'POST', path: '/write', body: { a: 1 } });
    expect(res.status).to.equal(200);
    expect(fake.requests).to.have.length(2);
    expect(waits).to.deep.equal([3000]);
    // Longer than the adapter waits: an error now, a rate limit (the executor retries later), no credential advice.
    fake.inject.push({ ...limited, body: { error: { ...limited.body.error, interval: 3600 } } });
    const err = (await client(TOKEN, { classify })
      .request({ method: 'GET', path: '/x' })
      .catch((e: unknown) => e)) as VendorHttpError;
    expect(err.kind).to.equal('rate-limited');
    expect(err.message).to.match(/HTTP 403: RATE_LIMIT_EXCEEDED: rate limit exceeded; server asks to wait 3600 s/);
    expect(err.message).to.not.match(/check the credential/);
    // Without the vendor's classifier a 403 stays a credential problem: one request, not retried.
    const before = fake.requests.length;
    fake.inject.push(limited);
    const auth = (await client()
      .request({ method: 'GET', path: '/x' })
      .catch((e: unknown) => e)) as VendorHttpError;
    expect(auth.kind).to.equal('auth');
    expect(fake.requests.length - before).to.equal(1);
  });

  it('a non-idempotent POST is not resent after a 500 (it may have been carried out), but is after a 429', async () => {
    fake.inject.push({ status: 500, body: 'oops' });
    await client()
      .request({ method: 'POST', path: '/create', body: {} })
      .catch(() => undefined);
    expect(fake.requests).to.have.length(1);
    fake.inject.push({ status: 429, headers: { 'retry-after': '1' } });
    await client().request({ method: 'POST', path: '/create', body: {} });
    expect(fake.requests).to.have.length(3);
  });

  it('a server asking for a longer wait than the adapter allows is an error now, not a long sleep', async () => {
    fake.inject.push({ status: 429, headers: { 'retry-after': '300' } });
    const err = (await client(TOKEN, { maxServerWaitMs: 5000 })
      .request({ method: 'GET', path: '/x' })
      .catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/asks to wait 300 s, longer than the 5 s/);
    expect(waits).to.deep.equal([]);
  });

  it('times out a silent server and says so', async () => {
    const silent = await new FakeServer(() => new Promise(() => undefined)).start();
    try {
      const c = new VendorClient({
        vendor: 'slow',
        baseUrl: silent.base,
        retries: 1,
        timeoutMs: 150,
        backoffBaseMs: 1,
      });
      const err = (await c.request({ method: 'GET', path: '/x' }).catch((e: unknown) => e)) as VendorHttpError;
      expect(err.kind).to.equal('timeout');
      expect(err.message).to.match(/no answer within 150 ms after 2 attempts/);
    } finally {
      await silent.stop();
    }
  });

  it('never logs the credential or the request body', async () => {
    fake.inject.push({ status: 503, headers: { 'retry-after': '0' } });
    await client().request({ method: 'PUT', path: '/x?filter=1', body: { password: 'body-secret-123' } });
    await client('wrong')
      .request({ method: 'GET', path: '/y' })
      .catch(() => undefined);
    const logs = captured.logs();
    expect(logs).to.contain('/x');
    expect(logs).to.not.contain(TOKEN);
    expect(logs).to.not.contain('body-secret-123');
    expect(logs).to.not.contain('filter=1');
  });
});
