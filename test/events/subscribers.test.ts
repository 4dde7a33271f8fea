import { expect } from 'chai';
import { defineEventSubscriber, type WireEvent } from '@ft/sdk';
import {
  EventStream,
  attachConsumer,
  wireEventSchema,
  type FtEvent,
  type Subscription,
} from '../../core/events/index.js';
import { waitFor } from '../helpers/wait.js';
import { ruleRefused, speakerDown, tempDir } from './fixtures.js';

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);

describe('event subscribers', () => {
  let t: ReturnType<typeof tempDir>;
  let stream: EventStream;
  beforeEach(async () => {
    t = tempDir();
    stream = await EventStream.openEmbedded({ stateDir: t.dir, tenant: 'example-isp' });
  });
  afterEach(async () => {
    await stream.close();
    t.cleanup();
  });

  it('a stuck subscriber holds up neither the appender nor another subscriber; it reads back once unstuck', async () => {
    let release!: () => void;
    const stuckUntil = new Promise<void>((r) => (release = r));
    const stuckGot: number[] = [];
    const stuck = await stream.subscribe(
      'stuck',
      async (events) => {
        await stuckUntil;
        stuckGot.push(...events.map((e) => e.seq));
      },
      { queue: 16, batch: 4 },
    );
    const healthyGot: number[] = [];
    const healthy = await stream.subscribe('healthy', (events) => void healthyGot.push(...events.map((e) => e.seq)));
    // Far more than the stuck one's queue: every append still resolves while its handler has not returned.
    for (let n = 1; n <= 200; n++) await stream.append([speakerDown(n)]);
    await healthy.caughtUp();
    expect(healthyGot).to.deep.equal(range(1, 200));
    expect(stuckGot).to.deep.equal([]);
    expect(stuck.stats().behind).to.equal(true);
    expect(stuck.stats().queued).to.equal(0);
    release();
    await stuck.caughtUp();
    expect(stuckGot).to.deep.equal(range(1, 200));
    expect(stuck.stats().behind).to.equal(false);
  });

  it('starts at its stored cursor after a restart; a new one starts at "now" unless asked for "start"', async () => {
    const got: number[] = [];
    const a = await stream.subscribe('alerts', (events) => void got.push(...events.map((e) => e.seq)));
    await stream.append([speakerDown(1), speakerDown(2), speakerDown(3)]);
    await a.caughtUp();
    await a.close();
    await stream.append([speakerDown(4), speakerDown(5)]);
    await stream.close();
    stream = await EventStream.openEmbedded({ stateDir: t.dir });
    const again: number[] = [];
    const b = await stream.subscribe('alerts', (events) => void again.push(...events.map((e) => e.seq)));
    const fresh: number[] = [];
    const c = await stream.subscribe('fresh', (events) => void fresh.push(...events.map((e) => e.seq)));
    const all: number[] = [];
    const d = await stream.subscribe('archive', (events) => void all.push(...events.map((e) => e.seq)), {
      from: 'start',
    });
    await stream.append([speakerDown(6)]);
    for (const s of [b, c, d]) await s.caughtUp();
    expect(got).to.deep.equal([1, 2, 3]);
    expect(again).to.deep.equal([4, 5, 6]);
    expect(fresh).to.deep.equal([6]);
    expect(all).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });

  it('at-least-once: a failing handler is retried with the same events until it succeeds; the cursor waits', async () => {
    let failures = 0;
    const got: number[][] = [];
    const s = await stream.subscribe(
      'flaky',
      (events) => {
        if (failures < 3) {
          failures++;
          throw new Error('sink unreachable');
        }
        got.push(events.map((e) => e.seq));
      },
      { retryBaseMs: 1, retryMaxMs: 4 },
    );
    await stream.append([speakerDown(1), speakerDown(2)]);
    await waitFor(() => got.length > 0, { what: 'the retried delivery' });
    expect(got[0]).to.deep.equal([1, 2]);
    expect(s.stats().failures).to.equal(3);
    expect(s.stats().lastError).to.equal('sink unreachable');
  });

  it('type filters hand over only those types and still move the cursor over the rest', async () => {
    const got: FtEvent[] = [];
    const s = await stream.subscribe('refusals', (events) => void got.push(...events), { types: ['rule.refused'] });
    await stream.append([speakerDown(1), ruleRefused(2), speakerDown(3), ruleRefused(4)]);
    await s.caughtUp();
    expect(got.map((e) => [e.seq, e.type])).to.deep.equal([
      [2, 'rule.refused'],
      [4, 'rule.refused'],
    ]);
    await s.close();
    await stream.close();
    stream = await EventStream.openEmbedded({ stateDir: t.dir });
    const again: number[] = [];
    const s2 = await stream.subscribe('refusals', (events) => void again.push(...events.map((e) => e.seq)));
    await stream.append([speakerDown(5)]);
    await s2.caughtUp();
    expect(again).to.deep.equal([5]);
  });

  it('manualAck: only what the handler acknowledged is behind the cursor after a restart', async () => {
    const got: number[] = [];
    const sub: Subscription = await stream.subscribe(
      'export',
      async (events) => {
        got.push(...events.map((e) => e.seq));
        // The remote confirmed only the first two.
        if (events.some((e) => e.seq === 2)) await sub.ack(2);
      },
      { manualAck: true },
    );
    await stream.append([speakerDown(1), speakerDown(2), speakerDown(3), speakerDown(4)]);
    await sub.caughtUp();
    expect(got).to.deep.equal([1, 2, 3, 4]);
    await sub.close();
    await stream.close();
    stream = await EventStream.openEmbedded({ stateDir: t.dir });
    const again: number[] = [];
    const s2 = await stream.subscribe('export', (events) => void again.push(...events.map((e) => e.seq)));
    await s2.caughtUp();
    expect(again).to.deep.equal([3, 4]);
  });

  it('a subscriber that retention passed is told how many it lost, and the stream carries an alarm', async () => {
    await stream.close();
    stream = await EventStream.openEmbedded({ stateDir: t.dir, segmentBytes: 2048, retainBytes: 6144 });
    const first = await stream.subscribe('slow', () => undefined);
    await stream.append([speakerDown(1)]);
    await first.caughtUp();
    await first.close();
    for (let n = 2; n <= 200; n++) await stream.append([ruleRefused(n)]);
    const lost: number[] = [];
    const got: FtEvent[] = [];
    const s = await stream.subscribe('slow', (events) => void got.push(...events), {
      onLost: (l) => lost.push(l.count),
    });
    await waitFor(() => got.some((e) => e.type === 'subscriber.lost_events'), { what: 'the lost-events alarm' });
    const oldest = (got[0] as FtEvent).seq;
    expect(oldest).to.be.greaterThan(2);
    expect(lost).to.deep.equal([oldest - 2]);
    const alarm = got.find((e) => e.type === 'subscriber.lost_events') as Extract<
      FtEvent,
      { type: 'subscriber.lost_events' }
    >;
    expect(alarm.data).to.deep.equal({ subscriber: 'slow', lost: oldest - 2, fromSeq: 2, toSeq: oldest - 1 });
    expect(s.stats().lost).to.equal(oldest - 2);
  });

  it('refuses a second subscriber of the same name and names that are not names', async () => {
    await stream.subscribe('one', () => undefined);
    let err: Error | undefined;
    await stream.subscribe('one', () => undefined).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/already running/);
    await stream.subscribe('../etc', () => undefined).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/letters, digits/);
  });

  it('a plugin subscriber gets the wire JSON (what a webhook carries), only its types, and acks by resolving', async () => {
    const got: WireEvent[] = [];
    const spec = defineEventSubscriber({
      name: 'alerts:noc',
      types: ['rule.refused'],
      create: () => ({ handle: async (events) => void got.push(...events) }),
    });
    const attached = await attachConsumer(stream, spec, {
      logger: {
        debug() {},
        info() {},
        warn() {},
        error() {},
        child() {
          return this;
        },
      },
      signal: new AbortController().signal,
    });
    await stream.append([speakerDown(1), ruleRefused(2)]);
    await attached.subscription.caughtUp();
    expect(got.map((e) => e.seq)).to.deep.equal([2]);
    const e = got[0] as Extract<WireEvent, { type: 'rule.refused' }>;
    expect(wireEventSchema.safeParse(e).success).to.equal(true);
    expect(e.data.target).to.equal('203.0.113.2/32');
    expect(e.data.rule_id).to.be.a('string');
    expect(e.at).to.match(/^\d{4}-\d\d-\d\dT/);
    await attached.close();
    expect(() =>
      defineEventSubscriber({
        name: 'x',
        types: ['rule.exploded' as never],
        create: () => ({ handle: async () => {} }),
      }),
    ).to.throw(/no event type "rule.exploded"/);
  });

  it('a subscriber that keeps up is fed from its queue, not from the log, even while its handler is busy', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const got: number[] = [];
    const s = await stream.subscribe('busy', async (events) => {
      await gate; // busy with the first batch while the next events are appended
      got.push(...events.map((e) => e.seq));
    });
    await s.caughtUp();
    const before = s.stats().readBacks;
    for (let n = 1; n <= 50; n++) await stream.append([speakerDown(n)]);
    open();
    await s.caughtUp();
    expect(got).to.deep.equal(range(1, 50));
    expect(s.stats().readBacks - before, 'reads from the log while it kept up').to.equal(0);
  });
});
