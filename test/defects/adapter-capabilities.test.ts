import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFt } from '../helpers/cli.js';

// Policies that validated but that their adapters could not carry, found only when an attack came: on-node steps
// the named kind cannot do, large communities on RTBH through the BGP adapters, IPv4 and IPv6 sources in one
// dropTopSources rule. Now `ft policy validate` refuses them, naming the capability the kind lacks (declared by the
// adapter: ActionFactory.features), and the planner never mixes families in one rule.
const dir = mkdtempSync(join(tmpdir(), 'ft-capabilities-'));
const HEAD = ['version: 1', 'tenant: t', 'asn: 64500', 'protect: [203.0.113.0/24, 2001:db8:100::/48]'];
function policy(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, [...HEAD, ...lines].join('\n'));
  return path;
}

describe('ft policy validate: what the adapters cannot carry is refused, with the capability', function () {
  this.timeout(30_000);

  it('an on-node step the kind cannot do (ipset synCookies, tc dropTopSources)', async () => {
    const path = policy('steps.yaml', [
      'onNode:',
      '  - when: { family: syn_flood }',
      '    do: [ { ipset: { synCookies: true } }, { tc: { dropTopSources: 10 } } ]',
    ]);
    const r = await runFt(['policy', 'validate', path]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(
      'steps.yaml:7:22: onNode[0].do[0].ipset.synCookies: "ipset" (ipset) cannot do synCookies (capability hostSteps: dropTopSources)',
    );
    expect(r.stderr).to.match(
      /onNode\[0\]\.do\[1\]\.tc\.dropTopSources: "tc" \(tc\) cannot do dropTopSources \(capability hostSteps: shape\)/,
    );
  });

  it('a large community on RTBH through gobgp, exabgp, bird and frr', async () => {
    const path = policy('large.yaml', [
      'speakers:',
      '  gobgp: { adapter: gobgp }',
      '  exabgp: { adapter: exabgp }',
      '  bird: { adapter: bird, includeFile: /tmp/ft-routes.conf }',
      '  frr: { adapter: frr, asn: 64500 }',
      'escalation:',
      '  - { level: 1, when: { bps: ">1Gbps" }, do: { rtbh: { community: ["64500:666", "64500:1:666"] } }, via: [gobgp, exabgp, bird, frr] }',
    ]);
    const r = await runFt(['policy', 'validate', path]);
    expect(r.code, r.stderr).to.equal(1);
    for (const adapter of ['gobgp', 'exabgp', 'bird', 'frr'])
      expect(r.stderr).to.include(
        `escalation[0].do.rtbh.community: speaker "${adapter}" (${adapter}) cannot carry large communities on RTBH (capability rtbhLargeCommunities): 64500:1:666`,
      );
  });

  it('two speakers on one gobgpd are one device: a warning', async () => {
    const path = policy('shared.yaml', [
      'speakers:',
      '  a: { adapter: gobgp, address: 127.0.0.1:50051 }',
      '  b: { adapter: gobgp, address: 127.0.0.1:50051 }',
      'escalation:',
      '  - { level: 1, when: { bps: ">1Gbps" }, do: { flowspec: { then: discard } }, via: [a, b] }',
    ]);
    const r = await runFt(['policy', 'validate', path]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include('warning: speakers.a and speakers.b are one device (gobgpd at 127.0.0.1:50051)');
  });

  it('ft mitigate preview: dropTopSources keeps only sources of the target family, and nft renders it', async () => {
    const path = policy('mixed.yaml', [
      'onNode:',
      '  - { when: { pps: ">1kpps" }, do: [ { nft: { dropTopSources: 10 } } ] }',
    ]);
    const incident = join(dir, 'incident.json');
    writeFileSync(
      incident,
      JSON.stringify({
        target: '2001:db8:100::10',
        attack_family: 'udp_flood',
        severity: 'high',
        pps: 50000,
        top_src_ips: [
          { ip: '198.51.100.7', count: 90 },
          { ip: '2001:db8:bad::7', count: 80 },
          { ip: '198.51.100.8', count: 70 },
        ],
      }),
    );
    const r = await runFt(['mitigate', 'preview', '-p', path, '-i', incident, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as {
      plan: { ops: { rule: { match: { sources?: string[] } }; rendered: { text: string }[] }[] };
    };
    const op = out.plan.ops.find((o) => o.rule.match.sources);
    expect(op?.rule.match.sources).to.deep.equal(['2001:db8:bad::7/128']);
    expect(op?.rendered.map((c) => c.text).join('\n')).to.not.include('render failed');
  });
});
