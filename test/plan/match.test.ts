import { expect } from 'chai';
import { Prefix } from '@ft/sdk';
import { flowspecMatch, vectorsOf } from '../../core/plan/index.js';
import { incident } from './helpers.js';

const host = Prefix.parse('203.0.113.10/32');
const host6 = Prefix.parse('2001:db8:100::10/128');

describe('FlowSpec matches derived from the incident', () => {
  it('DNS amplification: UDP from source port 53, only the large answers (>= 512 bytes)', () => {
    expect(flowspecMatch(incident({ vector: ['dns'] }), host)).to.deep.equal({
      destination: host,
      protocols: [17],
      sourcePorts: [{ min: 53, max: 53 }],
      packetLength: [{ min: 512, max: 65535 }],
    });
  });

  it('several vectors: every source port, the smallest minimum length', () => {
    expect(
      flowspecMatch(incident({ attack_family: 'multi_vector', vector: ['ntp', 'dns', 'memcached'] }), host),
    ).to.deep.equal({
      destination: host,
      protocols: [17],
      sourcePorts: [
        { min: 53, max: 53 },
        { min: 123, max: 123 },
        { min: 11211, max: 11211 },
      ],
      packetLength: [{ min: 468, max: 65535 }],
    });
  });

  it('a vector without a known packet size falls back to the observed packet lengths, or none', () => {
    expect(flowspecMatch(incident({ vector: ['chargen'] }), host)).to.deep.equal({
      destination: host,
      protocols: [17],
      sourcePorts: [{ min: 19, max: 19 }],
    });
    expect(
      flowspecMatch(incident({ vector: ['chargen'], packet_length: { min: 1000, max: 1100 } }), host).packetLength,
    ).to.deep.equal([{ min: 1000, max: 1100 }]);
  });

  it('vectors are read from top source ports when the detector named none (a port with >= 20% of the attack)', () => {
    const i = incident({
      top_src_ports: [
        { port: 123, count: 900 },
        { port: 53, count: 50 },
        { port: 40000, count: 50 },
      ],
    });
    expect(vectorsOf(i)).to.deep.equal(['ntp']);
    expect(flowspecMatch(i, host).sourcePorts).to.deep.equal([{ min: 123, max: 123 }]);
  });

  it('SYN flood: TCP with SYN set and ACK unset', () => {
    expect(flowspecMatch(incident({ attack_family: 'syn_flood' }), host)).to.deep.equal({
      destination: host,
      protocols: [6],
      tcpFlags: { set: ['syn'], unset: ['ack'] },
    });
  });

  it('ICMP flood: ICMP on IPv4, ICMPv6 on IPv6', () => {
    expect(flowspecMatch(incident({ attack_family: 'icmp_flood' }), host).protocols).to.deep.equal([1]);
    expect(
      flowspecMatch(incident({ attack_family: 'icmp_flood', target: '2001:db8:100::10' }), host6).protocols,
    ).to.deep.equal([58]);
  });

  it('DNS query flood (no reflection vector): UDP to destination port 53', () => {
    expect(flowspecMatch(incident({ attack_family: 'dns_flood' }), host)).to.deep.equal({
      destination: host,
      protocols: [17],
      destinationPorts: [{ min: 53, max: 53 }],
    });
  });

  it('HTTP flood: TCP to the ports carrying it', () => {
    const i = incident({
      attack_family: 'http_flood',
      top_dst_ports: [
        { port: 443, count: 900 },
        { port: 80, count: 300 },
        { port: 22, count: 2 },
      ],
    });
    expect(flowspecMatch(i, host).destinationPorts).to.deep.equal([
      { min: 80, max: 80 },
      { min: 443, max: 443 },
    ]);
  });

  it('a SYN flood with a stray vector is still matched as a SYN flood (vectors describe UDP reflection)', () => {
    expect(flowspecMatch(incident({ attack_family: 'syn_flood', vector: ['dns'] }), host).protocols).to.deep.equal([6]);
  });

  it('unknown attacks match only the destination', () => {
    expect(flowspecMatch(incident({ attack_family: 'unknown' }), host)).to.deep.equal({ destination: host });
  });

  it('IPv6 targets get the same match as IPv4 ones, with a /128 destination', () => {
    const m = flowspecMatch(incident({ vector: ['ntp'], target: '2001:db8:100::10' }), host6);
    expect(m.destination.toString()).to.equal('2001:db8:100::10/128');
    expect(m.protocols).to.deep.equal([17]);
    expect(m.sourcePorts).to.deep.equal([{ min: 123, max: 123 }]);
  });
});
