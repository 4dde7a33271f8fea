import { expect } from 'chai';
import fc from 'fast-check';
import { Prefix } from '@ft/sdk';
import { waitFor } from '../helpers/wait.js';
import { RtrClient, rtrPdu } from '../../core/rpki/index.js';
import { FakeCache, fullResponse, prefixPdu, type Pdu } from './fake-cache.js';

const { ERROR_CODE } = rtrPdu;
const P = (s: string) => Prefix.parse(s);

describe('RTR client against a scripted cache (branches a real cache does not take on demand)', function () {
  this.timeout(30_000);
  let cache: FakeCache;
  let client: RtrClient | undefined;
  const start = (extra = {}) => {
    client = new RtrClient({
      caches: [{ host: '127.0.0.1', port: cache.port }],
      backoff: { initialMs: 50, maxMs: 200 },
      ...extra,
    });
    return client.start();
  };
  const expectPdu = async (c: { next(ms?: number): Promise<Pdu | undefined> }, type: Pdu['type'], version?: number) => {
    const p = await c.next();
    expect(p?.type, JSON.stringify(p)).to.equal(type);
    if (version !== undefined) expect(p?.version).to.equal(version);
    return p!;
  };

  beforeEach(async () => {
    cache = await FakeCache.start();
  });
  afterEach(async () => {
    client?.stop();
    client = undefined;
    await cache.stop();
  });

  it('falls back to version 0 when a cache hangs up on a version 1 query', async () => {
    const c = start();
    const first = await cache.connection(0);
    await expectPdu(first, 'reset-query', 1);
    first.close();
    const second = await cache.connection(1);
    await expectPdu(second, 'reset-query', 0);
    second.send(...fullResponse(0, 7, 1));
    const snap = await c.ready(5000);
    expect(snap.table.validate(P('203.0.113.0/24'), 64500).state).to.equal('valid');
    expect(c.status()[0]).to.deep.include({ version: 0, sessionId: 7, serial: 1 });
  });

  it('tries version 1 again when version 0 meets the same silent hang-up (a dying cache, not an old one)', async () => {
    start();
    const a = await cache.connection(0);
    await expectPdu(a, 'reset-query', 1);
    a.close();
    const b = await cache.connection(1);
    await expectPdu(b, 'reset-query', 0);
    b.close();
    await expectPdu(await cache.connection(2), 'reset-query', 1);
  });

  it('falls back to version 0 on Error Report 4 (Unsupported Protocol Version)', async () => {
    const c = start();
    const first = await cache.connection(0);
    const q = await expectPdu(first, 'reset-query', 1);
    first.send(
      rtrPdu.encodeErrorReport(0, ERROR_CODE.unsupportedVersion, rtrPdu.encodePdu(q), 'version 1 not supported'),
    );
    const second = await cache.connection(1);
    await expectPdu(second, 'reset-query', 0);
    second.send(...fullResponse(0, 7, 1));
    await c.ready(5000);
    expect(c.status()[0]!.version).to.equal(0);
    expect(c.status()[0]!.lastError).to.deep.include({ direction: 'received', code: 4 });
  });

  it('keeps the connection and asks again after `retry` on Error Report 2 (No Data Available)', async () => {
    const c = start({ timers: { retry: 1 } });
    const conn = await cache.connection(0);
    await expectPdu(conn, 'reset-query', 1);
    conn.send(rtrPdu.encodeErrorReport(1, ERROR_CODE.noDataAvailable, new Uint8Array(), 'no data yet'));
    await expectPdu(conn, 'reset-query', 1); // same connection, after the retry interval
    conn.send(...fullResponse(1, 9, 3));
    await c.ready(5000);
    expect(cache.connections).to.have.length(1);
  });

  it('reconnects when a cache takes a query and never finishes the answer (after `retry`)', async () => {
    const c = start({ timers: { retry: 1 } });
    const conn = await cache.connection(0);
    await expectPdu(conn, 'reset-query');
    conn.send({ type: 'cache-response', version: 1, sessionId: 5 }); // ...and then nothing
    expect(await conn.whenClosed(3000)).to.equal(true);
    const again = await cache.connection(1);
    await expectPdu(again, 'reset-query');
    expect(c.status()[0]!.lastError?.message).to.contain('no End of Data within 1 s');
  });

  it('reassembles PDUs cut at every byte, and packed several to a write', async () => {
    const c = start();
    const conn = await cache.connection(0);
    await expectPdu(conn, 'reset-query');
    await conn.trickle(...fullResponse(1, 5, 1, [prefixPdu(1, true, '198.51.100.0', 24, 28, 64501)]));
    await c.ready(5000);
    conn.send({ type: 'serial-notify', version: 1, sessionId: 5, serial: 2 });
    await expectPdu(conn, 'serial-query');
    conn.send(
      { type: 'cache-response', version: 1, sessionId: 5 },
      prefixPdu(1, false, '198.51.100.0', 24, 28, 64501),
      prefixPdu(1, true, '192.0.2.0', 24, 24, 64502),
      {
        type: 'end-of-data',
        version: 1,
        sessionId: 5,
        serial: 2,
        timers: { refresh: 3600, retry: 600, expire: 7200 },
      },
    );
    await waitFor(() => c.snapshot()?.serial === 2);
    const t = c.snapshot()!.table;
    expect(t.size).to.equal(2);
    expect(t.validate(P('192.0.2.0/24'), 64502).state).to.equal('valid');
    expect(t.validate(P('198.51.100.0/24'), 64501).state).to.equal('not-found');
  });

  it('answers a withdrawal of an unknown VRP with error 6, keeps its data, and resyncs with a Reset Query', async () => {
    const c = start();
    const conn = await cache.connection(0);
    await expectPdu(conn, 'reset-query');
    conn.send(...fullResponse(1, 5, 1));
    await c.ready(5000);
    conn.send({ type: 'serial-notify', version: 1, sessionId: 5, serial: 2 });
    await expectPdu(conn, 'serial-query');
    conn.send(
      { type: 'cache-response', version: 1, sessionId: 5 },
      prefixPdu(1, true, '192.0.2.0', 24, 24, 64502),
      prefixPdu(1, false, '198.51.100.0', 24, 24, 1),
      {
        type: 'end-of-data',
        version: 1,
        sessionId: 5,
        serial: 2,
        timers: { refresh: 3600, retry: 600, expire: 7200 },
      },
    );
    const err = await expectPdu(conn, 'error-report');
    expect(err).to.deep.include({ code: ERROR_CODE.withdrawalOfUnknownRecord });
    expect(await conn.whenClosed()).to.equal(true);
    // Nothing of the bad delta was applied: not even the valid announcement before the bad withdrawal.
    expect(c.snapshot()!.table.validate(P('192.0.2.0/24'), 64502).state).to.equal('not-found');
    expect(c.snapshot()!.serial).to.equal(1);
    await expectPdu(await cache.connection(1), 'reset-query');
  });

  it('answers a duplicate announcement with error 7', async () => {
    start();
    const conn = await cache.connection(0);
    await expectPdu(conn, 'reset-query');
    conn.send(...fullResponse(1, 5, 1, [prefixPdu(1, true, '203.0.113.0', 24, 24, 64500)]));
    const err = await expectPdu(conn, 'error-report');
    expect(err).to.deep.include({ code: ERROR_CODE.duplicateAnnouncement });
    expect((err as Extract<Pdu, { type: 'error-report' }>).text).to.contain('203.0.113.0/24-24 AS64500');
  });

  it('drops the data of a cache whose session id changes mid-session (error 0)', async () => {
    const c = start();
    const conn = await cache.connection(0);
    await expectPdu(conn, 'reset-query');
    conn.send(...fullResponse(1, 5, 1));
    await c.ready(5000);
    conn.send({ type: 'serial-notify', version: 1, sessionId: 6, serial: 2 });
    const err = await expectPdu(conn, 'error-report');
    expect(err).to.deep.include({ code: ERROR_CODE.corruptData });
    expect(c.snapshot()).to.equal(undefined);
    await expectPdu(await cache.connection(1), 'reset-query');
  });

  it('answers a PDU of another version after agreement with error 8, and an unknown PDU type with error 5', async () => {
    start();
    const conn = await cache.connection(0);
    await expectPdu(conn, 'reset-query', 1);
    conn.send(...fullResponse(1, 5, 1));
    conn.send({ type: 'serial-notify', version: 0, sessionId: 5, serial: 2 });
    expect(await expectPdu(conn, 'error-report')).to.deep.include({
      code: ERROR_CODE.unexpectedProtocolVersion,
      version: 1,
    });
    const again = await cache.connection(1);
    await expectPdu(again, 'serial-query', 1);
    again.send(Buffer.from('0105000000000008', 'hex'));
    expect(await expectPdu(again, 'error-report')).to.deep.include({ code: ERROR_CODE.unsupportedPduType });
  });

  it('does not answer an Error Report with one, and records what the cache said', async () => {
    const c = start();
    const conn = await cache.connection(0);
    await expectPdu(conn, 'reset-query');
    conn.send(rtrPdu.encodeErrorReport(1, ERROR_CODE.internalError, new Uint8Array(), 'disk on fire\0'));
    expect(await conn.next(500)).to.equal(undefined);
    expect(await conn.whenClosed()).to.equal(true);
    expect(c.status()[0]!.lastError).to.deep.include({
      direction: 'received',
      code: 1,
      message: 'Internal Error: disk on fire',
    });
  });

  it('survives arbitrary bytes from a cache: an error report or a clean disconnect, never a crash', async () => {
    const c = start({ backoff: { initialMs: 1, maxMs: 5 } });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 120 }), async (garbage) => {
        const conn = await cache.connection(n++);
        await conn.next();
        conn.send(garbage);
        // Either the client rejects it (error report, then close) or waits for more; we end the exchange either way.
        const answer = await conn.next(50);
        if (answer) expect(answer.type).to.equal('error-report');
        conn.close();
        await conn.whenClosed();
      }),
      { numRuns: 40 },
    );
    // Still working afterwards: the next connection that speaks proper RTR gets it its data.
    const good = await cache.connection(n);
    // Garbage may legitimately have been an Error Report 4 that moved the client to version 0.
    const q = await expectPdu(good, 'reset-query');
    good.send(...fullResponse(q.version, 3, 1));
    expect((await c.ready(5000)).table.size).to.equal(1);
  });
});
