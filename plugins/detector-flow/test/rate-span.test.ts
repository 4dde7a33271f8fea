import { expect } from 'chai';
import { DistinctSketch, type Sample } from '@ft/sdk';
import { Collector, COLLECTOR_DEFAULTS } from '../src/aggregate/collector.js';
import { TrailingWindows } from '../src/aggregate/trailing.js';
import type { FlowRecord } from '../src/decode/index.js';
import { mergeToSamples } from '../src/detector.js';
// The detection engine's per-source sliding window (read only): what ft run makes of these Samples.
import { SourceWindow } from '../../../core/detect/reading.js';

const TARGET = '203.0.113.10/32';

function rec(packets: number, bytes: number): FlowRecord {
  return {
    family: 4,
    srcAddr: '198.51.100.1',
    dstAddr: '203.0.113.10',
    srcPort: 53,
    dstPort: 4444,
    protocol: 17,
    tcpFlags: 0,
    packets,
    bytes,
    inputIf: 0,
    outputIf: 0,
  };
}

/** A collector and the detector's window close (partials rated over the trailing span), on a virtual clock. */
function engine(windowMs: number): {
  collector: Collector;
  engine: { flush(at: number, windowMs: number): Promise<Sample[]> };
} {
  const collector = new Collector({
    source: 'flow1',
    protect: [],
    exporterSamplingRates: new Map(),
    ...COLLECTOR_DEFAULTS,
    windowMs,
  });
  const trailing = new TrailingWindows();
  return {
    collector,
    engine: {
      flush: async (at, ms) =>
        mergeToSamples([collector.flushPartials()], trailing, { source: 'flow1', at, windowMs: ms, topN: 10 }),
    },
  };
}

/**
 * Runs `seconds` of windows of `windowMs`; `recordsAt(ms)` says which records arrive in the window starting at ms.
 * Returns every Sample for the target, in order.
 */
async function run(windowMs: number, seconds: number, recordsAt: (startMs: number) => FlowRecord[]): Promise<Sample[]> {
  const { collector, engine: e } = engine(windowMs);
  const out: Sample[] = [];
  for (let start = 0; start < seconds * 1000; start += windowMs) {
    for (const r of recordsAt(start)) collector.aggregator.add(r, 1);
    out.push(...(await e.flush(start + windowMs, windowMs)).filter((s) => s.target === TARGET));
  }
  return out;
}

describe('flow rates over sub-second windows', () => {
  for (const windowMs of [100, 250, 1000]) {
    it(`a steady stream spread evenly over ${windowMs} ms windows reads count/seconds`, async () => {
      // 30 records of 2 packets × 500 bytes in every 100 ms: 600 pps, 600 × 500 × 8 = 2.4 Mbit/s.
      const perWindow = windowMs / 100;
      const samples = await run(windowMs, 3, () => Array.from({ length: 30 * perWindow }, () => rec(2, 1000)));
      const steady = samples.filter((s) => s.at >= 1000);
      expect(steady).to.have.length.above(0);
      for (const s of steady) {
        expect(s.pps).to.be.closeTo(600, 1e-9);
        expect(s.bps).to.be.closeTo(2_400_000, 1e-6);
        expect(s.windowMs).to.equal(1000);
      }
    });
  }

  it('an exporter reporting once a second does not read 10x high in 100 ms windows', async () => {
    // softflowd with 1 s timeouts: the second's 1,200 packets (of 100 bytes) arrive together, in one window.
    const burst = (start: number) => (start % 1000 === 0 ? Array.from({ length: 12 }, () => rec(100, 10_000)) : []);
    for (const windowMs of [100, 250]) {
      const samples = await run(windowMs, 4, burst);
      // Every window from the first burst on reports the target (also the quiet ones), at the true rate.
      expect(samples).to.have.length(4000 / windowMs);
      for (const s of samples.filter((x) => x.at >= 1000)) {
        expect(s.pps, `${windowMs} ms window ending ${s.at}`).to.be.closeTo(1200, 1e-9);
        expect(s.bps).to.be.closeTo(1200 * 100 * 8, 1e-6);
      }
    }
  });

  it('the detection engine reads the same steady rate from 100 ms windows as from 1 s windows', async () => {
    const burst = (start: number) => (start % 1000 === 0 ? Array.from({ length: 12 }, () => rec(100, 10_000)) : []);
    const readings: number[] = [];
    for (const windowMs of [100, 1000]) {
      const w = new SourceWindow('flow1', 'flow');
      for (const s of await run(windowMs, 5, burst)) w.push(s, 1000);
      readings.push(w.reading(1000)!.pps);
    }
    expect(readings[0]).to.be.closeTo(1200, 1e-9);
    expect(readings[1]).to.be.closeTo(1200, 1e-9);
  });

  it('keeps the fewest newest windows that span the minimum, and only one when windows are long enough', () => {
    const t = new TrailingWindows(1000);
    const p = (n: number) => [
      {
        target: TARGET,
        prefix: TARGET,
        packets: n,
        bytes: n * 100,
        protocols: [0, n, 0, 0] as [number, number, number, number],
        flags: [0, 0, 0, 0, 0, 0, 0, 0],
        srcIps4: { keys: new Uint32Array(0), counts: new Float64Array(0) },
        srcIps6: [],
        srcPorts: { keys: new Uint32Array(0), counts: new Float64Array(0) },
        dstPorts: { keys: new Uint32Array(0), counts: new Float64Array(0) },
        sources: new DistinctSketch().state(),
        lenMin: 100,
        lenMax: 100,
        lenPackets: n,
        lenBytes: n * 100,
        ttl: [],
      },
    ];
    expect(t.push(p(1), 400).spanMs).to.equal(400);
    expect(t.push(p(2), 400).spanMs).to.equal(800);
    const third = t.push(p(4), 400);
    expect(third.spanMs).to.equal(1200);
    expect(third.partials[0]!.packets).to.equal(7);
    const fourth = t.push(p(8), 400); // the first window drops out: 400 + 400 + 400 already reach 1000
    expect(fourth.spanMs).to.equal(1200);
    expect(fourth.partials[0]!.packets).to.equal(14);
    const long = new TrailingWindows(1000);
    long.push(p(1), 1000);
    expect(long.push(p(5), 2000)).to.deep.include({ spanMs: 2000 });
  });
});
