import { expect } from 'chai';
import fc from 'fast-check';
import {
  counterDelta,
  parseConntrackStat,
  parseKeyedPairs,
  parseNetDev,
  parseSingleCount,
  parseSnmp6,
  parseSockstat,
} from '../src/parse.js';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 668627177   23565    1    2    0     0          0         0  2361458   14849    3    4    0     0       0          0
eth0.100:18446744073709551615 7 0 0 0 0 0 0 1 2 0 0 0 0 0 0
`;

const SNMP = `Ip: Forwarding DefaultTTL InReceives
Ip: 2 64 23572
Tcp: RtoAlgorithm MaxConn InSegs
Tcp: 1 -1 23414
`;

describe('proc parsers', () => {
  it('/proc/net/dev: counters per interface, u64 exact, names with dots and glued to the counter', () => {
    const { value, problems } = parseNetDev(NET_DEV);
    expect(problems).to.deep.equal([]);
    expect([...value.keys()]).to.deep.equal(['lo', 'eth0', 'eth0.100']);
    const eth0 = value.get('eth0')!;
    expect([eth0.rxBytes, eth0.rxPackets, eth0.rxErrors, eth0.rxDropped]).to.deep.equal([668627177n, 23565n, 1n, 2n]);
    expect([eth0.txBytes, eth0.txPackets, eth0.txErrors, eth0.txDropped]).to.deep.equal([2361458n, 14849n, 3n, 4n]);
    expect(value.get('eth0.100')!.rxBytes).to.equal(18446744073709551615n);
  });

  it('/proc/net/dev: an odd line is reported with its line number and the rest still parsed', () => {
    const text = `${NET_DEV}  bad0: 1 2 three 4 5 6 7 8 9 10 11 12 13 14 15 16\n  short: 1 2 3\ngarbage without colon\n`;
    const { value, problems } = parseNetDev(text);
    expect(value.has('eth0')).to.equal(true);
    expect(value.has('bad0')).to.equal(false);
    expect(problems.map((p) => p.line)).to.deep.equal([6, 7, 8]);
    expect(problems[0]!.reason).to.match(/bad0: counter 3 is "three"/);
    expect(problems[1]!.reason).to.match(/short: 3 counters, expected 16/);
  });

  it('/proc/net/snmp: sections by name, signed values (MaxConn -1)', () => {
    const { value, problems } = parseKeyedPairs(SNMP);
    expect(problems).to.deep.equal([]);
    expect(value.get('Ip')!.get('InReceives')).to.equal(23572n);
    expect(value.get('Tcp')!.get('MaxConn')).to.equal(-1n);
  });

  it('/proc/net/snmp: a values line with the wrong count is reported, other sections kept', () => {
    const { value, problems } = parseKeyedPairs('Ip: A B C\nIp: 1 2\nTcp: InSegs\nTcp: 9\n');
    expect(value.has('Ip')).to.equal(false);
    expect(value.get('Tcp')!.get('InSegs')).to.equal(9n);
    expect(problems[0]!.reason).to.match(/Ip: 3 names but 2 values/);
  });

  it('/proc/net/snmp6, sockstat, conntrack', () => {
    expect(parseSnmp6('Ip6InReceives                   \t12\nUdp6InDatagrams 3\n').value.get('Ip6InReceives')).to.equal(
      12n,
    );
    expect(parseSnmp6('nonsense line here\n').problems).to.have.length(1);
    const s = parseSockstat('sockets: used 32\nTCP: inuse 16 orphan 0 tw 3 alloc 16 mem 254\nUDP: inuse 2 mem 0\n');
    expect(s.value).to.deep.equal({ tcpInUse: 16, tcpTimeWait: 3, udpInUse: 2 });
    expect(parseSockstat('TCP: inuse x\n').problems[0]!.reason).to.match(/inuse is "x"/);
    const ct =
      'entries  clashres found new\n0000002a  00000000 00000000 00000000\n0000002a  00000000 00000000 00000000\n';
    expect(parseConntrackStat(ct).value).to.equal(42);
    expect(parseConntrackStat('found new\n1 2\n').problems[0]!.reason).to.match(/entries/);
    expect(parseSingleCount('17\n').value).to.equal(17);
    expect(parseSingleCount('-').value).to.equal(undefined);
  });

  it('counter deltas: normal, 32-bit wrap, 64-bit wrap, reset', () => {
    expect(counterDelta(100n, 250n)).to.equal(150n);
    expect(counterDelta(4_294_967_000n, 200n), '32-bit wrap').to.equal(496n);
    expect(counterDelta(18_446_744_073_709_551_000n, 100n), '64-bit wrap').to.equal(716n);
    expect(counterDelta(5_000_000_000n, 10n), 'went down, no wrap explains it: a reset').to.equal(undefined);
    expect(counterDelta(1000n, 10n), 'small counter went down: a reset').to.equal(undefined);
  });

  describe('properties (fuzz)', () => {
    it('never throws on arbitrary text, and every parsed interface round-trips', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 400 }), (junk) => {
          for (const f of [
            parseNetDev,
            parseKeyedPairs,
            parseSnmp6,
            parseSockstat,
            parseConntrackStat,
            parseSingleCount,
          ])
            f(junk);
          parseNetDev(`${NET_DEV}${junk}`);
        }),
        { numRuns: 300 },
      );
    });

    it('a generated /proc/net/dev parses back to exactly the generated counters', () => {
      const name = fc.stringMatching(/^[a-z][a-z0-9._-]{0,14}$/);
      const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.tuple(name, fc.array(u64, { minLength: 16, maxLength: 16 })), {
            selector: (x) => x[0],
            maxLength: 8,
          }),
          (ifs) => {
            const text = `h|x\nh|y\n${ifs.map(([n, c]) => `${n.padStart(6)}: ${c.join(' ')}`).join('\n')}\n`;
            const { value, problems } = parseNetDev(text);
            expect(problems).to.deep.equal([]);
            expect(value.size).to.equal(ifs.length);
            for (const [n, c] of ifs) {
              const got = value.get(n)!;
              expect([got.rxBytes, got.rxPackets, got.txBytes, got.txPackets]).to.deep.equal([c[0], c[1], c[8], c[9]]);
            }
          },
        ),
        { numRuns: 200 },
      );
    });

    it('counterDelta: increments by d (mod 2^32 or 2^64) give back d', () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }),
          fc.bigInt({ min: 0n, max: 1n << 30n }),
          (start, d) => {
            expect(counterDelta(start, (start + d) % (1n << 32n))).to.equal(d);
          },
        ),
        { numRuns: 300 },
      );
      fc.assert(
        fc.property(
          fc.bigInt({ min: 1n << 63n, max: (1n << 64n) - 1n }),
          fc.bigInt({ min: 0n, max: 1n << 40n }),
          (start, d) => {
            expect(counterDelta(start, (start + d) % (1n << 64n))).to.equal(d);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
