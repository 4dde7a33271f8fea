// Batch receive (recvmmsg, native/recv.c) against Node's dgram, which stays the reference: the same datagrams,
// bytes and exporters must come out of both, in order per exporter, through bursts, pauses and odd sizes.
import { expect } from 'chai';
import fc from 'fast-check';
import { createSocket, type Socket } from 'node:dgram';
import { waitFor } from '../../../test/helpers/wait.js';
import type { ProtocolChoice } from '../src/decode/index.js';
import { batchReceive } from '../src/listen/batch-receive.js';
import { ExporterFilter } from '../src/listen/exporter-filter.js';
import { FlowListener } from '../src/listen/listener.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';
const EXPORTERS = ['127.0.0.21', '127.0.0.22', '127.0.0.23', '127.0.0.24'];

/** A listener on 127.0.0.1:0 that records what it delivers, per exporter, as hex. */
async function listening(batch: boolean, coalesceMs: number) {
  const got = new Map<string, string[]>();
  let count = 0;
  const l = new FlowListener({
    listeners: [{ protocol: 'auto', address: '127.0.0.1', port: 0 }],
    filter: new ExporterFilter([]),
    mirrors: [],
    receiveBufferBytes: 8 << 20,
    coalesceMs,
    batchReceive: batch,
    deliver: (buf: Buffer, exporter: string, _now: number, _p: ProtocolChoice) => {
      count++;
      let list = got.get(exporter);
      if (!list) got.set(exporter, (list = []));
      list.push(buf.toString('hex'));
    },
  });
  const [bound] = await l.start();
  return { l, port: bound!.port, got, count: () => count };
}

describe('batch receive (recvmmsg) against Node’s dgram', function () {
  this.timeout(60_000);
  const senders: Socket[] = [];
  before(async function () {
    if (!batchReceive()) {
      // lab/setup installs a C compiler, so CI always has the addon: a missing one there is a failure.
      if (CI) throw new Error('the batch receive addon was not built (npm run build needs a C compiler)');
      this.skip();
    }
    for (const a of EXPORTERS) {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, a, () => r()));
      senders.push(s);
    }
  });
  after(() => {
    for (const s of senders) s.close();
  });

  it('delivers the same datagrams, bytes and exporters, in order per exporter (property, bursts and pauses)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            exporter: fc.integer({ min: 0, max: EXPORTERS.length - 1 }),
            size: fc.oneof(fc.integer({ min: 2, max: 1500 }), fc.integer({ min: 1501, max: 9000 })),
            seed: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 300 },
        ),
        fc.constantFrom(0, 5, 20),
        async (datagrams, coalesceMs) => {
          const runs = [];
          for (const batch of [false, true]) {
            const r = await listening(batch, coalesceMs);
            // All at once: the kernel queues them, and a batch reader gets many per call.
            await Promise.all(
              datagrams.map(
                (d, i) =>
                  new Promise<void>((ok, fail) => {
                    const buf = Buffer.alloc(d.size, (d.seed + i) & 255);
                    buf.writeUInt16BE(i & 0xffff, 0);
                    senders[d.exporter]!.send(buf, r.port, '127.0.0.1', (e) => (e ? fail(e) : ok()));
                  }),
              ),
            );
            await waitFor(() => r.count() === datagrams.length, { what: 'every datagram', timeoutMs: 10_000 });
            await r.l.stop();
            runs.push(Object.fromEntries([...r.got].sort()));
          }
          expect(runs[1]).to.deep.equal(runs[0]);
        },
      ),
      { numRuns: 15 },
    );
  });
});
