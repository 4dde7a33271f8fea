import { expect } from 'chai';
import { DetectionEngine, type DetectionEvent } from '../../core/detect/index.js';
import { DEFAULT_DETECTION } from '../../core/model/detection.js';
import { Aggregator } from '../../plugins/detector-l7/src/aggregate.js';
import type { HttpRecord } from '../../plugins/detector-l7/src/record.js';

// No lab needed: records go through the plugin's aggregator into the real engine on a simulated clock.
describe('l7 + detection engine: each site is baselined on its own', () => {
  it('the same request rate is normal for a busy site and a flood for a quiet one', () => {
    const T0 = Date.parse('2026-11-22T00:00:00Z');
    let now = T0;
    const engine = new DetectionEngine({
      clock: () => now,
      // A short baseline (60 s, recalculated every 5 s) keeps the test quick; factor 3 and p99 as by default.
      settings: {
        ...DEFAULT_DETECTION,
        baseline: { window: 60, percentile: 99, recalcEvery: 5, factor: 3 },
        floor: { pps: 20 },
        resolveAfterMs: 3000,
      },
    });
    const events: DetectionEvent[] = [];
    engine.on((e) => events.push(e));
    const agg = new Aggregator(
      {
        source: 'web',
        windowMs: 1000,
        graceMs: 0,
        topN: 10,
        maxSites: 100,
        sites: { 'busy.example': '203.0.113.10', 'quiet.example': '203.0.113.20' },
      },
      T0,
    );
    const hit = (site: string, client: string, at: number): void => {
      const r: HttpRecord = { time: at, client, method: 'GET', path: '/', status: 200, bytes: 100 };
      agg.add(r, site, now);
    };
    const second = (busyRps: number, quietRps: number, flooder?: string) => {
      for (let i = 0; i < busyRps; i++) hit('busy.example', `198.51.100.${i % 200}`, now + (i * 1000) / busyRps);
      for (let i = 0; i < quietRps; i++)
        hit('quiet.example', flooder && i >= 5 ? flooder : `192.0.2.${i % 5}`, now + (i * 1000) / quietRps);
      for (let t = 0; t < 10; t++) {
        now += 100;
        for (const s of agg.flush(now)) engine.ingest(s);
        engine.tick(now);
      }
    };
    // Two minutes of normal traffic: ~400/s on the busy site, ~5/s on the quiet one.
    for (let s = 0; s < 120; s++) second(380 + (s % 5) * 10, 4 + (s % 3));
    expect(events).to.deep.equal([]);
    const view = engine.view();
    expect(view.find((v) => v.target === 'site:busy.example')?.state).to.equal('normal');
    expect(view.find((v) => v.target === 'site:quiet.example')?.state).to.equal('normal');

    // 300 requests/s on each: a quarter below normal for the busy site, a flood for the quiet one.
    for (let s = 0; s < 5; s++) second(300, 300, '203.0.113.66');
    const opened = events.filter((e) => e.type === 'open').map((e) => e.incident);
    expect(opened.map((i) => i.target.toString())).to.deep.equal(['203.0.113.20/32']);
    expect(opened[0]).to.deep.include({ family: 'http_flood' });
    expect(opened[0]!.topSources[0]?.address.address).to.equal('203.0.113.66');

    for (let s = 0; s < 10; s++) second(400, 5);
    expect(events.at(-1)?.type).to.equal('resolve');
  });
});
