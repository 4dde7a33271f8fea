import { expect } from 'chai';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefix } from '@ft/sdk';
import { parsePolicy, PolicyError } from '../../core/policy/index.js';
import { runFt } from '../helpers/cli.js';

// "::203.0.113.10" and "::cb00:710a" are two spellings of one IPv4-compatible IPv6 address (RFC 4291 §2.5.5.1).
// They were read as IPv4 and IPv6 respectively: one address, two meanings.
const SPELLINGS = ['::203.0.113.10', '::cb00:710a'];

describe('IPv4-compatible IPv6 text: one spelling, one meaning', () => {
  it('both spellings parse to the same IPv6 address; only ::ffff: maps to IPv4', () => {
    const [dotted, hex] = SPELLINGS.map((s) => Prefix.parse(s));
    expect(dotted!.family).to.equal(6);
    expect(dotted!.equals(hex!)).to.equal(true);
    expect(dotted!.toString()).to.equal('::cb00:710a/128');
    expect(Prefix.parse('::203.0.113.0/120').equals(Prefix.parse('::cb00:7100/120'))).to.equal(true);
    expect(Prefix.parse('::ffff:203.0.113.10').toString()).to.equal('203.0.113.10/32');
    expect(Prefix.parse('::ffff:cb00:710a').toString()).to.equal('203.0.113.10/32');
    expect(() => Prefix.parse('::203.0.113.256')).to.throw(/dotted-quad/);
  });

  it('a policy refuses both spellings in protect, neverTarget and an RTBH next hop, with the position', () => {
    for (const s of SPELLINGS) {
      const text = [
        'version: 1',
        'tenant: t',
        'asn: 64500',
        'protect: [203.0.113.0/24]',
        `neverTarget: ["${s}"]`,
        'speakers: { s: { adapter: gobgp } }',
        'escalation:',
        `  - { level: 1, when: { bps: ">1Gbps" }, do: { rtbh: { nextHop: "${s}" } }, via: [s] }`,
      ].join('\n');
      let err: unknown;
      try {
        parsePolicy(text, 'p.yaml');
      } catch (e) {
        err = e;
      }
      expect(err, s).to.be.instanceOf(PolicyError);
      const issues = (err as PolicyError).issues;
      const never = issues.find((i) => i.path === 'neverTarget[0]');
      expect(never?.line, s).to.equal(5);
      expect(never?.message).to.match(/IPv4-compatible.*deprecated.*::cb00:710a, not 203\.0\.113\.10/);
      // The next hop is checked once the structure is right (a second pass), so on its own.
      let hopErr: unknown;
      try {
        parsePolicy(text.replace(`neverTarget: ["${s}"]`, 'neverTarget: []'), 'p.yaml');
      } catch (e) {
        hopErr = e;
      }
      const hop = (hopErr as PolicyError).issues.find((i) => i.path === 'escalation[0].do.rtbh.nextHop');
      expect(hop?.line, s).to.equal(8);
      expect(hop?.message).to.match(/IPv4-compatible/);
    }
  });

  it('ft mitigate preview: an incident "to ::203.0.113.10" is IPv6 (outside protect), never the IPv4 host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-v4compat-'));
    const policy = join(dir, 'p.yaml');
    writeFileSync(
      policy,
      [
        'version: 1',
        'tenant: t',
        'asn: 64500',
        'defaults: { rpki: off }',
        'protect: [203.0.113.0/24]',
        'speakers: { s: { adapter: gobgp } }',
        'escalation:',
        '  - { level: 1, when: { bps: ">100Mbps" }, do: { flowspec: { then: discard } }, via: [s] }',
      ].join('\n'),
    );
    for (const s of SPELLINGS) {
      const r = await runFt(['mitigate', 'preview', '-p', policy, '--simulate', `udp_flood 3Gbps to ${s}`, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout) as { plan: { ops: unknown[]; refused: { rail: string }[] } };
      expect(out.plan.ops, s).to.deep.equal([]);
      expect(
        out.plan.refused.map((x) => x.rail),
        s,
      ).to.deep.equal(['outside-protect']);
    }
  });
});
