// Accounting defects found by checking the collector against real exporters' behaviour (issue 20 §3): each test
// here failed on the code before its fix. Inputs are built field by field from the RFC layouts (helpers/encode).
import { expect } from 'chai';
import { Collector, COLLECTOR_DEFAULTS, type CollectorOptions } from '../src/aggregate/collector.js';
import { decodeDatagram } from '../src/decode/index.js';
import {
  addr,
  flowSample,
  ipfix,
  ipfixOptionsTemplate,
  ipv4Packet,
  ethernet,
  netflow5,
  netflow9,
  rawHeaderRecord,
  set,
  sflow,
  templateRecord,
  u16,
  u32,
  u8,
  udpHeader,
  v9OptionsTemplate,
  type Field,
} from './helpers/encode.js';

function collector(o: Partial<CollectorOptions> = {}): Collector {
  return new Collector({ source: 'flow1', protect: [], exporterSamplingRates: new Map(), ...COLLECTOR_DEFAULTS, ...o });
}

const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};

// Field ids (RFC 3954 field types = IPFIX information element ids for these).
const IN_BYTES = 1,
  IN_PKTS = 2,
  PROTOCOL = 4,
  DST_PORT = 11,
  SRC_V4 = 8,
  DST_V4 = 12,
  INPUT_SNMP = 10,
  SAMPLING_INTERVAL = 34;

describe('flow accounting (issue 20 §3 regressions)', () => {
  describe('records without a source address', () => {
    // A destination-only template (some exporters leave the source out of aggregated or egress templates).
    const noSource: Field[] = [
      [DST_V4, 4],
      [DST_PORT, 2],
      [PROTOCOL, 1],
      [IN_PKTS, 4],
      [IN_BYTES, 4],
    ];
    const noSourceRecord = (dst: string, pkts: number) =>
      Buffer.concat([addr(dst), u16(53), u8(17), u32(pkts), u32(pkts * 100)]);

    for (const protocol of ['netflow9', 'ipfix'] as const) {
      it(`${protocol}: are counted as traffic to their destination, with the source unknown`, () => {
        const v9 = protocol === 'netflow9';
        const wrap = (sets: Buffer[]) => (v9 ? netflow9(sets) : ipfix(sets));
        const c = collector();
        c.ingest(wrap([set(v9 ? 0 : 2, templateRecord(300, noSource, !v9))]), '192.0.2.1', 0);
        c.ingest(
          wrap([set(300, Buffer.concat([noSourceRecord('203.0.113.10', 7), noSourceRecord('203.0.113.10', 3)]))]),
          '192.0.2.1',
          0,
        );
        const [s] = c.flush(1000, 1000);
        expect(s, 'a Sample for the destination').to.not.equal(undefined);
        expect(s).to.deep.include({ target: '203.0.113.10/32', pps: 10, bps: 1000 * 8, sourceCount: 0 });
        expect(s!.topSrcIps).to.deep.equal([]);
        expect(c.health()[0]).to.deep.include({ records: 2 });

        const d = decodeDatagram(wrap([set(300, noSourceRecord('203.0.113.10', 7))]), {
          exporter: '192.0.2.1',
          now: 0,
          cache: c.cache,
        });
        if (!d.ok) throw new Error(d.reason);
        expect(d.records).to.have.length(1);
        expect(d.records[0]!.srcAddr).to.equal(undefined);
        expect(d.records[0]!.dstAddr).to.equal('203.0.113.10');
      });
    }

    it('records with no destination address either are counted per exporter, not dropped silently', () => {
      const c = collector();
      const l2: Field[] = [
        [56, 6], // sourceMacAddress
        [IN_PKTS, 4],
      ];
      c.ingest(netflow9([set(0, templateRecord(301, l2, false))]), '192.0.2.1', 0);
      c.ingest(netflow9([set(301, Buffer.concat([Buffer.alloc(6, 1), u32(5)]))]), '192.0.2.1', 0);
      expect(c.flush(1000, 1000)).to.deep.equal([]);
      expect(c.health()[0]).to.deep.include({ records: 1, recordsWithoutDestination: 1 });
    });
  });

  describe('sampling rates announced per interface in options data', () => {
    const dataTemplate: Field[] = [
      [SRC_V4, 4],
      [DST_V4, 4],
      [INPUT_SNMP, 2],
      [IN_PKTS, 4],
      [IN_BYTES, 4],
    ];
    const record = (ifIndex: number) =>
      Buffer.concat([addr('198.51.100.1'), addr('203.0.113.10'), u16(ifIndex), u32(1), u32(100)]);

    it('netflow9: options with interface scope give each interface its own rate', () => {
      const c = collector();
      // v9 scope field type 2 is "Interface" (RFC 3954 §6.1), not the information element 2 (packets).
      const options = v9OptionsTemplate(257, [[2, 4]], [[SAMPLING_INTERVAL, 4]]);
      c.ingest(
        netflow9([
          set(1, options, { pad: 2 }),
          set(0, templateRecord(258, dataTemplate, false)),
          set(257, Buffer.concat([u32(1), u32(100), u32(2), u32(1000)])),
        ]),
        '192.0.2.1',
        0,
      );
      c.ingest(netflow9([set(258, Buffer.concat([record(1), record(2), record(1)]))]), '192.0.2.1', 0);
      const [s] = c.flush(1000, 1000);
      expect(s!.pps).to.equal(100 + 1000 + 100);
    });

    it('ipfix: options scoped by ingressInterface give each interface its own rate', () => {
      const c = collector();
      const options = ipfixOptionsTemplate(
        257,
        [[INPUT_SNMP, 4]],
        [
          [305, 4], // samplingPacketInterval
          [306, 4], // samplingPacketSpace
        ],
      );
      c.ingest(
        ipfix([
          set(3, options, { pad: 2 }),
          set(2, templateRecord(258, dataTemplate, true)),
          // interface 7: 1 of every 10; interface 8: 1 of every 50
          set(257, Buffer.concat([u32(7), u32(1), u32(9), u32(8), u32(1), u32(49)])),
        ]),
        '192.0.2.1',
        0,
      );
      c.ingest(ipfix([set(258, Buffer.concat([record(7), record(8), record(9)]))]), '192.0.2.1', 0);
      const [s] = c.flush(1000, 1000);
      // interface 9 has no announced rate: the configured default (1) applies.
      expect(s!.pps).to.equal(10 + 50 + 1);
      expect(c.health()[0]!.unknownSampling).to.equal(1);
    });
  });

  describe('sequence numbers', () => {
    const v5 = (seq: number) =>
      netflow5(
        [
          { src: '198.51.100.1', dst: '203.0.113.10', packets: 1, bytes: 100 },
          { src: '198.51.100.1', dst: '203.0.113.10', packets: 1, bytes: 100 },
        ],
        { sequence: seq },
      );

    it('netflow5: a gap at the stream’s first step is counted', () => {
      const c = collector();
      c.ingest(v5(100), '192.0.2.1', 0);
      c.ingest(v5(110), '192.0.2.1', 0); // flows 102..109 never arrived
      c.ingest(v5(112), '192.0.2.1', 0);
      expect(c.health()[0]).to.deep.include({ sequenceLost: 8, restarts: 0 });
    });

    it('netflow9: a gap at the stream’s first step is counted', () => {
      const c = collector();
      const dg = (seq: number) => netflow9([set(300, Buffer.alloc(8))], { sequence: seq });
      for (const seq of [40, 44, 45]) c.ingest(dg(seq), '192.0.2.1', 0);
      expect(c.health()[0]).to.deep.include({ sequenceLost: 3, restarts: 0 });
    });

    it('sflow: a gap at the stream’s first step is counted', () => {
      const c = collector();
      const frame = ethernet(ipv4Packet('198.51.100.1', '203.0.113.10', 17, udpHeader(53, 999, 100)));
      const dg = (seq: number) => sflow([flowSample([rawHeaderRecord(frame)], { rate: 10 })], { sequence: seq });
      for (const seq of [7, 10, 11]) c.ingest(dg(seq), '192.0.2.1', 0);
      expect(c.health()[0]).to.deep.include({ sequenceLost: 2, restarts: 0 });
    });

    const tpl: Field[] = [
      [SRC_V4, 4],
      [DST_V4, 4],
      [IN_PKTS, 4],
      [IN_BYTES, 4],
    ];
    const data = (n: number) =>
      set(
        256,
        Buffer.concat(
          Array.from({ length: n }, () => [addr('198.51.100.1'), addr('203.0.113.10'), u32(1), u32(40)]).flat(),
        ),
      );

    it('ipfix: an exporter counting the current message (not RFC 7011) reports no loss when record counts vary', () => {
      // The first steps carry equal record counts, so "records before this message" and "records including this
      // message" both fit; the rule must not be decided by them.
      const counts = [3, 3, 3, 5, 2, 7, 1, 4];
      const c = collector();
      let seq = 0;
      counts.forEach((n, i) => {
        seq += n;
        // The template travels with the first data, as softflowd sends it.
        c.ingest(
          ipfix([...(i === 0 ? [set(2, templateRecord(256, tpl, true))] : []), data(n)], { sequence: seq }),
          '192.0.2.1',
          0,
        );
      });
      expect(c.health()[0]).to.deep.include({ sequenceLost: 0, restarts: 0, estimatedLoss: 0 });
    });

    it('ipfix: an RFC 7011 exporter still has its real loss counted, also with equal counts at first', () => {
      const counts = [3, 3, 3, 5, 2, 7, 1, 4];
      const c = collector();
      let seq = 0;
      counts.forEach((n, i) => {
        const sets = [...(i === 0 ? [set(2, templateRecord(256, tpl, true))] : []), data(n)];
        if (i !== 5) c.ingest(ipfix(sets, { sequence: seq }), '192.0.2.1', 0); // message 5 (7 records) lost
        seq += n;
      });
      expect(c.health()[0]).to.deep.include({ sequenceLost: 7, restarts: 0 });
    });
  });

  it('packetLength.mean weighs each record by its sampling rate (true mean of the traffic, not of the samples)', () => {
    const c = collector();
    // 10 small packets unsampled, and 10 large packets each standing for 100.
    c.ingest(
      netflow5([{ src: '198.51.100.1', dst: '203.0.113.10', packets: 10, bytes: 1000 }], { sampling: 1 }),
      '192.0.2.1',
      0,
    );
    c.ingest(
      netflow5([{ src: '198.51.100.2', dst: '203.0.113.10', packets: 10, bytes: 10_000 }], { sampling: 100 }),
      '192.0.2.2',
      0,
    );
    const [s] = c.flush(1000, 1000);
    expect(s!.packetLength!.mean).to.be.closeTo((1000 + 100 * 10_000) / (10 + 100 * 10), 1e-9);
    expect(s!.packetLength).to.deep.include({ min: 100, max: 1000 });
  });

  it("one exporter's template flood leaves another exporter's templates and records intact", () => {
    const c = collector();
    const tplFields: Field[] = [
      [SRC_V4, 4],
      [DST_V4, 4],
      [IN_PKTS, 4],
      [IN_BYTES, 4],
    ];
    c.ingest(netflow9([set(0, templateRecord(256, tplFields, false))]), '192.0.2.1', 0);
    // 1,000 messages of 10 templates each from 192.0.2.66: 10,000 distinct templates against the 8,192 cap.
    for (let m = 0; m < 1000; m++) {
      const records = Array.from({ length: 10 }, (_, k) => templateRecord(256 + m * 10 + k, tplFields, false));
      c.ingest(netflow9([set(0, Buffer.concat(records))], { sourceId: m }), '192.0.2.66', m);
    }
    expect(c.cache.size).to.be.at.most(8192);
    const row = (dst: string) => Buffer.concat([addr('198.51.100.1'), addr(dst), u32(3), u32(300)]);
    c.ingest(netflow9([set(256, Buffer.concat([row('203.0.113.10'), row('203.0.113.11')]))]), '192.0.2.1', 2000);
    const victim = c.health().find((h) => h.exporter === '192.0.2.1')!;
    expect(victim).to.deep.include({ templateMisses: 0, records: 2 });
    expect(
      c
        .flush(3000, 1000)
        .map((s) => [s.target, s.pps])
        .sort(),
    ).to.deep.equal([
      ['203.0.113.10/32', 3],
      ['203.0.113.11/32', 3],
    ]);
  });

  it('rejects records with impossible 64-bit counters, counting them with the reason; they open nothing', () => {
    const c = collector();
    const fields: Field[] = [
      [SRC_V4, 4],
      [DST_V4, 4],
      [IN_PKTS, 8],
      [IN_BYTES, 8],
    ];
    c.ingest(ipfix([set(2, templateRecord(256, fields, true))]), '192.0.2.1', 0);
    const row = (dst: string, packets: bigint, bytes: bigint) =>
      Buffer.concat([addr('198.51.100.1'), addr(dst), u64(packets), u64(bytes)]);
    c.ingest(
      ipfix([
        set(
          256,
          Buffer.concat([
            row('203.0.113.10', 2n ** 64n - 1n, 1n << 62n), // 1.8·10^19 packets
            row('203.0.113.10', 5n, 500n),
            row('203.0.113.11', 3n, 2n ** 63n), // 3 packets claiming 9.2·10^18 bytes
          ]),
        ),
      ]),
      '192.0.2.1',
      0,
    );
    const samples = c.flush(1000, 1000);
    expect(samples.map((s) => [s.target, s.pps, s.bps])).to.deep.equal([['203.0.113.10/32', 5, 4000]]);
    const [h] = c.health();
    expect(h).to.deep.include({ records: 3, rejectedRecords: 2 });
    expect(h!.lastRejected)
      .to.match(/203\.0\.113\.11/)
      .and.match(/bytes/);
  });
});
