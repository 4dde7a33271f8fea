// Packet evidence (Detector.observe → DetectionEngine.addEvidence): what a capture found reaches the open
// incident at once, decides spoofing where it has a verdict, adds botnet signatures and confirmed vectors.
import { expect } from 'chai';
import { Prefix, type PacketEvidence } from '@ft/sdk';
import { first, Replay } from './harness.js';

const evidence = (over: Partial<PacketEvidence> = {}): PacketEvidence => ({
  packets: 3000,
  spoofing: 'unknown',
  spoofedShare: 0,
  spoofedSources: [],
  realSources: [],
  evidence: [],
  signatures: [],
  ...over,
});

describe('detection engine: packet evidence on an incident', () => {
  function opened(): { r: Replay; id: string } {
    const r = new Replay({ static: { pps: 1000 } });
    const open = first(
      r.run(500, () => ({ pps: 20_000, bps: 20_000 * 8000, protocols: { tcp: 0, udp: 20_000, icmp: 0, other: 0 } })),
      'open',
    );
    expect(open).to.not.equal(undefined);
    return { r, id: open!.incident.id };
  }

  it('is announced at once as an update, and every later update carries it', () => {
    const { r, id } = opened();
    const seen: string[] = [];
    r.engine.on((e) => seen.push(`${e.type}:${e.incident.pcap?.file ?? '-'}`));
    expect(r.engine.addEvidence(id, { pcap: { id, file: `/var/lib/ft/pcap/${id}.pcapng` }, iocMatches: [] })).to.equal(
      true,
    );
    expect(seen).to.deep.equal([`update:/var/lib/ft/pcap/${id}.pcapng`]);
    const later = r.run(1500, () => ({ pps: 20_000, bps: 20_000 * 8000 }));
    expect(later.filter((e) => e.type === 'update').every((e) => e.incident.pcap?.id === id)).to.equal(true);
    expect(r.engine.addEvidence('inc-unknown', { iocMatches: [] })).to.equal(false);
  });

  it('a capture verdict decides spoofed; "unknown" leaves the hint; a botnet signature sets botnet', () => {
    const { r, id } = opened();
    const last = () => r.engine.openIncidents().find((i) => i.id === id)!;
    expect(last().spoofed).to.equal(false);
    r.engine.addEvidence(id, {
      packetEvidence: evidence({
        spoofing: 'spoofed',
        spoofedShare: 0.8,
        spoofedSources: [Prefix.parse('198.51.100.77')],
      }),
    });
    expect(last().spoofed).to.equal(true);
    r.engine.addEvidence(id, { packetEvidence: evidence({ spoofing: 'unknown' }) });
    expect(last().spoofed).to.equal(false);
    r.engine.addEvidence(id, {
      packetEvidence: evidence({ signatures: [{ id: 'mirai-syn', kind: 'botnet', packets: 900, share: 0.9 }] }),
    });
    expect(last().botnet).to.equal(true);
  });

  it('a reflection signature confirms its vector: an incident from a source that sees no ports gets it', () => {
    const { r, id } = opened();
    expect(r.engine.openIncidents()[0]!.vectors).to.deep.equal([]);
    r.engine.addEvidence(id, {
      packetEvidence: evidence({
        signatures: [
          { id: 'memcached-reflection', kind: 'reflection', packets: 2000, share: 0.7, vector: 'memcached' },
        ],
      }),
    });
    const i = r.engine.openIncidents()[0]!;
    expect(i.vectors).to.deep.equal(['memcached']);
    expect(i.botnet).to.equal(false);
  });
});
