import { expect } from 'chai';
import fc from 'fast-check';
import {
  decodeDatagram,
  TemplateCache,
  type DecodeResult,
  type DecodedDatagram,
  type DecodeContext,
} from '../src/decode/index.js';
import { templatedPaths } from '../src/decode/templated.js';
import {
  addr,
  ethernet,
  flowSample,
  ifCountersSample,
  ipfix,
  ipfixOptionsTemplate,
  ipv4Packet,
  ipv6Packet,
  netflow5,
  netflow9,
  rawHeaderRecord,
  record,
  set,
  sflow,
  tcpHeader,
  templateRecord,
  u16,
  u32,
  u8,
  udpHeader,
  v9OptionsTemplate,
  varlen,
  type Field,
} from './helpers/encode.js';

function ok(r: DecodeResult): DecodedDatagram {
  if (!r.ok) throw new Error(`expected a decoded datagram, got error at ${r.offset}: ${r.reason}`);
  return r;
}

function ctx(cache = new TemplateCache(), exporter = '192.0.2.1', now = 1_000_000): DecodeContext {
  return { exporter, now, cache };
}

// v9/IPFIX field ids used below
const IN_BYTES = 1,
  IN_PKTS = 2,
  PROTOCOL = 4,
  TCP_FLAGS = 6,
  SRC_PORT = 7,
  SRC_V4 = 8,
  DST_PORT = 11,
  DST_V4 = 12,
  SRC_V6 = 27,
  DST_V6 = 28;
const V4_TEMPLATE: Field[] = [
  [SRC_V4, 4],
  [DST_V4, 4],
  [SRC_PORT, 2],
  [DST_PORT, 2],
  [PROTOCOL, 1],
  [TCP_FLAGS, 1],
  [IN_PKTS, 4],
  [IN_BYTES, 4],
];

function v4Data(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  proto: number,
  flags: number,
  pkts: number,
  bytes: number,
): Buffer {
  return Buffer.concat([addr(src), addr(dst), u16(sport), u16(dport), u8(proto), u8(flags), u32(pkts), u32(bytes)]);
}

describe('flow decoders', () => {
  describe('auto-detection', () => {
    it('names what it could not recognise instead of guessing', () => {
      const r = decodeDatagram(Buffer.from('GET / HTTP/1.1'), ctx());
      expect(r).to.include({ ok: false, offset: 0 });
      expect((r as { reason: string }).reason).to.match(/not sFlow v5, NetFlow v5\/v9 or IPFIX/);
    });

    it('refuses a format the listener was not opened for', () => {
      const r = decodeDatagram(netflow5([]), { ...ctx(), protocol: 'sflow' });
      expect(r).to.deep.include({ ok: false, protocol: 'netflow5' });
    });

    it('accepts NetFlow v5 and v9 on a "netflow" listener', () => {
      expect(decodeDatagram(netflow5([]), { ...ctx(), protocol: 'netflow' }).ok).to.equal(true);
      expect(decodeDatagram(netflow9([]), { ...ctx(), protocol: 'netflow' }).ok).to.equal(true);
    });
  });

  describe('NetFlow v5', () => {
    it('decodes records and the sampling interval from the header', () => {
      const d = ok(
        decodeDatagram(
          netflow5(
            [
              {
                src: '198.51.100.1',
                dst: '203.0.113.10',
                packets: 10,
                bytes: 4000,
                srcPort: 53,
                dstPort: 4444,
                proto: 17,
              },
            ],
            { sampling: 0x4000 | 512, sequence: 77 },
          ),
          ctx(),
        ),
      );
      expect(d.records).to.have.length(1);
      expect(d.records[0]).to.deep.include({
        srcAddr: '198.51.100.1',
        dstAddr: '203.0.113.10',
        packets: 10,
        bytes: 4000,
        srcPort: 53,
        dstPort: 4444,
        protocol: 17,
        samplingRate: 512,
      });
      expect(d.sequence).to.equal(77);
    });

    it('leaves the rate unknown when the header says 0 (the collector applies the configured one)', () => {
      const d = ok(
        decodeDatagram(netflow5([{ src: '198.51.100.1', dst: '203.0.113.10', packets: 1, bytes: 40 }]), ctx()),
      );
      expect(d.records[0]!.samplingRate).to.equal(undefined);
    });

    it('rejects a count above 30 and a datagram shorter than its count says, naming the offset', () => {
      expect(decodeDatagram(netflow5([], { count: 31 }), ctx())).to.deep.include({ ok: false, offset: 2 });
      const r = decodeDatagram(netflow5([], { count: 2 }), ctx());
      expect(r.ok).to.equal(false);
      expect((r as { reason: string }).reason).to.match(/too short for 2 records/);
    });
  });

  describe('NetFlow v9', () => {
    it('learns a template and decodes data in the same and in later datagrams', () => {
      const cache = new TemplateCache();
      const first = ok(
        decodeDatagram(
          netflow9([
            set(0, templateRecord(256, V4_TEMPLATE, false)),
            set(256, v4Data('198.51.100.1', '203.0.113.10', 1234, 80, 6, 0x12, 5, 500)),
          ]),
          ctx(cache),
        ),
      );
      expect(first.templatesLearned).to.equal(1);
      expect(first.records[0]).to.deep.include({
        srcAddr: '198.51.100.1',
        dstAddr: '203.0.113.10',
        srcPort: 1234,
        dstPort: 80,
        protocol: 6,
        tcpFlags: 0x12,
        packets: 5,
        bytes: 500,
      });
      const later = ok(
        decodeDatagram(
          netflow9([
            set(
              256,
              Buffer.concat([
                v4Data('198.51.100.2', '203.0.113.11', 1, 2, 17, 0, 1, 100),
                v4Data('198.51.100.3', '203.0.113.11', 1, 2, 17, 0, 2, 200),
              ]),
            ),
          ]),
          ctx(cache),
        ),
      );
      expect(later.records.map((r) => r.packets)).to.deep.equal([1, 2]);
    });

    it('keys templates by exporter and source id: two routers both using template 256 decode each their own way', () => {
      const cache = new TemplateCache();
      ok(decodeDatagram(netflow9([set(0, templateRecord(256, V4_TEMPLATE, false))]), ctx(cache, '192.0.2.1')));
      const other: Field[] = [
        [DST_V4, 4],
        [SRC_V4, 4],
        [IN_PKTS, 4],
        [IN_BYTES, 4],
      ];
      ok(
        decodeDatagram(netflow9([set(0, templateRecord(256, other, false))], { sourceId: 7 }), ctx(cache, '192.0.2.2')),
      );
      const a = ok(
        decodeDatagram(
          netflow9([set(256, v4Data('198.51.100.1', '203.0.113.10', 1, 2, 6, 0, 3, 300))]),
          ctx(cache, '192.0.2.1'),
        ),
      );
      const b = ok(
        decodeDatagram(
          netflow9([set(256, Buffer.concat([addr('203.0.113.20'), addr('198.51.100.9'), u32(4), u32(400)]))], {
            sourceId: 7,
          }),
          ctx(cache, '192.0.2.2'),
        ),
      );
      expect(a.records[0]).to.deep.include({ dstAddr: '203.0.113.10', packets: 3 });
      expect(b.records[0]).to.deep.include({ dstAddr: '203.0.113.20', srcAddr: '198.51.100.9', packets: 4 });
      // Same exporter, another source id: no template.
      const c = ok(
        decodeDatagram(
          netflow9([set(256, v4Data('198.51.100.1', '203.0.113.10', 1, 2, 6, 0, 3, 300))], { sourceId: 9 }),
          ctx(cache, '192.0.2.1'),
        ),
      );
      expect(c).to.deep.include({ templateMisses: 1, records: [] });
    });

    it('counts data before its template as a template miss', () => {
      const d = ok(decodeDatagram(netflow9([set(300, Buffer.alloc(24))]), ctx()));
      expect(d.templateMisses).to.equal(1);
      expect(d.records).to.deep.equal([]);
    });

    it('treats a remainder shorter than a record as padding (FlowSet lengths of 26, 29, 49)', () => {
      const cache = new TemplateCache();
      const tpl: Field[] = [
        [DST_V4, 4],
        [IN_PKTS, 4],
        [IN_BYTES, 4],
        [SRC_V4, 4],
        [PROTOCOL, 1],
      ]; // 17-byte records
      ok(decodeDatagram(netflow9([set(0, templateRecord(260, tpl, false))]), ctx(cache)));
      const rec = Buffer.concat([addr('203.0.113.10'), u32(1), u32(60), addr('198.51.100.1'), u8(17)]);
      for (const pad of [1, 4, 7]) {
        const d = ok(decodeDatagram(netflow9([set(260, Buffer.concat([rec, rec]), { pad })]), ctx(cache)));
        expect(d.records, `padding ${pad}`).to.have.length(2);
      }
    });

    it('takes the sampling rate from options data, per sampler id, and lets a per-record field override it', () => {
      const cache = new TemplateCache();
      const withSampler: Field[] = [...V4_TEMPLATE, [48, 1]];
      const withRate: Field[] = [...V4_TEMPLATE, [34, 4]];
      ok(
        decodeDatagram(
          netflow9([
            set(
              1,
              v9OptionsTemplate(
                257,
                [[1, 4]],
                [
                  [48, 1],
                  [34, 4],
                ],
              ),
              { pad: 2 },
            ),
            set(0, Buffer.concat([templateRecord(258, withSampler, false), templateRecord(259, withRate, false)])),
            set(257, Buffer.concat([u32(0), u8(1), u32(100), u32(0), u8(2), u32(2000)])),
          ]),
          ctx(cache),
        ),
      );
      const d = ok(
        decodeDatagram(
          netflow9([
            set(
              258,
              Buffer.concat([
                v4Data('198.51.100.1', '203.0.113.10', 1, 2, 17, 0, 1, 100),
                u8(1),
                v4Data('198.51.100.1', '203.0.113.10', 1, 2, 17, 0, 1, 100),
                u8(2),
                v4Data('198.51.100.1', '203.0.113.10', 1, 2, 17, 0, 1, 100),
                u8(9),
              ]),
            ),
            set(259, Buffer.concat([v4Data('198.51.100.1', '203.0.113.10', 1, 2, 17, 0, 1, 100), u32(64)])),
          ]),
          ctx(cache),
        ),
      );
      // Sampler 9 never announced: unknown (undefined), so the per-exporter default applies later.
      expect(d.records.map((r) => r.samplingRate)).to.deep.equal([100, 2000, undefined, 64]);
    });

    it('switches to a redefined template at once (exporter restart with a new layout)', () => {
      const cache = new TemplateCache();
      ok(decodeDatagram(netflow9([set(0, templateRecord(256, V4_TEMPLATE, false))]), ctx(cache)));
      ok(
        decodeDatagram(
          netflow9([
            set(
              0,
              templateRecord(
                256,
                [
                  [DST_V4, 4],
                  [SRC_V4, 4],
                  [IN_PKTS, 4],
                  [IN_BYTES, 4],
                ],
                false,
              ),
            ),
          ]),
          ctx(cache),
        ),
      );
      const d = ok(
        decodeDatagram(
          netflow9([set(256, Buffer.concat([addr('203.0.113.10'), addr('198.51.100.1'), u32(7), u32(700)]))]),
          ctx(cache),
        ),
      );
      expect(d.records[0]).to.deep.include({
        dstAddr: '203.0.113.10',
        srcAddr: '198.51.100.1',
        packets: 7,
        bytes: 700,
      });
    });

    it('forgets templates that were not refreshed within the expiry', () => {
      const cache = new TemplateCache({ expiryMs: 60_000 });
      ok(decodeDatagram(netflow9([set(0, templateRecord(256, V4_TEMPLATE, false))]), ctx(cache, '192.0.2.1', 0)));
      const fresh = ok(
        decodeDatagram(
          netflow9([set(256, v4Data('198.51.100.1', '203.0.113.10', 1, 2, 6, 0, 1, 40))]),
          ctx(cache, '192.0.2.1', 59_000),
        ),
      );
      const stale = ok(
        decodeDatagram(
          netflow9([set(256, v4Data('198.51.100.1', '203.0.113.10', 1, 2, 6, 0, 1, 40))]),
          ctx(cache, '192.0.2.1', 61_000),
        ),
      );
      expect([fresh.records.length, stale.templateMisses]).to.deep.equal([1, 1]);
    });

    it('rejects a zero-length FlowSet with its offset instead of looping forever, and learns nothing from that datagram', () => {
      const cache = new TemplateCache();
      const r = decodeDatagram(
        netflow9([set(0, templateRecord(256, V4_TEMPLATE, false)), set(256, Buffer.alloc(0), { lengthOverride: 0 })]),
        ctx(cache),
      );
      expect(r).to.deep.include({ ok: false, protocol: 'netflow9' });
      expect((r as { offset: number }).offset).to.equal(20 + 4 + 4 + V4_TEMPLATE.length * 4 + 2);
      expect(cache.size, 'nothing applied half-way').to.equal(0);
    });

    it('rejects a template whose records would be zero bytes long', () => {
      const r = decodeDatagram(netflow9([set(0, templateRecord(256, [[IN_PKTS, 0]], false))]), ctx());
      expect(r.ok).to.equal(false);
      expect((r as { reason: string }).reason).to.match(/zero bytes/);
    });

    it('decodes 8-byte and 3-byte counters by the length the template gives', () => {
      const cache = new TemplateCache();
      const tpl: Field[] = [
        [SRC_V4, 4],
        [DST_V4, 4],
        [IN_PKTS, 3],
        [IN_BYTES, 8],
      ];
      const body = Buffer.concat([addr('198.51.100.1'), addr('203.0.113.10'), Buffer.from([1, 0, 0]), u32(2), u32(5)]);
      const d = ok(decodeDatagram(netflow9([set(0, templateRecord(256, tpl, false)), set(256, body)]), ctx(cache)));
      expect(d.records[0]).to.deep.include({ packets: 65536, bytes: 2 * 2 ** 32 + 5 });
    });
  });

  describe('IPFIX', () => {
    const V6_TEMPLATE: Field[] = [
      [SRC_V6, 16],
      [DST_V6, 16],
      [SRC_PORT, 2],
      [DST_PORT, 2],
      [PROTOCOL, 1],
      [IN_PKTS, 8],
      [IN_BYTES, 8],
    ];
    const v6Data = (pkts: number, bytes: number) =>
      Buffer.concat([
        addr('2001:db8:200::1'),
        addr('2001:db8:100::10'),
        u16(53),
        u16(4444),
        u8(17),
        u32(0),
        u32(pkts),
        u32(0),
        u32(bytes),
      ]);

    it('decodes IPv6 flows with 64-bit counters', () => {
      const d = ok(
        decodeDatagram(
          ipfix([set(2, templateRecord(400, V6_TEMPLATE, true)), set(400, v6Data(3, 3000))], {
            domain: 5,
            sequence: 10,
          }),
          ctx(),
        ),
      );
      expect(d.records[0]).to.deep.include({
        family: 6,
        srcAddr: '2001:db8:200::1',
        dstAddr: '2001:db8:100::10',
        packets: 3,
        bytes: 3000,
        srcPort: 53,
      });
      expect(d).to.deep.include({ domain: 5, sequence: 10, sequenceAdvance: 1 });
    });

    it('skips enterprise elements by their length and reads variable-length fields in both forms', () => {
      const tpl: Field[] = [
        [SRC_V4, 4],
        [100, 6, 9],
        [DST_V4, 4],
        [82, 0xffff],
        [IN_PKTS, 4],
        [200, 0xffff, 29305],
        [IN_BYTES, 4],
      ];
      const body = Buffer.concat([
        addr('198.51.100.1'),
        Buffer.alloc(6, 0xee),
        addr('203.0.113.10'),
        varlen(Buffer.from('eth0')),
        u32(9),
        varlen(Buffer.alloc(300, 1)),
        u32(900),
      ]);
      const d = ok(decodeDatagram(ipfix([set(2, templateRecord(401, tpl, true)), set(401, body)]), ctx()));
      expect(d.records).to.have.length(1);
      expect(d.records[0]).to.deep.include({
        srcAddr: '198.51.100.1',
        dstAddr: '203.0.113.10',
        packets: 9,
        bytes: 900,
      });
    });

    it('withdraws one template (field count 0) and all templates (set id as template id)', () => {
      const cache = new TemplateCache();
      ok(
        decodeDatagram(
          ipfix([
            set(
              2,
              Buffer.concat([
                templateRecord(400, V6_TEMPLATE, true),
                templateRecord(401, V6_TEMPLATE, true),
                templateRecord(402, V6_TEMPLATE, true),
              ]),
            ),
          ]),
          ctx(cache),
        ),
      );
      const w = ok(decodeDatagram(ipfix([set(2, templateRecord(400, [], true))]), ctx(cache)));
      expect(w.templatesWithdrawn).to.equal(1);
      expect(ok(decodeDatagram(ipfix([set(400, v6Data(1, 1))]), ctx(cache))).templateMisses).to.equal(1);
      expect(ok(decodeDatagram(ipfix([set(401, v6Data(1, 1))]), ctx(cache))).records).to.have.length(1);
      ok(decodeDatagram(ipfix([set(2, templateRecord(2, [], true))]), ctx(cache)));
      expect(
        ok(decodeDatagram(ipfix([set(401, v6Data(1, 1)), set(402, v6Data(1, 1))]), ctx(cache))).templateMisses,
      ).to.equal(2);
    });

    it('takes the rate from options data: packet interval/space (305/306) and n-out-of-N (309/310)', () => {
      const cache = new TemplateCache();
      ok(
        decodeDatagram(
          ipfix([
            set(
              3,
              Buffer.concat([
                ipfixOptionsTemplate(
                  500,
                  [[302, 4]],
                  [
                    [305, 4],
                    [306, 4],
                  ],
                ),
                ipfixOptionsTemplate(
                  501,
                  [[302, 4]],
                  [
                    [309, 4],
                    [310, 4],
                  ],
                ),
              ]),
            ),
            set(2, templateRecord(502, [...V6_TEMPLATE, [302, 4]], true)),
            set(500, Buffer.concat([u32(1), u32(1), u32(99)])),
            set(501, Buffer.concat([u32(2), u32(1), u32(4096)])),
          ]),
          ctx(cache),
        ),
      );
      const d = ok(
        decodeDatagram(ipfix([set(502, Buffer.concat([v6Data(1, 100), u32(1), v6Data(1, 100), u32(2)]))]), ctx(cache)),
      );
      expect(d.records.map((r) => r.samplingRate)).to.deep.equal([100, 4096]);
    });

    it('treats zeros after the last template record as padding', () => {
      const d = ok(
        decodeDatagram(
          ipfix([set(2, templateRecord(400, V6_TEMPLATE, true), { pad: 4 }), set(400, v6Data(2, 20))]),
          ctx(),
        ),
      );
      expect(d.records.map((r) => r.packets)).to.deep.equal([2]);
    });

    it('rejects a message length beyond the datagram and an options template with no scope', () => {
      expect(decodeDatagram(ipfix([], { lengthOverride: 400 }), ctx())).to.deep.include({ ok: false, offset: 2 });
      const r = decodeDatagram(
        ipfix([set(3, Buffer.concat([u16(600), u16(2), u16(0), u16(305), u16(4), u16(306), u16(4)]))]),
        ctx(),
      );
      expect((r as { reason: string }).reason).to.match(/scope field count 0/);
    });
  });

  describe('sFlow v5', () => {
    const tcpSyn = ipv4Packet('198.51.100.7', '203.0.113.10', 6, tcpHeader(40000, 443, 0x02), { ttl: 57 });

    it('decodes a raw Ethernet header through two VLAN tags down to the TCP flags, scaled by the sample rate', () => {
      const d = ok(
        decodeDatagram(
          sflow([flowSample([rawHeaderRecord(ethernet(tcpSyn, { vlans: [100, 200] }))], { rate: 2048 })], {
            sequence: 42,
          }),
          ctx(),
        ),
      );
      expect(d.records[0]).to.deep.include({
        srcAddr: '198.51.100.7',
        dstAddr: '203.0.113.10',
        srcPort: 40000,
        dstPort: 443,
        protocol: 6,
        tcpFlags: 0x02,
        packets: 1,
        bytes: 40,
        samplingRate: 2048,
        ttl: 57,
      });
      expect(d).to.deep.include({ sequence: 42, agent: '192.0.2.1' });
    });

    it('follows an MPLS label stack to the IP packet under it', () => {
      const udp = ipv4Packet('198.51.100.8', '203.0.113.11', 17, udpHeader(123, 5555, 400));
      const d = ok(
        decodeDatagram(
          sflow([flowSample([rawHeaderRecord(ethernet(udp, { mpls: [16, 17, 18] }))], { expanded: true, rate: 10 })]),
          ctx(),
        ),
      );
      expect(d.records[0]).to.deep.include({
        dstAddr: '203.0.113.11',
        srcPort: 123,
        dstPort: 5555,
        protocol: 17,
        bytes: 428,
        samplingRate: 10,
      });
    });

    it('walks IPv6 extension headers to the transport header', () => {
      const hopByHop = Buffer.concat([Buffer.from([17, 0]), Buffer.alloc(6)]);
      const v6 = ipv6Packet(
        '2001:db8:200::5',
        '2001:db8:100::10',
        0,
        Buffer.concat([hopByHop, udpHeader(19, 7777, 100)]),
        { hopLimit: 250 },
      );
      const d = ok(decodeDatagram(sflow([flowSample([rawHeaderRecord(ethernet(v6, { v6: true }))])]), ctx()));
      expect(d.records[0]).to.deep.include({
        family: 6,
        dstAddr: '2001:db8:100::10',
        protocol: 17,
        srcPort: 19,
        dstPort: 7777,
        ttl: 250,
        bytes: 40 + 8 + 108,
      });
    });

    it('reads no ports from a non-first IPv4 fragment', () => {
      const frag = ipv4Packet('198.51.100.9', '203.0.113.12', 17, udpHeader(53, 999, 100), { fragOffset: 185 });
      const d = ok(decodeDatagram(sflow([flowSample([rawHeaderRecord(ethernet(frag))])]), ctx()));
      expect(d.records[0]).to.deep.include({ srcPort: 0, dstPort: 0, protocol: 17 });
    });

    it('decodes a sampled IPv4 record (format 3) when no header was sampled', () => {
      const body = Buffer.concat([
        u32(1500),
        u32(17),
        addr('198.51.100.10'),
        addr('203.0.113.10'),
        u32(389),
        u32(1234),
        u32(0),
        u32(0),
      ]);
      const d = ok(decodeDatagram(sflow([flowSample([record(3, body)], { rate: 512 })]), ctx()));
      expect(d.records[0]).to.deep.include({
        srcAddr: '198.51.100.10',
        srcPort: 389,
        dstPort: 1234,
        bytes: 1500,
        samplingRate: 512,
      });
    });

    it('keeps interface counters as ground truth and skips unknown sample formats by length', () => {
      const vendor = Buffer.concat([u32((4413 << 12) | 7), u32(8), Buffer.alloc(8, 0xaa)]);
      const d = ok(
        decodeDatagram(
          sflow([vendor, ifCountersSample(3, 5 * 2 ** 32 + 7, 1234), flowSample([rawHeaderRecord(ethernet(tcpSyn))])]),
          ctx(),
        ),
      );
      expect(d.counters).to.have.length(1);
      expect(d.counters[0]).to.deep.include({
        ifIndex: 3,
        ifInOctets: 5 * 2 ** 32 + 7,
        ifInUcastPkts: 1234,
        ifSpeed: 10_000_000_000,
      });
      expect(d.records).to.have.length(1);
    });

    it('leaves a rate of 0 unknown, and puts ICMP type/code in the destination port', () => {
      const icmp = ipv4Packet('198.51.100.11', '203.0.113.10', 1, Buffer.from([3, 4, 0, 0, 0, 0, 0, 0]));
      const d = ok(decodeDatagram(sflow([flowSample([rawHeaderRecord(ethernet(icmp))], { rate: 0 })]), ctx()));
      expect(d.records[0]).to.deep.include({ protocol: 1, dstPort: 3 * 256 + 4, srcPort: 0 });
      expect(d.records[0]!.samplingRate).to.equal(undefined);
    });

    it('rejects a sample that claims more bytes than the datagram holds', () => {
      const good = sflow([flowSample([rawHeaderRecord(ethernet(tcpSyn))])]);
      const bad = Buffer.from(good);
      bad.writeUInt32BE(10_000, 28 + 4);
      const r = decodeDatagram(bad, ctx());
      expect(r).to.deep.include({ ok: false, protocol: 'sflow', offset: 32 });
    });

    it('decodes what a header cut short still shows (addresses without ports)', () => {
      const cut = ethernet(tcpSyn).subarray(0, 14 + 20 + 2);
      const d = ok(decodeDatagram(sflow([flowSample([rawHeaderRecord(cut, { frameLength: 64 })])]), ctx()));
      expect(d.records[0]).to.deep.include({ dstAddr: '203.0.113.10', srcPort: 0, dstPort: 0, bytes: 40 });
    });
  });
  describe('fixed-layout IPv4 templates', () => {
    // Element ids the decoder reads (addresses, counters, ports, ICMP, TTL, interfaces) and some it skips
    // (first/last switched, IP version, a VLAN), so templates with and without a fixed layout both come up.
    const READ = [1, 2, 4, 6, 7, 8, 10, 11, 12, 14, 32, 52, 53, 85, 86, 139, 176, 177, 178, 179, 192];
    const SKIPPED = [21, 22, 60, 58];
    const length = fc.constantFrom(1, 2, 3, 4, 4, 8, 16);
    // Each element at most once (aliases such as 53/192 for the TTL still collide, and take the general path),
    // IPv4 addresses mostly 4 bytes so the fixed path is taken often, in any order among the other fields.
    const template = fc
      .tuple(
        fc.shuffledSubarray(READ.filter((id) => id !== 8 && id !== 12)),
        fc.array(fc.constantFrom(...SKIPPED), { maxLength: 3 }),
        fc.constantFrom(4, 4, 4, 16),
        fc.array(length, { minLength: 30, maxLength: 30 }),
        fc.array(fc.nat(), { minLength: 30, maxLength: 30 }),
      )
      .map(([read, skipped, addressLength, lengths, order]) => {
        const fields: Field[] = [
          [8, addressLength],
          [12, 4],
          ...[...read, ...skipped].map((id, i): Field => [id, lengths[i]!]),
        ];
        return fields
          .map((f, i) => [f, order[i]!] as const)
          .sort((x, y) => x[1] - y[1])
          .map(([f]) => f);
      });
    const datagram = (ipfixFormat: boolean, fields: Field[], records: Buffer) => {
      const sets = [set(ipfixFormat ? 2 : 0, templateRecord(300, fields, ipfixFormat)), set(300, records)];
      return ipfixFormat ? ipfix(sets, { domain: 7 }) : netflow9(sets, { sourceId: 7 });
    };
    const decodeWith = (fixed: boolean, d: Buffer) => {
      templatedPaths.fixedLayouts = fixed;
      try {
        return decodeDatagram(d, ctx());
      } finally {
        templatedPaths.fixedLayouts = true;
      }
    };

    it('decodes every record exactly as the general field loop does (v9 and IPFIX, random templates and bytes)', () => {
      fc.assert(
        fc.property(
          fc.boolean(),
          template,
          fc.uint8Array({ minLength: 0, maxLength: 600, size: 'max' }),
          (ipfixFormat, fields, bytes) => {
            const d = datagram(ipfixFormat, fields, Buffer.from(bytes));
            expect(decodeWith(true, d)).to.deep.equal(decodeWith(false, d));
          },
        ),
        { numRuns: 3000 },
      );
    });

    it('takes the fixed path for a typical exporter template and the general one for IPv6 and variable-length fields', () => {
      const records = Buffer.concat([
        v4Data('198.51.100.7', '203.0.113.9', 40000, 53, 17, 0, 3, 300),
        v4Data('198.51.100.8', '203.0.113.9', 1, 0x0800, 1, 0, 1, 84),
      ]);
      const d = datagram(false, V4_TEMPLATE, records);
      const fast = ok(decodeWith(true, d));
      expect(fast.records.map((r) => [r.srcAddr, r.dstAddr, r.srcPort, r.dstPort, r.packets, r.bytes])).to.deep.equal([
        ['198.51.100.7', '203.0.113.9', 40000, 53, 3, 300],
        ['198.51.100.8', '203.0.113.9', 0, 0x0800, 1, 84], // ICMP: no source port; type 8 code 0 as the destination port
      ]);
      const cache = new TemplateCache();
      decodeDatagram(d, ctx(cache));
      expect(cache.get('192.0.2.1', TemplateCache.key('netflow9', 7, 300), 1_000_000)?.fixed).to.not.equal(undefined);
      decodeDatagram(
        netflow9(
          [
            set(
              0,
              templateRecord(
                301,
                [
                  [SRC_V6, 16],
                  [DST_V6, 16],
                  [IN_PKTS, 4],
                ],
                false,
              ),
            ),
          ],
          { sourceId: 7 },
        ),
        ctx(cache),
      );
      expect(cache.get('192.0.2.1', TemplateCache.key('netflow9', 7, 301), 1_000_000)?.fixed).to.equal(undefined);
      decodeDatagram(
        ipfix(
          [
            set(
              2,
              templateRecord(
                302,
                [
                  [SRC_V4, 4],
                  [DST_V4, 4],
                  [82, 0xffff],
                ],
                true,
              ),
            ),
          ],
          { domain: 7 },
        ),
        ctx(cache),
      );
      expect(cache.get('192.0.2.1', TemplateCache.key('ipfix', 7, 302), 1_000_000)?.fixed).to.equal(undefined);
    });
  });
});
