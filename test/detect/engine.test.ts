import { expect } from 'chai';
import { Prefix } from '@ft/sdk';
import { DEFAULT_DETECTION } from '../../core/model/detection.js';
import { DetectionEngine, type DetectionEvent } from '../../core/detect/index.js';
import { first, Replay, sample } from './harness.js';

/** A target that learnt ~2000 pps / 16 Mbps: threshold 3x p99 = 6000 pps, 48 Mbps. */
function learnt(settings: ConstructorParameters<typeof Replay>[0] = {}): Replay {
  const r = new Replay({ floor: { pps: 1, bps: 1 }, resolveAfterMs: 3000, ...settings });
  r.steady(300, 2000);
  expect(r.view()!.threshold).to.deep.equal({ pps: 6000, bps: 48e6 });
  return r;
}

const flood = (pps: number) => () => ({ pps, bps: pps * 8000 });

describe('detection engine: incident lifecycle', () => {
  it('opens within the 1 s window, sub-second: a 4x flood is seen after ~250 ms, not at the next second', () => {
    const r = learnt();
    // Start mid-second so a whole-second evaluator would wait for the boundary.
    r.run(500, flood(2000));
    const events = r.run(2000, (t) => ({ pps: 2000 + 22_000, bps: 24_000 * 8000, t }));
    const open = first(events, 'open');
    expect(open, 'an incident opened').to.not.equal(undefined);
    const afterMs = open!.incident.startedAt - (r.now - 2000);
    // Window math: 2000 + 22000 x f > 6000 once f > 0.18 of the window, i.e. the 2nd tick (200 ms).
    expect(afterMs).to.equal(200);
    expect(open!.incident.target.toString()).to.equal('203.0.113.10/32');
    expect(open!.incident.state).to.equal('open');
  });

  it('a flood at 1.6x its threshold is detected within 1 s (no smoothing that needs seconds)', () => {
    const r = learnt();
    const events = r.run(3000, flood(1.6 * 6000));
    const open = first(events, 'open')!;
    expect(open.incident.startedAt - (r.now - 3000)).to.be.at.most(1000);
  });

  it('traffic just under the threshold never opens an incident', () => {
    const r = learnt();
    expect(r.run(20_000, flood(5900))).to.deep.equal([]);
    expect(r.view()!.state).to.equal('normal');
  });

  it('does not learn the attack: the baseline is frozen while the incident is open, and resumes after', () => {
    const r = learnt();
    const before = r.view()!.baseline.samples;
    r.run(30_000, flood(60_000));
    const during = r.view()!;
    expect(during.state).to.equal('attack');
    expect(during.baseline.frozen).to.equal(true);
    expect(during.baseline.samples).to.equal(before);
    expect(during.threshold.pps).to.equal(6000);
    r.run(10_000, flood(2000));
    const after = r.view()!;
    expect(after.state).to.equal('normal');
    expect(after.baseline.frozen).to.equal(false);
    expect(after.baseline.samples).to.be.greaterThan(before);
    expect(after.threshold.pps, 'the 30 s flood did not raise the threshold').to.equal(6000);
  });

  it('hysteresis: stays open between 0.8x and 1x the threshold; resolves only after resolveAfterMs below 0.8x', () => {
    const r = learnt();
    r.run(2000, flood(30_000));
    expect(
      r.run(10_000, flood(5500)).map((e) => e.type),
      '0.92x the threshold: still the same attack',
    ).to.not.include('resolve');
    // Short dips below the resolve level do not resolve either.
    expect(r.run(2000, flood(1000)).map((e) => e.type)).to.not.include('resolve');
    r.run(1000, flood(30_000));
    const tail = r.run(6000, flood(1000));
    const resolve = first(tail, 'resolve')!;
    expect(resolve, 'resolved').to.not.equal(undefined);
    const quietFrom = r.now - 6000 + 1000; // the 1 s window needs 1 s to fall below 0.8x after the flood stops
    const resolvedAt = resolve.incident.resolvedAt!;
    expect(resolvedAt - quietFrom).to.be.within(3000 - 1000, 3000 + 200);
    expect(resolve.incident.state).to.equal('resolved');
    expect(resolve.incident.peakPps).to.equal(30_000);
    expect(r.view()!.state).to.equal('normal');
  });

  it('one incident per attack: open once, updates while it grows, one resolve; peaks and severity follow the scale', () => {
    const r = learnt();
    r.run(3000, flood(15_000)); // 2.5x: medium
    r.run(3000, flood(70_000)); // 11.7x: critical
    r.run(6000, flood(0));
    const types = r.events.map((e) => e.type);
    expect(types.filter((t) => t === 'open')).to.have.length(1);
    expect(types.filter((t) => t === 'resolve')).to.have.length(1);
    expect(types.filter((t) => t === 'update').length).to.be.within(3, 16);
    expect(new Set(r.events.map((e) => e.incident.id)).size).to.equal(1);
    const severities = r.events.map((e) => e.incident.severity);
    expect(severities).to.include('medium');
    expect(severities.at(-1)).to.equal('critical');
    const last = r.events.at(-1)!.incident;
    expect(last.peakPps).to.equal(70_000);
    expect(last.peakBps).to.equal(70_000 * 8000);
  });

  it('merges sources by taking the higher reading, and keeps each source in the view', () => {
    const r = learnt();
    const both = r.run(2000, () => [
      { source: 'proc-a', sourceKind: 'proc', pps: 3000, bps: 24e6 },
      { source: 'edge-sflow', sourceKind: 'flow', pps: 9000, bps: 30e6 },
    ]);
    const open = first(both, 'open')!;
    expect(open, 'the flow reading alone crossed the threshold').to.not.equal(undefined);
    expect(open.incident.detectors).to.deep.equal(['edge-sflow', 'proc-a']);
    const v = r.view()!;
    expect(v.pps).to.equal(9000);
    expect(v.sources.map((s) => [s.source, s.pps]).sort()).to.deep.equal([
      ['edge-sflow', 9000],
      ['proc-a', 3000],
    ]);
  });

  it('a source that stops reporting no longer counts', () => {
    const r = learnt();
    r.run(1000, () => [
      { source: 'proc-a', pps: 2000, bps: 16e6 },
      { source: 'edge-sflow', sourceKind: 'flow', pps: 5000, bps: 40e6 },
    ]);
    expect(r.view()!.pps).to.equal(5000);
    r.run(4000, () => ({ source: 'proc-a', pps: 2000, bps: 16e6 }));
    expect(r.view()!.pps).to.equal(2000);
  });

  it('per-prefix override: the most specific one wins', () => {
    const overrides = [
      { prefix: Prefix.parse('203.0.113.0/24'), static: { pps: 100_000 } },
      { prefix: Prefix.parse('203.0.113.8/29'), static: { pps: 4000 }, factor: 10 },
    ];
    const r = new Replay({ overrides });
    r.steady(5, 2000);
    expect(r.view()!.threshold.pps).to.equal(4000);
    expect(r.run(1000, flood(5000)).map((e) => e.type)).to.include('open');
    const other = new Replay({ overrides });
    other.steady(5, 2000, {}, '203.0.113.100');
    expect(other.view('203.0.113.100/32')!.threshold.pps).to.equal(100_000);
  });

  it('a target without an address is watched and alarmed, but opens no incident (it has nothing to mitigate)', () => {
    const r = new Replay({ static: { pps: 10_000 } });
    const events = r.run(2000, () => ({ pps: 50_000, bps: 4e8 }), 'if:eth0');
    expect(events).to.deep.equal([]);
    const v = r.view('if:eth0')!;
    expect(v.state).to.equal('attack');
    expect(v.alarm?.family).to.equal('unknown');
    expect(v.incident).to.equal(undefined);
  });

  it("a prefix from another copy of the sdk (a plugin's own) is accepted and re-made as ours", () => {
    let now = 1_000_000;
    const engine = new DetectionEngine({ settings: { ...DEFAULT_DETECTION, static: { pps: 100 } }, clock: () => now });
    const foreign = { bytes: Uint8Array.from([203, 0, 113, 77]), length: 32, family: 4, contains: () => false };
    now += 100;
    engine.ingest({
      ...sample({ pps: 5000, bps: 1e6 }, now, 100),
      target: '203.0.113.77/32',
      prefix: foreign as never,
    });
    const [open] = engine.tick(now);
    expect(open!.incident.target).to.be.instanceOf(Prefix);
    expect(open!.incident.target.toString()).to.equal('203.0.113.77/32');
  });

  it('drops malformed samples with a warning and keeps going', () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (_o: object | string, m?: string) => void warnings.push(String(m)) };
    let now = 1_000_000;
    const engine = new DetectionEngine({
      settings: { ...DEFAULT_DETECTION, static: { pps: 100 } },
      clock: () => now,
      logger,
    });
    engine.ingest({ ...sample({ pps: Number.NaN }, now, 100) });
    engine.ingest({ ...sample({ windowMs: 0 }, now, 100) });
    engine.ingest({ ...sample({}, now, 100), target: '' });
    engine.ingest(null as never);
    engine.ingest(sample({ pps: 5000, bps: 1e6 }, now + 60_000, 100));
    expect(warnings).to.have.length(5);
    expect(warnings[4]).to.match(/60 s in the future/);
    expect(warnings[0]).to.match(/proc-a.*203\.0\.113\.10\/32.*pps/);
    now += 100;
    engine.ingest(sample({ pps: 5000, bps: 1e6 }, now, 100));
    expect(engine.tick(now).map((e) => e.type)).to.deep.equal(['open']);
  });

  it('rejects settings that cannot work, naming the field', () => {
    expect(() => new DetectionEngine({ settings: { ...DEFAULT_DETECTION, tickMs: 0 } })).to.throw(/tickMs/);
    expect(() => new DetectionEngine({ settings: { ...DEFAULT_DETECTION, windowMs: 50 } })).to.throw(/windowMs/);
    expect(() => new DetectionEngine({ settings: { ...DEFAULT_DETECTION, resolveRatio: 1.5 } })).to.throw(
      /resolveRatio/,
    );
  });

  it('start() ticks on its own timer and hands events to on() listeners; a throwing listener does not stop it', async () => {
    const engine = new DetectionEngine({
      settings: { ...DEFAULT_DETECTION, static: { pps: 1000 }, tickMs: 20, windowMs: 200 },
    });
    const seen: DetectionEvent[] = [];
    engine.on(() => {
      throw new Error('bad listener');
    });
    const off = engine.on((e) => seen.push(e));
    engine.start();
    try {
      engine.ingest(sample({ pps: 50_000, bps: 4e8 }, Date.now(), 200));
      const deadline = Date.now() + 2000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    } finally {
      engine.stop();
      off();
    }
    expect(seen.map((e) => e.type)).to.include('open');
  });
});
