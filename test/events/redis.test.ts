import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { EventStream, JournalEventLog, RedisEventLog } from '../../core/events/index.js';
import { RedisServer } from '../fleet/redis.js';
import { allEvents, speakerDown, tempDir } from './fixtures.js';

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);

describe('fleet event stream on a real redis-server', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  const conns: Redis[] = [];
  const dirs: ReturnType<typeof tempDir>[] = [];
  const conn = () => {
    const c = redis.client();
    c.on('error', () => undefined); // reconnects while the server restarts are expected
    conns.push(c);
    return c;
  };
  const dir = () => {
    const d = tempDir();
    dirs.push(d);
    return d.dir;
  };
  before(async () => (redis = await RedisServer.start({ aof: true })));
  after(async () => redis.destroy());
  afterEach(async () => {
    await conn().flushall();
    for (const c of conns.splice(0)) c.disconnect();
    for (const d of dirs.splice(0)) d.cleanup();
  });

  it('two controllers appending at once share one sequence: no gap, no seq twice; each archives its own in order', async () => {
    const archives = await Promise.all([0, 1].map(() => JournalEventLog.open({ dir: dir(), archive: true })));
    const logs = archives.map(
      (archive, i) => new RedisEventLog({ conn: conn(), archive, node: `ctl-${i + 1}`, tenant: 'example-isp' }),
    );
    await Promise.all(
      logs.map(async (log) => {
        for (let n = 0; n < 60; n++) await log.append(range(0, n % 3).map((k) => speakerDown(n * 3 + k)));
      }),
    );
    const stream = (await allEvents(logs[0] as RedisEventLog)).events;
    const seqs = stream.map((e) => e.seq);
    expect(seqs).to.deep.equal(range(1, seqs.length));
    expect(seqs.length).to.equal(2 * 60 * 2);
    for (const [i, archive] of archives.entries()) {
      const mine = (await allEvents(archive)).events.map((e) => e.seq);
      expect(mine).to.deep.equal(
        stream.filter((e) => e.node === `ctl-${i + 1}`).map((e) => e.seq),
        `archive of ctl-${i + 1}`,
      );
      await archive.close();
    }
  });

  it('the sequence never goes back, even when the counter is lost with a Redis that did not keep it', async () => {
    const log = new RedisEventLog({ conn: conn() });
    await log.append([speakerDown(1), speakerDown(2), speakerDown(3)]);
    await conn().del(log.keys.seq);
    const next = await log.append([speakerDown(4)]);
    expect(next[0]?.seq).to.equal(4);
    expect(await log.lastSeq()).to.equal(4);
  });

  it('survives a Redis restart (appendonly): seqs go on from where they were', async () => {
    const log = new RedisEventLog({ conn: conn() });
    await log.append([speakerDown(1), speakerDown(2)]);
    await redis.stop('SIGKILL');
    await redis.launch();
    const after = new RedisEventLog({ conn: conn() });
    expect((await after.append([speakerDown(3)]))[0]?.seq).to.equal(3);
    expect((await allEvents(after)).events.map((e) => e.seq)).to.deep.equal([1, 2, 3]);
  });

  it('a fleet subscriber keeps its cursor in Redis and resumes there from another controller', async () => {
    const c1 = await EventStream.openFleet({ conn: conn(), stateDir: dir(), tenant: 'example-isp' });
    const got: number[] = [];
    const s = await c1.subscribe('siem', (events) => void got.push(...events.map((e) => e.seq)));
    await c1.append([speakerDown(1), speakerDown(2)]);
    await s.caughtUp();
    await c1.close();
    // The standby took over: the stream went on meanwhile.
    const c2 = await EventStream.openFleet({ conn: conn(), stateDir: dir(), tenant: 'example-isp' });
    await c2.append([speakerDown(3)]);
    const again: number[] = [];
    const s2 = await c2.subscribe('siem', (events) => void again.push(...events.map((e) => e.seq)));
    await c2.append([speakerDown(4)]);
    await s2.caughtUp();
    expect(got).to.deep.equal([1, 2]);
    expect(again).to.deep.equal([3, 4]);
    await c2.close();
  });

  it('a reader behind the trimmed stream is told how many it lost', async () => {
    const log = new RedisEventLog({ conn: conn(), maxLen: 10 });
    for (let n = 1; n <= 300; n++) await log.append([speakerDown(n)]);
    const first = await log.firstSeq();
    expect(first).to.be.greaterThan(1);
    const r = await log.cursor(1).next(5);
    expect(r.lost).to.deep.equal({ fromSeq: 1, toSeq: first - 1, count: first - 1 });
    expect(r.events[0]?.seq).to.equal(first);
  });

  it('a state directory that held an embedded log, then a fleet archive: the old log is moved aside, never mixed', async () => {
    const stateDir = dir();
    const embedded = await EventStream.openEmbedded({ stateDir });
    await embedded.append([speakerDown(1), speakerDown(2), speakerDown(3)]);
    await embedded.close();
    const fleet = await EventStream.openFleet({ conn: conn(), stateDir });
    const got = await fleet.append([speakerDown(4)]);
    await fleet.close();
    expect(got[0]?.seq).to.equal(1);
    const archive = await JournalEventLog.open({ dir: join(stateDir, 'events'), readOnly: true });
    expect((await allEvents(archive)).events.map((e) => e.seq)).to.deep.equal([1]);
    const aside = readdirSync(stateDir).filter((n) => n.startsWith('events.embedded.'));
    expect(aside).to.have.length(1);
    const old = await JournalEventLog.open({ dir: join(stateDir, aside[0] as string), readOnly: true });
    expect((await allEvents(old)).events.map((e) => e.seq)).to.deep.equal([1, 2, 3]);
  });
});
