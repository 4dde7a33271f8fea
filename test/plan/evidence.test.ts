// The planner with packet evidence on the incident: sources a capture calls spoofed are never blocked, and a
// spoofed attack with a reflection signature is dropped by the signature instead of by source.
import { expect } from 'chai';
import { Prefix, packetEvidenceFromReport } from '@ft/sdk';
import { plan } from '../../core/plan/index.js';
import { NOW, incident, policy, testRpki } from './helpers.js';

const POLICY = `
version: 1
tenant: t1
mode: enforce
asn: 64500
defaults: { ttl: 5m, maxRules: 200, rpki: enforce, cooldown: 2m }
protect: [203.0.113.0/24]
filters:
  cf-waf: { adapter: cloudflare-waf }
escalation:
  - { level: 1, when: { bps: ">1Gbps" }, do: { block: { sources: top, count: 2 } }, via: [cf-waf] }
onNode:
  - when: { bps: ">1Mbps" }
    do: [ { ipset: { dropTopSources: 1 } } ]
  - when: { vector: [memcached] }
    do: [ { nft: { dropUdpSourcePorts: auto } } ]
`;

const src = (ip: string, count: number) => ({ ip, count });
const evidence = (spoofing: 'spoofed' | 'not-spoofed' | 'unknown', spoofed: string[]) =>
  packetEvidenceFromReport({
    packets: 5000,
    spoofing,
    spoofed_share: spoofed.length ? 0.3 : 0,
    spoofed_sources: spoofed,
    real_sources: [],
    evidence: [],
    signatures: [],
  });

describe('planner: packet evidence (pcap detector)', () => {
  const p = policy(POLICY);
  const run = (i: ReturnType<typeof incident>) =>
    plan({ policy: p, rpki: testRpki(), now: NOW, active: [], incident: i });
  const sources = (r: ReturnType<typeof run>, via: string) =>
    r.ops
      .filter((o) => o.via.includes(via) && o.rule.kind === 'host-filter')
      .map((o) => (o.rule.kind === 'host-filter' ? (o.rule.match.sources ?? []).map((s) => s.address) : []));

  it('never puts a source the capture calls spoofed in a block or an on-node drop, though the attack overall is not spoofed', () => {
    const i = incident({
      bps: 2e9,
      top_src_ips: [src('198.51.100.7', 900), src('198.51.100.8', 500), src('192.0.2.9', 100)],
    });
    i.packetEvidence = evidence('unknown', ['198.51.100.7']);
    const r = run(i);
    expect(r.refused).to.deep.equal([]);
    expect(sources(r, 'cf-waf')).to.deep.equal([['192.0.2.9', '198.51.100.8']]);
    expect(sources(r, 'ipset')).to.deep.equal([['198.51.100.8']]);
    // Without the capture's verdict the busiest source is blocked, as before.
    const plain = run(incident({ bps: 2e9, top_src_ips: [src('198.51.100.7', 900), src('198.51.100.8', 500)] }));
    expect(sources(plain, 'ipset')).to.deep.equal([['198.51.100.7']]);
  });

  it('a spoofed reflection flood: no block by source anywhere; the signature (the vector source port) is dropped instead', () => {
    const i = incident({
      bps: 2e9,
      spoofing_detected: true,
      vector: ['memcached'],
      top_src_ips: [src('198.51.100.7', 900)],
    });
    const r = run(i);
    expect(r.refused).to.deep.equal([]);
    expect(r.ops.filter((o) => o.via.includes('cf-waf') || o.via.includes('ipset'))).to.deep.equal([]);
    expect(r.notes.join('\n')).to.include('block skipped: the sources are spoofed');
    const nft = r.ops.filter((o) => o.via.includes('nft'));
    expect(nft).to.have.length(1);
    const rule = nft[0]!.rule;
    expect(rule.kind === 'host-filter' && rule.match).to.deep.equal({
      destination: Prefix.parse('203.0.113.10/32'),
      protocol: 'udp',
      sourcePorts: [{ min: 11211, max: 11211 }],
    });
  });
});
