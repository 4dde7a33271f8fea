// The analysis as pure functions over crafted captures: every expected value comes from the packet specs.
import { expect } from 'chai';
import fc from 'fast-check';
import { Prefix } from '@ft/sdk';
import {
  analyzeCapture,
  dnsFirstQtype,
  hopCount,
  HopTable,
  initialTtl,
  IocMatcher,
  judgeSpoofing,
  matchSignatures,
  SPOOFING,
  type Packet,
} from '../src/index.js';
import { decodeIp } from '../src/format/packet.js';
import { ipPacket, pcapOf, rng, v4Number, type Spec } from './helpers/packets.js';

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
const VICTIM = '203.0.113.10';
const packet = (s: Spec): Packet => decodeIp(ipPacket(s), s.time) as Packet;
const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('pcap analysis', () => {
  describe('hop counts and the spoofing verdict', () => {
    it('takes the initial TTL as the smallest common default at or above what arrived', () => {
      expect([1, 32, 33, 64, 65, 128, 129, 255].map(initialTtl)).to.deep.equal([32, 32, 64, 64, 128, 128, 255, 255]);
      expect(hopCount(50)).to.equal(14);
      expect(hopCount(116)).to.equal(12);
    });

    it('calls sources spoofed whose hop count differs from what their /24 showed before the attack, and the matching ones real', () => {
      const table = new HopTable();
      // Before: two real clients of 198.51.100.0/24, 6 hops away (TTL 58 of 64).
      for (const src of ['198.51.100.1', '198.51.100.10'])
        for (let i = 0; i < 10; i++) table.learn(packet({ time: T0, src, dst: VICTIM, protocol: 'udp', ttl: 58 }));
      const attack = [
        ...many(200, (i) => ({
          time: T0 + i,
          src: `198.51.100.${77 + (i % 3)}`,
          dst: VICTIM,
          protocol: 'udp' as const,
          ttl: 40,
        })),
        ...many(100, (i) => ({ time: T0 + i, src: '198.51.100.10', dst: VICTIM, protocol: 'udp' as const, ttl: 58 })),
        // One hop further: a route change, still the same sender.
        ...many(30, (i) => ({ time: T0 + i, src: '198.51.100.1', dst: VICTIM, protocol: 'udp' as const, ttl: 57 })),
      ].map(packet);
      const v = judgeSpoofing(attack, table);
      const verdict = (ip: string) => v.sources.find((s) => s.ip === ip)?.verdict;
      expect(['198.51.100.77', '198.51.100.78', '198.51.100.79'].map(verdict)).to.deep.equal([
        'spoofed',
        'spoofed',
        'spoofed',
      ]);
      expect(verdict('198.51.100.10')).to.equal('real');
      expect(verdict('198.51.100.1')).to.equal('real');
      expect(v.verdict).to.equal('spoofed');
      expect(v.spoofedShare).to.be.closeTo(200 / 330, 0.001);
      expect(v.sources.find((s) => s.ip === '198.51.100.77')!.reason).to.match(
        /24 hops, but its 198\.51\.100\.0\/24 arrived 6 hops away/,
      );
    });

    it('calls an attack from the same hop counts as before not spoofed', () => {
      const table = new HopTable();
      for (let i = 0; i < 50; i++)
        table.learn(packet({ time: T0, src: `198.51.100.${i}`, dst: VICTIM, protocol: 'tcp', ttl: 116 }));
      const attack = many(300, (i) =>
        packet({ time: T0 + i, src: `198.51.100.${i % 50}`, dst: VICTIM, protocol: 'tcp', ttl: 116 }),
      );
      const v = judgeSpoofing(attack, table);
      expect(v.verdict).to.equal('not-spoofed');
      expect(v.realShare).to.equal(1);
    });

    it('without a table: one address at scattered hop counts, and impossible hop counts, are spoofed', () => {
      const attack = [
        ...many(10, (i) => ({ time: T0, src: '192.0.2.5', dst: VICTIM, protocol: 'udp' as const, ttl: 40 + i * 3 })),
        ...many(10, () => ({ time: T0, src: '192.0.2.6', dst: VICTIM, protocol: 'udp' as const, ttl: 150 })),
        ...many(10, () => ({ time: T0, src: '192.0.2.7', dst: VICTIM, protocol: 'udp' as const, ttl: 60 })),
      ].map(packet);
      const v = judgeSpoofing(attack, new HopTable());
      const byIp = new Map(v.sources.map((s) => [s.ip, s]));
      expect(byIp.get('192.0.2.5')!.reason).to.match(/several senders/);
      expect(byIp.get('192.0.2.6')!.reason).to.match(/105 hops: no real path/);
      expect(byIp.get('192.0.2.7')!.verdict).to.equal('unknown');
    });

    it('many sources in unrelated networks all at one hop count are a few senders forging addresses', () => {
      const r = rng(3);
      const spoofed = many(400, (i) => ({
        time: T0 + i,
        src: `${10 + Math.floor(r() * 200)}.${Math.floor(r() * 250)}.${Math.floor(r() * 250)}.${1 + (i % 250)}`,
        dst: VICTIM,
        protocol: 'tcp' as const,
        ttl: 51,
      }));
      const v = judgeSpoofing(spoofed.map(packet), new HopTable());
      expect(v.verdict).to.equal('spoofed');
      expect(v.evidence.join('\n')).to.match(/unrelated networks, 100% of their packets exactly 13 hops away/);
      // A real botnet: the same number of sources at hop counts spread like real paths.
      const real = spoofed.map((s, i) => ({ ...s, ttl: 64 - (3 + (i % 20)) }));
      expect(judgeSpoofing(real.map(packet), new HopTable()).verdict).to.equal('unknown');
    });

    it('groups hop counts per claimed /24 and, given an origin lookup, per claimed AS', () => {
      const attack = [
        ...many(10, (i) => ({ time: T0 + i, src: '198.51.100.1', dst: VICTIM, protocol: 'udp' as const, ttl: 58 })),
        ...many(5, (i) => ({ time: T0 + i, src: '198.51.100.2', dst: VICTIM, protocol: 'udp' as const, ttl: 50 })),
        ...many(4, (i) => ({ time: T0 + i, src: '192.0.2.7', dst: VICTIM, protocol: 'udp' as const, ttl: 120 })),
      ].map(packet);
      const asOf = (ip: string) => (ip.startsWith('198.51.100.') ? 64500 : undefined);
      const v = judgeSpoofing(attack, new HopTable(), asOf);
      expect(v.prefixes).to.deep.equal([
        {
          prefix: '198.51.100.0/24',
          sources: 2,
          packets: 15,
          hops: [
            { hops: 6, packets: 10 },
            { hops: 14, packets: 5 },
          ],
        },
        { prefix: '192.0.2.0/24', sources: 1, packets: 4, hops: [{ hops: 8, packets: 4 }] },
      ]);
      expect(v.origins).to.deep.equal([
        {
          asn: 64500,
          sources: 2,
          packets: 15,
          hops: [
            { hops: 6, packets: 10 },
            { hops: 14, packets: 5 },
          ],
        },
      ]);
      expect(judgeSpoofing(attack, new HopTable()).origins).to.equal(undefined);
    });

    it('gives no verdict on too few packets', () => {
      const attack = many(SPOOFING.minPackets - 1, (i) =>
        packet({ time: T0 + i, src: '192.0.2.9', dst: VICTIM, protocol: 'udp', ttl: 200 }),
      );
      const v = judgeSpoofing(attack, new HopTable());
      expect(v.verdict).to.equal('unknown');
      expect(v.evidence.join()).to.match(/too few/);
    });
  });

  describe('signatures', () => {
    const frameHeader = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0]);
    const memcached = Buffer.concat([frameHeader, Buffer.from('STAT pid 1234\r\nSTAT uptime 10\r\n')]);
    const monlist = Buffer.from([0x97, 0x00, 0x03, 0x2a, 0, 1, 0, 0x48]);
    const dnsAny = (response: boolean) => {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(0x1234, 0);
      h.writeUInt16BE(response ? 0x8180 : 0x0100, 2);
      h.writeUInt16BE(1, 4);
      return Buffer.concat([h, Buffer.from([7, ...Buffer.from('example'), 3, ...Buffer.from('org'), 0, 0, 255, 0, 1])]);
    };

    it('recognises Mirai SYNs, memcached and NTP monlist answers, DNS ANY reflection and queries', () => {
      const specs: Spec[] = [
        ...many(30, (i) => ({
          time: T0 + i,
          src: `198.51.100.${i}`,
          dst: VICTIM,
          protocol: 'tcp' as const,
          seq: v4Number(VICTIM),
        })),
        ...many(30, (i) => ({
          time: T0 + i,
          src: `198.51.100.${i}`,
          dst: VICTIM,
          protocol: 'udp' as const,
          srcPort: 11211,
          payload: memcached,
        })),
        ...many(30, (i) => ({
          time: T0 + i,
          src: `198.51.100.${i}`,
          dst: VICTIM,
          protocol: 'udp' as const,
          srcPort: 123,
          payload: monlist,
        })),
        ...many(30, (i) => ({
          time: T0 + i,
          src: `198.51.100.${i}`,
          dst: VICTIM,
          protocol: 'udp' as const,
          srcPort: 53,
          payload: dnsAny(true),
        })),
        ...many(30, (i) => ({
          time: T0 + i,
          src: `198.51.100.${i}`,
          dst: VICTIM,
          protocol: 'udp' as const,
          dstPort: 53,
          payload: dnsAny(false),
        })),
      ];
      const hits = matchSignatures(specs.map(packet));
      expect(hits.map((h) => [h.id, h.packets]).sort()).to.deep.equal(
        [
          ['dns-any-query', 30],
          ['dns-any-reflection', 30],
          ['memcached-reflection', 30],
          ['mirai-syn', 30],
          ['ntp-monlist', 30],
        ].sort(),
      );
      expect(dnsFirstQtype(dnsAny(false))).to.equal(255);
    });

    it('does not call ordinary traffic a signature: random SYN sequence numbers, a few stray answers', () => {
      const specs: Spec[] = [
        ...many(300, (i) => ({
          time: T0 + i,
          src: `198.51.100.${i % 200}`,
          dst: VICTIM,
          protocol: 'tcp' as const,
          seq: 1000 + i,
        })),
        ...many(5, (i) => ({
          time: T0 + i,
          src: '198.51.100.1',
          dst: VICTIM,
          protocol: 'tcp' as const,
          seq: v4Number(VICTIM),
        })),
        ...many(300, (i) => ({
          time: T0 + i,
          src: `198.51.100.${i % 200}`,
          dst: VICTIM,
          protocol: 'udp' as const,
          srcPort: 11211,
          payload: Buffer.from('hello'),
        })),
      ];
      expect(matchSignatures(specs.map(packet))).to.deep.equal([]);
    });

    it('a Mirai flood in a capture is botnet_detected; the breakdowns count the packets', () => {
      const cap = pcapOf([
        ...many(100, (i) => ({
          time: T0 + i,
          src: `198.51.100.${i % 50}`,
          dst: VICTIM,
          protocol: 'tcp' as const,
          dstPort: 23,
          seq: v4Number(VICTIM),
        })),
        ...many(20, (i) => ({
          time: T0 + i,
          src: '198.51.100.200',
          dst: VICTIM,
          protocol: 'udp' as const,
          dstPort: 53,
        })),
      ]);
      const a = analyzeCapture(cap);
      expect(a.botnet_detected).to.equal(true);
      expect(a.protocol_breakdown).to.deep.equal({ tcp: 83.3, udp: 16.7, icmp: 0, other: 0 });
      expect(a.tcp_flag_breakdown.SYN).to.equal(100);
      expect(a.top_dst_ports[0]).to.deep.equal({ port: 23, packets: 100 });
      expect(a.top_src_ips[0]).to.deep.include({ ip: '198.51.100.200', packets: 20 });
      expect(a.source_ip_count).to.equal(51);
    });
  });

  describe('IOC matcher', () => {
    const p = (src: string, extra: Partial<Spec> = {}) =>
      packet({ time: T0, src, dst: VICTIM, protocol: 'udp', ...extra });

    it('matches CIDRs (nested ones too), ports, protocols and byte patterns with masks, from several sets', () => {
      const m = new IocMatcher();
      m.set('file:a', [
        { id: 'net', source: [Prefix.parse('198.51.100.0/24')] },
        { id: 'host', source: [Prefix.parse('198.51.100.7')] },
        { id: 'six', source: [Prefix.parse('2001:db8::/32')], protocol: 'udp' },
        {
          id: 'memc',
          protocol: 'udp',
          srcPort: [{ min: 11211, max: 11211 }],
          bytes: { layer: 'payload', offset: 0, value: Buffer.from('ST'), mask: Buffer.from([0xff, 0xdf]) },
        },
      ]);
      m.set('feed:b', [{ id: 'net', destination: [Prefix.parse('203.0.113.0/25')], dstPort: [{ min: 53, max: 53 }] }]);
      const ids = (pk: Packet) => {
        const out: string[] = [];
        m.forEachMatch(pk, (s, i) => out.push(`${s}/${i.id}`));
        return out.sort();
      };
      expect(ids(p('198.51.100.7'))).to.deep.equal(['feed:b/net', 'file:a/host', 'file:a/net']);
      expect(ids(p('198.51.100.8', { dstPort: 54 }))).to.deep.equal(['file:a/net']);
      expect(ids(p('192.0.2.1', { srcPort: 11211, payload: Buffer.from('St') }))).to.deep.include('file:a/memc');
      expect(ids(p('192.0.2.1', { srcPort: 11211, payload: Buffer.from('Sx') }))).to.not.include('file:a/memc');
      expect(ids(packet({ time: T0, src: '2001:db8::5', dst: '2001:db8:1::1', protocol: 'udp' }))).to.deep.equal([
        'file:a/six',
      ]);
      // A refresh replaces a set whole.
      m.set('feed:b', []);
      expect(ids(p('198.51.100.7'))).to.deep.equal(['file:a/host', 'file:a/net']);
      expect(() =>
        m.set('x', [
          { id: 'd', dstPort: [{ min: 1, max: 1 }] },
          { id: 'd', dstPort: [{ min: 2, max: 2 }] },
        ]),
      ).to.throw(/twice/);
    });

    it('property: the prefix index finds exactly the CIDRs a linear scan finds', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })), {
            maxLength: 60,
          }),
          fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 20 }),
          (cidrs, addrs) => {
            const toText = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
            const prefixes = cidrs.map(([a, len]) =>
              Prefix.parse(`${toText(len === 0 ? 0 : ((a >>> (32 - len)) << (32 - len)) >>> 0)}/${len}`),
            );
            const m = new IocMatcher();
            m.set(
              's',
              prefixes.map((q, i) => ({ id: `i${i}`, source: [q] })),
            );
            for (const a of addrs) {
              const got: string[] = [];
              m.forEachMatch(p(toText(a)), (_s, i) => got.push(i.id));
              const want = prefixes.flatMap((q, i) => (q.contains(Prefix.parse(toText(a))) ? [`i${i}`] : []));
              expect(got.sort()).to.deep.equal(want.sort());
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it('counts matches per IOC in a capture (ioc_matches)', () => {
      const m = new IocMatcher();
      m.set('file:x', [{ id: 'atk', name: 'attacker net', source: [Prefix.parse('198.51.100.0/28')] }]);
      const cap = pcapOf(
        many(40, (i) => ({ time: T0 + i, src: `198.51.100.${i}`, dst: VICTIM, protocol: 'udp' as const })),
      );
      expect(analyzeCapture(cap, { matcher: m }).ioc_matches).to.deep.equal([
        {
          ioc_id: 'atk',
          kind: 'cidr',
          value: 'src 198.51.100.0/28',
          count: 16,
          source: 'file:x',
          name: 'attacker net',
        },
      ]);
    });
  });
});
