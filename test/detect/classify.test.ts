import { expect } from 'chai';
import type { Sample } from '@ft/sdk';
import type { Incident } from '../../core/model/incident.js';
import { classify } from '../../core/detect/index.js';
import { first, Replay } from './harness.js';

/** Replays 2 s of ordinary traffic then 3 s of the attack through the engine; returns the incident as last updated. */
function replay(attack: Partial<Sample>, normal: Partial<Sample> = web(3000)): Incident {
  const r = new Replay({ static: { pps: 20_000 } });
  r.run(2000, () => normal);
  const events = r.run(3000, () => attack);
  expect(first(events, 'open'), 'the attack opened an incident').to.not.equal(undefined);
  return events.at(-1)!.incident;
}

function web(pps: number): Partial<Sample> {
  return {
    pps,
    bps: pps * 6000,
    protocols: { tcp: pps * 0.93, udp: pps * 0.05, icmp: pps * 0.02, other: 0 },
    tcpFlags: { syn: pps * 0.04, ack: pps * 0.9 },
  };
}

const udpFrom = (pps: number, ports: [number, number][], extra: Partial<Sample> = {}): Partial<Sample> => ({
  pps,
  bps: pps * 8 * 1200,
  protocols: { tcp: pps * 0.01, udp: pps * 0.99, icmp: 0, other: 0 },
  topSrcPorts: ports.map(([key, share]) => ({ key, count: pps * share })),
  topDstPorts: [
    { key: 443, count: pps * 0.3 },
    { key: 27015, count: pps * 0.6 },
  ],
  ...extra,
});

describe('classification of replayed attacks (the 7 families and amplification vectors)', () => {
  it('udp_flood with an NTP vector: source port 123, its share as confidence, packet length kept for FlowSpec', () => {
    const i = replay(
      udpFrom(
        150_000,
        [
          [123, 0.9],
          [40000, 0.05],
        ],
        { packetLength: { min: 468, max: 490, mean: 480 } },
      ),
    );
    expect(i.family).to.equal('udp_flood');
    expect(i.vectors).to.deep.equal(['ntp']);
    expect(i.confidence).to.be.within(0.85, 1);
    expect(i.protocols.udp).to.be.closeTo(99, 0.1);
    expect(i.topSrcPorts[0]).to.deep.equal({ port: 123, count: 135_000 });
    expect(i.packetLength).to.deep.equal({ min: 468, max: 490 });
  });

  it('memcached (11211), CLDAP (389), SSDP (1900) and chargen (19) are named by their source port', () => {
    for (const [port, vector] of [
      [11211, 'memcached'],
      [389, 'cldap'],
      [1900, 'ssdp'],
      [19, 'chargen'],
      [3702, 'ws-discovery'],
      [161, 'snmp'],
    ] as const) {
      const i = replay(udpFrom(100_000, [[port, 0.97]]));
      expect(i.family, vector).to.equal('udp_flood');
      expect(i.vectors, vector).to.deep.equal([vector]);
    }
  });

  it('dns_flood: DNS reflection (source port 53) carries the dns vector', () => {
    const i = replay(udpFrom(120_000, [[53, 0.95]]));
    expect(i.family).to.equal('dns_flood');
    expect(i.vectors).to.deep.equal(['dns']);
  });

  it('dns_flood: a query flood to port 53 is DNS too, but no reflection vector (source ports are random)', () => {
    const pps = 90_000;
    const i = replay({
      pps,
      bps: pps * 8 * 80,
      protocols: { tcp: 0, udp: pps, icmp: 0, other: 0 },
      topSrcPorts: Array.from({ length: 10 }, (_, k) => ({ key: 30000 + k * 7, count: pps / 1000 })),
      topDstPorts: [{ key: 53, count: pps * 0.98 }],
    });
    expect(i.family).to.equal('dns_flood');
    expect(i.vectors).to.deep.equal([]);
    expect(i.topDstPorts[0]!.port).to.equal(53);
  });

  it('a plain UDP flood from random ports names no vector', () => {
    const pps = 80_000;
    const i = replay({
      pps,
      bps: pps * 8 * 60,
      protocols: { tcp: 0, udp: pps, icmp: 0, other: 0 },
      topSrcPorts: [
        { key: 1024, count: 90 },
        { key: 5555, count: 80 },
        { key: 61000, count: 70 },
      ],
    });
    expect(i.family).to.equal('udp_flood');
    expect(i.vectors).to.deep.equal([]);
  });

  it('syn_flood: TCP-dominant with SYN-heavy flags; flag counts reported per flag', () => {
    const pps = 60_000;
    const i = replay({
      pps,
      bps: pps * 8 * 60,
      protocols: { tcp: pps, udp: 0, icmp: 0, other: 0 },
      tcpFlags: { syn: pps * 0.98, ack: pps * 0.01 },
    });
    expect(i.family).to.equal('syn_flood');
    expect(i.vectors).to.deep.equal([]);
    expect(i.tcpFlags.syn).to.equal(Math.round(pps * 0.98));
    expect(i.confidence).to.be.above(0.9);
  });

  it('syn_flood as the proc counters see it: SYNs estimated from passive opens are ~half the TCP packets (SYN + RST)', () => {
    const pps = 40_000;
    const i = replay({
      pps,
      bps: pps * 8 * 54,
      protocols: { tcp: pps, udp: 0, icmp: 0, other: 0 },
      tcpFlags: { syn: pps * 0.5 },
    });
    expect(i.family).to.equal('syn_flood');
  });

  it('an ACK flood is a TCP flood but not a SYN flood: unknown, with low confidence, never a SYN match', () => {
    const pps = 60_000;
    const i = replay({
      pps,
      bps: pps * 8 * 60,
      protocols: { tcp: pps, udp: 0, icmp: 0, other: 0 },
      tcpFlags: { ack: pps, syn: pps * 0.01 },
    });
    expect(i.family).to.equal('unknown');
    expect(i.confidence).to.be.at.most(0.5);
  });

  it('icmp_flood', () => {
    const pps = 70_000;
    const i = replay({ pps, bps: pps * 8 * 84, protocols: { tcp: pps * 0.02, udp: 0, icmp: pps * 0.98, other: 0 } });
    expect(i.family).to.equal('icmp_flood');
    expect(i.protocols.icmp).to.be.closeTo(98, 0.1);
  });

  it('http_flood: an L7 source with request rates', () => {
    const i = replay(
      {
        sourceKind: 'l7',
        source: 'nginx-logs',
        pps: 30_000,
        bps: 30_000 * 8 * 400,
        http: {
          site: 'shop.example',
          rps: 30_000,
          statuses: { '1xx': 0, '2xx': 1000, '3xx': 0, '4xx': 0, '5xx': 29_000 },
          uniqueClients: 4000,
        },
      },
      { source: 'nginx-logs', sourceKind: 'l7', pps: 200, bps: 200 * 8 * 400 },
    );
    expect(i.family).to.equal('http_flood');
    expect(i.http?.site).to.equal('shop.example');
    expect(i.botnet, '4000 clients that completed handshakes').to.equal(true);
  });

  it('multi_vector: UDP reflection and a SYN flood at once', () => {
    const pps = 100_000;
    const i = replay({
      pps,
      bps: pps * 8 * 500,
      protocols: { tcp: pps * 0.45, udp: pps * 0.55, icmp: 0, other: 0 },
      tcpFlags: { syn: pps * 0.44 },
      topSrcPorts: [
        { key: 123, count: pps * 0.5 },
        { key: 5555, count: pps * 0.01 },
      ],
    });
    expect(i.family).to.equal('multi_vector');
    expect(i.vectors).to.deep.equal(['ntp']);
  });

  it('multi_vector: two reflection vectors (DNS and memcached) are both named, strongest first', () => {
    const i = replay(
      udpFrom(200_000, [
        [11211, 0.35],
        [53, 0.6],
      ]),
    );
    expect(i.family).to.equal('multi_vector');
    expect(i.vectors).to.deep.equal(['dns', 'memcached']);
  });

  it('unknown when no source gives a breakdown (interface counters only)', () => {
    const i = replay({ pps: 90_000, bps: 9e8 }, { pps: 3000, bps: 2.4e7 });
    expect(i.family).to.equal('unknown');
    expect(i.protocols).to.deep.equal({ tcp: 0, udp: 0, icmp: 0 });
    expect(i.confidence).to.be.below(0.5);
  });

  it('spoofing hint: thousands of sources but one TTL means few real senders', () => {
    const i = replay(udpFrom(100_000, [[53, 0.95]], { sourceCount: 50_000, ttl: { distinct: 1, topShare: 1 } }));
    expect(i.spoofed).to.equal(true);
    expect(i.botnet).to.equal(false);
    expect(i.sourceCount).to.equal(50_000);
  });

  it('botnet hint: many sources with varied TTLs; no hints without TTLs', () => {
    const bot = replay(udpFrom(100_000, [[40000, 0.01]], { sourceCount: 5000, ttl: { distinct: 40, topShare: 0.08 } }));
    expect(bot.botnet).to.equal(true);
    expect(bot.spoofed).to.equal(false);
    const none = replay(udpFrom(100_000, [[40000, 0.01]], { sourceCount: 5000 }));
    expect([none.botnet, none.spoofed]).to.deep.equal([false, false]);
  });

  it('randomised TTLs are a spoofing hint', () => {
    expect(classify({ pps: 1, bps: 1, ttl: { distinct: 180, topShare: 0.01 } }).spoofing).to.equal(true);
  });

  it('source-port vectors are only named when the port carries the flood (>= 20% of port counts)', () => {
    const c = classify({
      pps: 100,
      bps: 800,
      protocols: { tcp: 0, udp: 100, icmp: 0, other: 0 },
      topSrcPorts: [
        { key: 53, count: 10 },
        { key: 40001, count: 50 },
        { key: 40002, count: 45 },
      ],
    });
    expect(c.family).to.equal('udp_flood');
    expect(c.vector).to.deep.equal([]);
  });

  it('the family is not changed by the quiet tail after the flood stops', () => {
    const r = new Replay({ static: { pps: 20_000 }, resolveAfterMs: 2000 });
    r.run(2000, () => web(3000));
    r.run(2000, () => udpFrom(150_000, [[123, 0.9]]));
    r.run(5000, () => web(3000));
    const resolve = first(r.events, 'resolve')!;
    expect(resolve.incident.family).to.equal('udp_flood');
    expect(resolve.incident.vectors).to.deep.equal(['ntp']);
    expect(r.events.map((e) => e.incident.family).every((f) => f === 'udp_flood')).to.equal(true);
  });
});
