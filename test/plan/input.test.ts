import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { InputError, parseActiveRules, parseIncident, parseSimulate, plan } from '../../core/plan/index.js';
import { NOW, incident, policy, testRpki } from './helpers.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err.problems;
    throw err;
  }
  throw new Error('expected an InputError');
}

describe('incident input', () => {
  it("reads the reference agent's Report Incident body plus target, vector and top_src_ports", () => {
    const i = parseIncident(
      JSON.parse(readFileSync('policies/examples/incident-dns-amplification.json', 'utf8')),
      'f.json',
      NOW,
    );
    expect(i).to.deep.include({
      id: 'inc-2041',
      state: 'open',
      family: 'udp_flood',
      severity: 'high',
      bps: 1.24e9,
      pps: 262_000,
      peakBps: 1.24e9,
    });
    expect(i.target.toString()).to.equal('203.0.113.10/32');
    expect(i.vectors).to.deep.equal(['dns']);
    expect(i.topSrcPorts).to.deep.equal([{ port: 53, count: 258000 }]);
    expect(i.startedAt).to.equal(NOW.getTime());
  });

  it('reports every problem with its field', () => {
    const p = problems(() =>
      parseIncident({ target: '203.0.113.10/24', attack_family: 'udp_flod', peak_bps: -1 }, 'f.json', NOW),
    );
    expect(p.join('\n'))
      .to.include('attack_family: expected one of')
      .and.include('severity: required')
      .and.include('peak_bps: expected at least 0');
    const q = problems(() =>
      parseIncident(
        { target: '203.0.113.10/24', attack_family: 'udp_flood', severity: 'low', vector: ['dns', 'quake'] },
        'f.json',
        NOW,
      ),
    );
    expect(q).to.deep.equal([
      'target: "203.0.113.10/24" is not a valid prefix: host bits are set below /24 (did you mean 203.0.113.0/24?)',
      'vector: "quake" is not a known amplification vector (dns, ntp, cldap, ssdp, memcached, chargen, snmp, ws-discovery, rpc, netbios, mssql, rip, ard, coap, dtls, openvpn, sip, stun, tftp, qotd)',
    ]);
  });

  it('--simulate one-liners', () => {
    const i = parseSimulate('udp_flood 3Gbps to 203.0.113.10 vector=dns', NOW);
    expect(i).to.deep.include({ family: 'udp_flood', bps: 3e9, pps: 0, severity: 'high', vectors: ['dns'] });
    const s = parseSimulate(
      'syn_flood 800Mbps 1.2Mpps to 2001:db8:100::10 severity=critical sources=198.51.100.7,192.0.2.1',
      NOW,
    );
    expect(s).to.deep.include({ family: 'syn_flood', bps: 800e6, pps: 1.2e6, severity: 'critical' });
    expect(s.topSources.map((x) => x.address.toString())).to.deep.equal(['198.51.100.7/32', '192.0.2.1/32']);
    expect(problems(() => parseSimulate('udp_flood 3Gbsp to 203.0.113.10', NOW))[0]).to.equal(
      '"3Gbsp" is neither a bit rate (3Gbps) nor a packet rate (2Mpps)',
    );
    expect(problems(() => parseSimulate('udp_flood 3Gibps to 203.0.113.10', NOW))[0]).to.include(
      '"3Gibps" is not a bit rate',
    );
    expect(problems(() => parseSimulate('udp_flood 3Gbps at 203.0.113.10', NOW))[0]).to.include(
      'expected "<family> <rate> [<rate>] to <target>',
    );
    expect(problems(() => parseSimulate('udp_flood 3Gbps to 203.0.113.10 colour=red', NOW))[0]).to.include(
      'unknown key "colour"',
    );
  });

  it('active rules round-trip through JSON, and a rule whose id does not match its content is refused', () => {
    const p = policy();
    const ops = plan({ policy: p, incident: incident({ bps: 3e9 }), active: [], now: NOW, rpki: testRpki() }).ops;
    const json = JSON.parse(
      JSON.stringify(
        ops.map((o) => ({
          rule: o.rule,
          via: o.via,
          appliedAt: NOW.toISOString(),
          expiresAt: NOW.toISOString(),
          incidentId: 'inc-1',
        })),
      ),
    );
    const back = parseActiveRules(json, 'active.json');
    expect(back[0]?.rule.id).to.equal(ops[0]?.rule.id);
    expect(back[0]?.rule.target.toString()).to.equal('203.0.113.10/32');
    json[0].rule.communities = ['65535:666'];
    expect(problems(() => parseActiveRules(json, 'active.json'))[0]).to.match(
      /^\[0\]\.rule\.id: bh-[0-9a-f]{16} does not match the rule's content/,
    );
    expect(problems(() => parseActiveRules({ nope: 1 }, 'active.json'))[0]).to.include('expected a JSON list');
  });
});
