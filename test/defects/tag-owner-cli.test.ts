import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFt } from '../helpers/cli.js';

// What ft writes into every route's ownership tag, as `ft mitigate preview` shows it: the tag ASN is the policy's
// own `asn` (it was 64512 unless every speaker set tagAsn), and the owner is the rule's tenant and the policy's
// installId, so two installs sharing a speaker can tell their routes apart.
// FNV-1a("example-isp") = 3842414196, FNV-1a("") = 2166136261, FNV-1a("pop2") = 3051352262 (computed elsewhere).
describe('ft mitigate preview: the ownership tag names the policy AS, the tenant and the install', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ft-tag-owner-'));
  const policy = (extra: string) => {
    const path = join(dir, `p${extra.length}.yaml`);
    writeFileSync(
      path,
      [
        'version: 1',
        'tenant: example-isp',
        extra,
        'asn: 64500',
        'defaults: { rpki: off }',
        'protect: [203.0.113.0/24]',
        'speakers: { s: { adapter: gobgp, address: 127.0.0.1:50051 } }',
        'escalation:',
        '  - { level: 1, when: { bps: ">100Mbps" }, do: { flowspec: { then: discard } }, via: [s] }',
      ].join('\n'),
    );
    return path;
  };
  const tagOf = async (path: string) => {
    const r = await runFt(['mitigate', 'preview', '-p', path, '--simulate', 'icmp_flood 1Gbps to 203.0.113.10']);
    expect(r.code, r.stderr).to.equal(0);
    const m = /large-community (\S+)/.exec(r.stdout);
    expect(m, r.stdout).to.not.equal(null);
    return (m?.[1] as string).split(',');
  };

  it('defaults: tagAsn is the policy asn; install id empty', async () => {
    const tags = await tagOf(policy(''));
    expect(tags[0]).to.equal('64500:1718878209:3842414196');
    expect(tags[1]).to.equal('64500:1718910976:2166136261');
    expect(tags[2]).to.match(/^64500:\d+:\d+$/);
  });

  it('installId names the install', async () => {
    const tags = await tagOf(policy('installId: pop2'));
    expect(tags[1]).to.equal('64500:1718910976:3051352262');
  });
});
