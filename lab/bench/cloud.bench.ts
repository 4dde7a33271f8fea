// Vendor HTTP client overhead and retry timing, against the local Cloudflare fake (loopback, no network).
// Anchor measured in the same run: a bare node:http request (keep-alive agent) to the same fake with the same
// method, headers and body; ratio = shared client time / anchor time (its overhead: auth hook, envelope parsing,
// retry bookkeeping, fetch vs node:http). Also: a Magic Transit activate→withdraw cycle through the adapter, and how
// closely the client's waits follow Retry-After and its backoff schedule.
import { Agent, request } from 'node:http';
import { makeRule, Prefix, type DivertRule } from '@ft/sdk';
import { VendorClient } from '../../adapters/http-vendor/src/index.js';
import { CloudflareFake } from '../../adapters/http-vendor/test/cloudflare-fake.js';
import { capturedContext } from '../../adapters/http-vendor/test/fake.js';
import { MagicTransitAction, magicTransitConfigSchema } from '../../adapters/bgp-vendors/src/magic-transit.js';
import { median, percentile, round, writeResult } from './lib.js';

const ACCOUNT = '0123456789abcdef0123456789abcdef';
const TOKEN = 'bench-token';
const N = Number(process.env.BENCH_REQUESTS ?? 2000);
const ROUNDS = 4;

const cf = new CloudflareFake(ACCOUNT, TOKEN);
cf.addPrefix('203.0.112.0/23', ['203.0.113.0/24']);
await cf.server.start();
const bgp = cf.bgp('203.0.113.0/24')!;
const path = `/client/v4/accounts/${ACCOUNT}/addressing/prefixes/${cf.prefixes[0]!.id}/bgp/prefixes/${bgp.id}`;
// The fake records every request; the bench does not need them and must not grow memory.
const keepEmpty = setInterval(() => void (cf.server.requests.length = 0), 50);

const client = new VendorClient({
  vendor: 'bench',
  baseUrl: cf.base.replace(/\/client\/v4$/, ''),
  authorize: (r) => void (r.headers.authorization = `Bearer ${TOKEN}`),
});
const agent = new Agent({ keepAlive: true });
const body = JSON.stringify({ on_demand: { advertised: true } });

function bare(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: cf.server.port,
        path,
        method: 'PATCH',
        agent,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve();
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function timeEach(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

// Warm both paths (JIT, connection pools), then alternate rounds so drift hits both equally.
await timeEach(200, bare);
await timeEach(200, () => client.request({ method: 'PATCH', path, body: { on_demand: { advertised: true } } }));
const clientMs: number[] = [];
const bareMs: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  bareMs.push(...(await timeEach(N / ROUNDS, bare)));
  clientMs.push(
    ...(await timeEach(N / ROUNDS, () =>
      client.request({ method: 'PATCH', path, body: { on_demand: { advertised: true } } }),
    )),
  );
}

// A full Magic Transit activate → withdraw through the adapter (ids cached after the first lookup).
const captured = capturedContext('bench-mt', { CF: TOKEN });
const mt = new MagicTransitAction(
  magicTransitConfigSchema.parse({ accountId: ACCOUNT, apiToken: 'CF', baseUrl: cf.base, settleSeconds: 0 }),
  captured.ctx,
);
const rule = makeRule<DivertRule>({
  kind: 'divert',
  tenant: 'bench',
  target: Prefix.parse('203.0.113.0/24'),
  provider: 'cf',
  level: 4,
  ttlSeconds: 300,
});
await mt.apply(rule);
await mt.withdraw(rule);
const cycleMs = await timeEach(300, async () => {
  await mt.apply(rule);
  await mt.withdraw(rule);
});
captured.cleanup();

// Retry timing: Retry-After: 1 on the first attempt; and 503s with a 100 ms backoff base (100, 200, 400 ms + ≤25% jitter).
const retryAfterMs: number[] = [];
for (let i = 0; i < 3; i++) {
  cf.server.inject.push({
    status: 429,
    headers: { 'retry-after': '1' },
    body: { success: false, errors: [{ code: 971, message: 'rate limited' }], messages: [], result: null },
  });
  const t0 = Date.now();
  await client.request({ method: 'PATCH', path, body: { on_demand: { advertised: true } } });
  retryAfterMs.push(Date.now() - t0);
}
const backoffClient = new VendorClient({
  vendor: 'bench',
  baseUrl: cf.base.replace(/\/client\/v4$/, ''),
  retries: 3,
  backoffBaseMs: 100,
  authorize: (r) => void (r.headers.authorization = `Bearer ${TOKEN}`),
});
const backoffMs: number[] = [];
for (let i = 0; i < 3; i++) {
  for (let k = 0; k < 3; k++) cf.server.inject.push({ status: 503, body: 'unavailable' });
  const t0 = Date.now();
  await backoffClient.request({ method: 'GET', path });
  backoffMs.push(Date.now() - t0);
}

clearInterval(keepEmpty);
agent.destroy();
await cf.server.stop();

const p50c = median(clientMs);
const p50b = median(bareMs);
const result = {
  requests: clientMs.length,
  client: { p50Ms: round(p50c, 3), p99Ms: round(percentile(clientMs, 99), 3) },
  anchorBareNodeHttp: { p50Ms: round(p50b, 3), p99Ms: round(percentile(bareMs, 99), 3) },
  ratioP50: round(p50c / p50b),
  ratioP99: round(percentile(clientMs, 99) / percentile(bareMs, 99)),
  // Requests slower than 10 ms on either path: scheduler/other-load noise on a shared machine, not the client.
  over10ms: { client: clientMs.filter((x) => x > 10).length, anchor: bareMs.filter((x) => x > 10).length },
  magicTransitActivateWithdrawCycle: {
    p50Ms: round(median(cycleMs), 3),
    p99Ms: round(percentile(cycleMs, 99), 3),
    requestsPerCycle: 4,
  },
  retryAfter1s: { measuredMs: retryAfterMs, expectedMs: 1000 },
  backoff3x503Base100: { measuredMs: backoffMs, expectedRangeMs: [700, 875] },
};
writeResult(
  'cloud',
  result,
  `cloud: shared client p50 ${result.client.p50Ms} ms / p99 ${result.client.p99Ms} ms vs bare node:http p50 ${result.anchorBareNodeHttp.p50Ms} ms → ratio ${result.ratioP50} (p99 ratio ${result.ratioP99}); ` +
    `MT activate→withdraw p50 ${result.magicTransitActivateWithdrawCycle.p50Ms} ms; Retry-After 1 s waited ${median(retryAfterMs)} ms; 3×503 backoff ${median(backoffMs)} ms (expected 700–875)`,
);
process.exit(0);
