import { expect } from 'chai';
import type { Health } from '@ft/sdk';
import { EventStream, OperationalWatch, type FtEvent } from '../../core/events/index.js';
import { RtrClient } from '../../core/rpki/index.js';
import { requireLab } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { Stayrtr } from '../rpki/stayrtr.js';
import { allEvents, tempDir } from './fixtures.js';

describe('operational events for alerts: speakers, detectors, exporters, RTR caches, RPKI freshness', function () {
  this.timeout(60_000);
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

  it('a speaker going down and up, a detector falling silent and coming back: one event per change', async () => {
    const clock = { t: 1_800_000_000_000 };
    let health: Health = { status: 'ok' };
    const watch = new OperationalWatch({
      events: stream,
      now: () => clock.t,
      actions: [{ name: 'pop1-gobgp', kind: 'gobgp', timeoutMs: 1000, action: { health: async () => health } }],
      popOf: () => 'pop1',
      detectors: [{ name: 'flow', kind: 'flow', detector: {} }],
      healthEveryMs: 10_000,
      detectorSilentMs: 60_000,
    });
    const step = async (ms: number, sample = true) => {
      clock.t += ms;
      if (sample) watch.sampleSeen('flow');
      watch.tick();
      await watch.idle();
    };
    await step(1000);
    health = { status: 'down', detail: 'connect ECONNREFUSED unix:///run/gobgpd.sock' };
    await step(5000); // not asked yet: health is checked every 10 s
    await step(5000);
    await step(10_000); // still down: nothing new
    health = { status: 'ok' };
    await step(10_000);
    for (let i = 0; i < 7; i++) await step(10_000, false); // 70 s without a sample
    await step(1000);
    const events = (await allEvents(stream.source)).events;
    expect(events.map((e) => e.type)).to.deep.equal([
      'speaker.down',
      'speaker.up',
      'detector.silent',
      'detector.resumed',
    ]);
    const [down, up, silent, resumed] = events as [
      Extract<FtEvent, { type: 'speaker.down' }>,
      Extract<FtEvent, { type: 'speaker.up' }>,
      Extract<FtEvent, { type: 'detector.silent' }>,
      Extract<FtEvent, { type: 'detector.resumed' }>,
    ];
    expect(down.data).to.deep.include({ speaker: 'pop1-gobgp', adapter: 'gobgp', pop: 'pop1', status: 'down' });
    expect(down.data.detail).to.match(/ECONNREFUSED/);
    expect(up.data.downForMs).to.equal(20_000);
    expect(silent.data.detector).to.equal('flow');
    expect(silent.data.silentForMs).to.be.greaterThan(60_000);
    expect(resumed.data.silentForMs, 'from the last sample before to the first after').to.equal(71_000);
  });

  it('flow exporters from the detector metrics: silent, degraded by sequence gaps, ok again', async () => {
    const clock = { t: 1_800_000_000_000 };
    let lastSeen = clock.t;
    let loss = 0;
    const watch = new OperationalWatch({
      events: stream,
      now: () => clock.t,
      detectors: [
        {
          name: 'flow',
          detector: {
            metrics: () => [
              {
                name: 'ft_flow_exporter_last_seen_seconds',
                help: '',
                type: 'gauge',
                value: lastSeen / 1000,
                labels: { exporter: '192.0.2.7' },
              },
              {
                name: 'ft_flow_exporter_loss_ratio',
                help: '',
                type: 'gauge',
                value: loss,
                labels: { exporter: '192.0.2.7' },
              },
            ],
          },
        },
      ],
      detectorSilentMs: 1e12,
    });
    const step = async (ms: number) => {
      clock.t += ms;
      watch.tick();
      await watch.idle();
    };
    await step(30_000);
    await step(31_000); // 61 s since last heard
    lastSeen = clock.t;
    loss = 0.05;
    await step(1000);
    loss = 0;
    await step(1000);
    const events = (await allEvents(stream.source)).events;
    expect(events.map((e) => e.type)).to.deep.equal(['exporter.silent', 'exporter.degraded', 'exporter.ok']);
    expect((events[1] as Extract<FtEvent, { type: 'exporter.degraded' }>).data.detail).to.match(/5\.0 %/);
  });

  it('a real RTR cache (stayrtr) lost and back: rtr.down, rtr.up; data past its expiry is rpki.stale, fresh data again rpki.fresh', async function () {
    requireLab(this, { commands: ['stayrtr'] });
    const s = await Stayrtr.start([{ prefix: '203.0.113.0/24', maxLength: 24, asn: 64500 }]);
    const client = new RtrClient({
      caches: [{ host: '127.0.0.1', port: s.port }],
      backoff: { initialMs: 100, maxMs: 400 },
      connectTimeoutMs: 2000,
    }).start();
    try {
      await client.ready(20_000);
      const watch = new OperationalWatch({ events: stream, caches: () => client.status() });
      const tick = async () => {
        watch.tick();
        await watch.idle();
      };
      await tick(); // connected and fresh: nothing to say
      await s.stop();
      await waitFor(
        async () => {
          await tick();
          return (await allEvents(stream.source)).events.some((e) => e.type === 'rtr.down');
        },
        { what: 'rtr.down' },
      );
      const again = await s.restart();
      try {
        await waitFor(
          async () => {
            await tick();
            return (await allEvents(stream.source)).events.some((e) => e.type === 'rtr.up');
          },
          { what: 'rtr.up' },
        );
      } finally {
        await again.destroy();
      }
      const events = (await allEvents(stream.source)).events;
      expect(events.map((e) => e.type)).to.deep.equal(['rtr.down', 'rtr.up']);
      expect((events[0] as Extract<FtEvent, { type: 'rtr.down' }>).data.cache).to.equal(`127.0.0.1:${s.port}`);
    } finally {
      client.stop();
      await s.destroy();
    }
    // Freshness, from the client's own view of its caches: data past its expiry, then fresh data.
    const t2 = tempDir();
    const s2 = await EventStream.openEmbedded({ stateDir: t2.dir });
    try {
      let fresh = true;
      const watch = new OperationalWatch({
        events: s2,
        caches: () => [
          {
            cache: '127.0.0.1:8282',
            state: 'connected',
            fresh,
            serial: 7,
            sessionId: 1,
            dataAgeSeconds: fresh ? 10 : 7300,
            vrps: { total: 1 },
            timers: { expire: 7200 },
          },
        ],
      });
      watch.tick();
      fresh = false;
      watch.tick();
      watch.tick();
      fresh = true;
      watch.tick();
      await watch.idle();
      const types = (await allEvents(s2.source)).events.map((e) => e.type);
      expect(types).to.deep.equal(['rpki.stale', 'rpki.fresh']);
    } finally {
      await s2.close();
      t2.cleanup();
    }
  });
});
