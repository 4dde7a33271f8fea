import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createJsonLogger } from '../../core/index.js';
import { RtrClient } from '../../core/rpki/index.js';
import { requireLab } from '../helpers/env.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { Stayrtr } from '../rpki/stayrtr.js';

// Verdicts silently lost their RPKI source: a cache that could not be reached, or dropped the session, was only
// logged at debug level, retry after retry. Now: one warning per outage and one line when the cache is back.
describe('RTR cache outages are logged once each (real stayrtr)', function () {
  this.timeout(60_000);
  let cache: Stayrtr | undefined;
  let client: RtrClient | undefined;
  before(function () {
    requireLab(this, { commands: ['stayrtr'] });
  });
  after(async () => {
    client?.stop();
    await cache?.destroy();
  });

  it('unreachable: one warning over many retries; back: one info; lost: one warning', async () => {
    const lines: { level: number; msg: string; err?: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const port = await freePort();
    client = new RtrClient({
      caches: [{ host: '127.0.0.1', port }],
      logger: createJsonLogger({ destination, level: 'info' }),
      backoff: { initialMs: 20, maxMs: 50 },
      connectTimeoutMs: 2000,
    }).start();
    const session = client.sessions[0]!;
    await waitFor(() => session.counters.connects >= 4, { what: 'four connection attempts' });
    const warnings = () => lines.filter((l) => l.level === 40);
    expect(warnings().map((l) => l.msg)).to.deep.equal(['RTR cache unreachable; retrying']);
    expect(warnings()[0]!.err).to.match(/ECONNREFUSED/);

    cache = await Stayrtr.start([{ prefix: '203.0.113.0/24', maxLength: 24, asn: 64500 }], { port });
    await client.ready(30_000);
    expect(lines.filter((l) => l.msg === 'RTR cache reachable again')).to.have.length(1);

    await cache.stop();
    const before = session.counters.connects;
    await waitFor(() => session.counters.connects >= before + 3, { what: 'three reconnection attempts' });
    expect(warnings().map((l) => l.msg)).to.deep.equal([
      'RTR cache unreachable; retrying',
      'RTR cache connection lost; reconnecting (its VRPs are used until they expire)',
    ]);
  });
});
