import { expect } from 'chai';
import { DistinctSketch, hash32, mix32, Prefix } from '@ft/sdk';
import { Collector, COLLECTOR_DEFAULTS, type CollectorOptions } from '../src/aggregate/collector.js';
import { TopCounter } from '../src/aggregate/top.js';
import { largest, mergePartials, toSamples, WindowAggregator } from '../src/aggregate/window.js';
import fc from 'fast-check';
import type { FlowRecord } from '../src/decode/index.js';
import {
  addr,
  ifCountersSample,
  ipfix,
  netflow5,
  netflow9,
  set,
  sflow,
  templateRecord,
  u32,
} from './helpers/encode.js';

function rec(o: Partial<FlowRecord>): FlowRecord {
  return {
    family: 4,
    srcAddr: '198.51.100.1',
    dstAddr: '203.0.113.10',
    srcPort: 1000,
    dstPort: 80,
    protocol: 6,
    tcpFlags: 0,
    packets: 1,
    bytes: 100,
    inputIf: 0,
    outputIf: 0,
    ...o,
  };
}

function collector(o: Partial<CollectorOptions> = {}): Collector {
  return new Collector({ source: 'flow1', protect: [], exporterSamplingRates: new Map(), ...COLLECTOR_DEFAULTS, ...o });
}

describe('flow aggregation', () => {
  it("scales packets and bytes by each record's sampling rate into per-second rates over the window", () => {
    const agg = new WindowAggregator({ protect: [], maxTargets: 100, topN: 5 });
    agg.add(rec({ packets: 2, bytes: 3000, protocol: 17, srcPort: 53, dstPort: 4444 }), 1000);
    agg.add(rec({ packets: 1, bytes: 60, protocol: 6, tcpFlags: 0x02 }), 1000);
    const [s] = toSamples(agg.flush(), { source: 'flow1', at: 2000, windowMs: 2000, topN: 5 });
    expect(s).to.deep.include({
      target: '203.0.113.10/32',
      sourceKind: 'flow',
      direction: 'in',
      pps: 1500,
      bps: (3060 * 1000 * 8) / 2,
      windowMs: 2000,
      at: 2000,
    });
    expect(s!.protocols).to.deep.equal({ tcp: 500, udp: 1000, icmp: 0, other: 0 });
    expect(s!.topSrcPorts![0]).to.deep.equal({ key: 53, count: 1000 });
    expect(s!.prefix!.toString()).to.equal('203.0.113.10/32');
    expect(s!.packetLength).to.deep.equal({ min: 60, max: 1500, mean: 3060 / 3 });
  });

  it('counts only destinations inside protected space, and adds one Sample per protected prefix', () => {
    const agg = new WindowAggregator({
      protect: [Prefix.parse('203.0.113.0/24'), Prefix.parse('2001:db8:100::/48')],
      maxTargets: 100,
      topN: 5,
    });
    agg.add(rec({ dstAddr: '203.0.113.10', packets: 5 }), 1);
    agg.add(rec({ dstAddr: '203.0.113.11', packets: 7 }), 1);
    agg.add(rec({ dstAddr: '2001:db8:100::1', family: 6, packets: 11 }), 1);
    agg.add(rec({ dstAddr: '192.0.2.50', packets: 1000 }), 1);
    const samples = toSamples(agg.flush(), { source: 'f', at: 1000, windowMs: 1000, topN: 5 });
    const byTarget = Object.fromEntries(samples.map((s) => [s.target, s.pps]));
    expect(byTarget).to.deep.equal({
      '203.0.113.10/32': 5,
      '203.0.113.11/32': 7,
      '203.0.113.0/24': 12,
      '2001:db8:100::1/128': 11,
      '2001:db8:100::/48': 11,
    });
    expect(agg.outsideRecords).to.equal(1);
  });

  it("attributes NetFlow's OR-ed TCP flags sensibly: a SYN-only flow is all SYNs, an established one has one", () => {
    const agg = new WindowAggregator({ protect: [], maxTargets: 100, topN: 5 });
    agg.add(rec({ packets: 100, tcpFlags: 0x02 }), 1); // SYN flood: no ACK ever
    agg.add(rec({ packets: 50, tcpFlags: 0x1b }), 1); // FIN SYN PSH ACK: a normal connection
    const [s] = toSamples(agg.flush(), { source: 'f', at: 1000, windowMs: 1000, topN: 5 });
    expect(s!.tcpFlags).to.deep.equal({ syn: 101, fin: 1, psh: 50, ack: 50 });
  });

  it('keeps totals exact and top-list estimates close when a flood makes it sample its top tables', () => {
    const agg = new WindowAggregator({ protect: [], maxTargets: 100, topN: 3 });
    // 50,000 records: 70 % from source port 123 (NTP amplification), the rest spread over 1,000 ports.
    for (let i = 0; i < 50_000; i++) {
      agg.add(
        rec({
          protocol: 17,
          srcPort: i % 10 < 7 ? 123 : 2000 + (i % 1000),
          srcAddr: `198.51.100.${i % 200}`,
          packets: 1,
          bytes: 468,
        }),
        1,
      );
    }
    const [s] = toSamples(agg.flush(), { source: 'f', at: 1000, windowMs: 1000, topN: 3 });
    expect(s!.pps).to.equal(50_000);
    expect(s!.topSrcPorts![0]!.key).to.equal(123);
    expect(s!.topSrcPorts![0]!.count).to.be.closeTo(35_000, 35_000 * 0.05);
    expect(s!.sourceCount).to.be.closeTo(200, 200 * 0.07);
  });

  describe('carpet bombing: fixed memory, exact prefixes, heavy hosts found', () => {
    it('keeps full state for at most maxTargets hosts and a fixed table of light counters, whatever the number of destinations', () => {
      const agg = new WindowAggregator({ protect: [Prefix.parse('10.0.0.0/8')], maxTargets: 64, topN: 5 });
      const { lightSlots } = agg.trackedHosts;
      for (let window = 0; window < 3; window++) {
        // 200,000 distinct destinations, one packet each: a sweep of a /8.
        for (let i = 0; i < 200_000; i++)
          agg.add(rec({ dstAddr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, packets: 1, bytes: 60 }), 1);
        const during = agg.trackedHosts;
        expect(during.full).to.equal(64);
        expect(during.lightSlots).to.equal(lightSlots);
        expect(during.light).to.be.at.most(lightSlots);
        const samples = toSamples(agg.flush(), { source: 'f', at: 1000, windowMs: 1000, topN: 5 });
        // No host has an average share of a sweep: only the prefix gets a Sample, with every packet.
        expect(samples.map((x) => [x.target, x.pps, x.bps])).to.deep.equal([['10.0.0.0/8', 200_000, 200_000 * 480]]);
      }
      expect(agg.overflowRecords).to.equal(3 * (200_000 - 64));
    });

    it('a heavy host inside a sweep gets full state and its own Sample; its prefix counts it once', () => {
      const agg = new WindowAggregator({ protect: [Prefix.parse('203.0.113.0/24')], maxTargets: 8, topN: 5 });
      let heavy = 0;
      for (let i = 0; i < 5000; i++) {
        // 4 of every 5 records sweep the /24 (one packet each); every fifth is 203.0.113.200 (10 packets, UDP 53),
        // from after the pool of 8 is full.
        if (i >= 100 && i % 5 === 4) {
          agg.add(rec({ dstAddr: '203.0.113.200', packets: 10, bytes: 5000, protocol: 17, srcPort: 53 }), 1);
          heavy += 10;
        } else agg.add(rec({ dstAddr: `203.0.113.${i % 199}`, packets: 1, bytes: 60 }), 1);
      }
      const samples = toSamples(agg.flush(), { source: 'f', at: 1000, windowMs: 1000, topN: 5 });
      const host = samples.find((x) => x.target === '203.0.113.200/32');
      expect(host, 'the heavy host has a Sample').to.not.equal(undefined);
      // Counted by a light counter until it was promoted, then in full: nothing lost, nothing twice.
      expect(host!.pps).to.equal(heavy);
      expect(host!.topSrcPorts![0]!.key).to.equal(53);
      expect(agg.promotions).to.be.at.least(1);
      const prefix = samples.find((x) => x.target === '203.0.113.0/24')!;
      expect(prefix.pps).to.equal(heavy + (5000 - heavy / 10));
      expect(prefix.protocols!.udp).to.equal(heavy);
    });

    it('prefix totals and source counts are exact whatever maxTargets is (property, against an unbounded aggregator)', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              host: fc.integer({ min: 0, max: 300 }),
              src: fc.integer({ min: 0, max: 500 }),
              packets: fc.integer({ min: 0, max: 50 }),
              protocol: fc.constantFrom(6, 17, 1),
              flags: fc.integer({ min: 0, max: 255 }),
              rate: fc.constantFrom(1, 10),
            }),
            { maxLength: 3000 },
          ),
          fc.integer({ min: 1, max: 40 }),
          (records, maxTargets) => {
            const protect = [Prefix.parse('203.0.113.0/24'), Prefix.parse('203.0.112.0/23')];
            const bounded = new WindowAggregator({ protect, maxTargets, topN: 5 });
            const reference = new WindowAggregator({ protect, maxTargets: 1000, topN: 5 });
            for (const r of records) {
              const one = rec({
                dstAddr: `203.0.${112 + (r.host & 1)}.${r.host >> 1}`,
                srcAddr: `198.51.${100 + (r.src >> 8)}.${r.src & 255}`,
                packets: r.packets,
                bytes: r.packets * 100,
                protocol: r.protocol,
                tcpFlags: r.protocol === 6 ? r.flags : 0,
              });
              bounded.add(one, r.rate);
              reference.add(one, r.rate);
            }
            const view = (a: WindowAggregator) =>
              toSamples(a.flush(), { source: 'f', at: 1000, windowMs: 1000, topN: 5 })
                .filter((x) => !x.prefix!.isHost)
                .map((x) => [x.target, x.pps, x.bps, x.protocols, x.tcpFlags, x.sourceCount])
                .sort();
            expect(view(bounded)).to.deep.equal(view(reference));
          },
        ),
        { numRuns: 100 },
      );
    });
  });

  it('merges partial windows from several workers into the same Samples as one aggregator', () => {
    const records = Array.from({ length: 400 }, (_, i) =>
      rec({
        srcAddr: `198.51.100.${i % 200}`,
        dstPort: i % 3,
        packets: 1 + (i % 5),
        bytes: 100 * (1 + (i % 5)),
        ttl: 50 + (i % 2),
      }),
    );
    const one = new WindowAggregator({ protect: [], maxTargets: 100, topN: 3 });
    const a = new WindowAggregator({ protect: [], maxTargets: 100, topN: 3 });
    const b = new WindowAggregator({ protect: [], maxTargets: 100, topN: 3 });
    records.forEach((r, i) => {
      one.add(r, 10);
      (i % 2 ? a : b).add(r, 10);
    });
    const ctx = { source: 'f', at: 1000, windowMs: 1000, topN: 3 };
    const single = toSamples(one.flush(), ctx)[0]!;
    const merged = toSamples(mergePartials([a.flush(), b.flush()]), ctx)[0]!;
    expect(merged.pps).to.equal(single.pps);
    expect(merged.topDstPorts).to.deep.equal(single.topDstPorts);
    expect(merged.sourceCount).to.equal(single.sourceCount);
    expect(merged.ttl).to.deep.equal(single.ttl);
  });

  it('picks the same top entries as a full sort, ties broken by key', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(50), fc.nat(20))), fc.integer({ min: 1, max: 12 }), (pairs, n) => {
        const entries = [...new Map(pairs).entries()] as [number, number][];
        const sorted = [...entries].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, n);
        expect(largest(entries, n)).to.deep.equal(sorted);
      }),
      { numRuns: 300 },
    );
  });

  it('counts distinct sources exactly as a sketch fed every record would, through top-table sampling and pruning', () => {
    // The aggregator hashes a source into the sketch only when its top table gains it (repeats change nothing in
    // a sketch); the count must be the one a sketch fed every record gives, sampled and pruned tables included.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer(),
        (distinct, records, seed) => {
          const agg = new WindowAggregator({ protect: [], maxTargets: 10, topN: 3 });
          const everyRecord = new DistinctSketch();
          let x = seed | 1;
          for (let i = 0; i < records; i++) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            const n = (x >>> 0) % distinct;
            if (n % 7 === 0) {
              const src = `2001:db8::${n.toString(16)}`;
              agg.add(rec({ srcAddr: src, family: 6, packets: 1 + (n % 3) }), 1);
              everyRecord.addHash(hash32(src));
            } else {
              const third = 100 + (n >> 8);
              agg.add(rec({ srcAddr: `198.51.${third}.${n & 255}`, packets: 1 + (n % 3) }), 1);
              everyRecord.addHash(mix32(((198 << 24) | (51 << 16) | (third << 8) | (n & 255)) >>> 0));
            }
          }
          const [s] = toSamples(agg.flush(), { source: 'f', at: 1000, windowMs: 1000, topN: 3 });
          expect(s!.sourceCount).to.equal(everyRecord.estimate());
        },
      ),
      { numRuns: 25 },
    );
  });

  it('keeps heavy hitters in the top list while a flood of one-off keys passes through', () => {
    const top = new TopCounter<string>(16);
    for (let i = 0; i < 100_000; i++) {
      top.add(`198.51.100.${i % 3}`, 5);
      top.add(`random-${i}`, 1);
    }
    expect(
      top
        .top(3)
        .map((e) => e.key)
        .sort(),
    ).to.deep.equal(['198.51.100.0', '198.51.100.1', '198.51.100.2']);
    expect(top.entries().length).to.be.at.most(16 * 8);
  });

  describe('collector', () => {
    it('applies the per-exporter rate, then the default, to records whose exporter states none', () => {
      const c = collector({ defaultSamplingRate: 100, exporterSamplingRates: new Map([['192.0.2.2', 2000]]) });
      const v5 = netflow5([{ src: '198.51.100.1', dst: '203.0.113.10', packets: 1, bytes: 100 }]);
      c.ingest(v5, '192.0.2.1', 0);
      c.ingest(v5, '192.0.2.2', 0);
      c.ingest(
        netflow5([{ src: '198.51.100.1', dst: '203.0.113.10', packets: 1, bytes: 100 }], { sampling: 10 }),
        '192.0.2.3',
        0,
      );
      expect(c.flush(1000, 1000)[0]!.pps).to.equal(100 + 2000 + 10);
      const health = c.health();
      expect(health.map((h) => [h.exporter, h.unknownSampling, h.lastSamplingRate])).to.deep.equal([
        ['192.0.2.1', 1, undefined],
        ['192.0.2.2', 1, undefined],
        ['192.0.2.3', 0, 10],
      ]);
    });

    it('estimates exporter loss from sequence gaps, and does not count a restart as loss', () => {
      const c = collector();
      const dg = (seq: number) =>
        netflow5(
          [
            { src: '198.51.100.1', dst: '203.0.113.10', packets: 1, bytes: 100 },
            { src: '198.51.100.1', dst: '203.0.113.10', packets: 1, bytes: 100 },
          ],
          { sequence: seq },
        );
      for (const seq of [0, 2, 4, 10, 12]) c.ingest(dg(seq), '192.0.2.1', 0); // flows 6..9 missing: 2 datagrams
      c.ingest(dg(5), '192.0.2.1', 0); // restart from a low number
      c.ingest(dg(7), '192.0.2.1', 0);
      const [h] = c.health();
      expect(h).to.deep.include({ sequenceLost: 4, sequenceUnit: 'flows', restarts: 1 });
      expect(h!.estimatedLoss).to.be.closeTo(4 / (4 + 14), 1e-9);
    });

    it('counts template misses and decode errors per exporter with the reason', () => {
      const c = collector();
      c.ingest(netflow9([set(300, Buffer.alloc(12))]), '192.0.2.9', 0);
      c.ingest(Buffer.from([0, 10, 0, 99]), '192.0.2.9', 0);
      const [h] = c.health();
      expect(h).to.deep.include({ templateMisses: 1, decodeErrors: 1, datagrams: 2 });
      expect(h!.lastError).to.match(/^ipfix at byte 0: IPFIX header needs 16 bytes/);
    });

    it('keeps sFlow interface counters per agent as ground truth, not as traffic', () => {
      const c = collector();
      const dg = sflow([ifCountersSample(3, 10_000, 50)]);
      c.ingest(dg, '192.0.2.5', 123);
      expect(c.flush(1000)).to.deep.equal([]);
      expect(c.health()[0]!.interfaces.map((i) => [i.ifIndex, i.at])).to.deep.equal([[3, 123]]);
    });

    it('keys IPFIX templates by observation domain as well', () => {
      const c = collector();
      const tpl = templateRecord(
        256,
        [
          [8, 4],
          [12, 4],
          [2, 4],
          [1, 4],
        ],
        true,
      );
      c.ingest(ipfix([set(2, tpl)], { domain: 1 }), '192.0.2.1', 0);
      const data = set(256, Buffer.concat([addr('198.51.100.1'), addr('203.0.113.10'), u32(1), u32(40)]));
      c.ingest(ipfix([data], { domain: 1 }), '192.0.2.1', 0);
      c.ingest(ipfix([data], { domain: 2 }), '192.0.2.1', 0);
      expect(c.flush(1000)[0]!.pps).to.equal(1);
      expect(c.health()[0]!.templateMisses).to.equal(1);
    });
  });
});
