import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plan } from '../../core/plan/index.js';
import { parsePolicy } from '../../core/policy/index.js';
import { runFt } from '../helpers/cli.js';
import { NOW, incident, testRpki } from '../plan/helpers.js';

// A /25 protect with the default /24 divert: every diversion announces a /24 outside protect, the rails refused
// every plan at that level whole (for the largest attacks: nothing at all), and `policy validate` called it valid.
const policyText = (divert = '') =>
  [
    'version: 1',
    'tenant: t',
    'asn: 64500',
    'protect: [203.0.113.0/25]',
    'speakers: { s: { adapter: gobgp } }',
    `scrubbers: { sc: { adapter: scrub-webhook, url: "https://scrub.example/ft", secret: FT_SCRUB_SECRET, originAs: 64510${divert} } }`,
    'escalation:',
    '  - { level: 1, when: { bps: ">100Mbps" }, do: { flowspec: { then: discard } }, via: [s] }',
    '  - { level: 2, when: { bps: ">2Gbps" }, do: { rtbh: {} }, via: [s] }',
    '  - { level: 3, when: { bps: ">5Gbps" }, do: { scrub: { provider: sc } } }',
  ].join('\n');

describe('a scrubber divert prefix outside protect', function () {
  this.timeout(30_000);

  it('ft policy validate refuses it at the level, and accepts divertLength /25', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-divert-'));
    const bad = join(dir, 'bad.yaml');
    const good = join(dir, 'good.yaml');
    writeFileSync(bad, policyText());
    writeFileSync(good, policyText(', divertLength: { v4: 25 }'));
    const r = await runFt(['policy', 'validate', bad]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(
      'bad.yaml:10:67: escalation[2].do.scrub.provider: scrubber "sc" diverts the /24 around an attacked host, but protect[0] is 203.0.113.0/25: 203.0.113.0/24 is outside protect',
    );
    expect((await runFt(['policy', 'validate', good])).code).to.equal(0);
  });

  it('at run time the level falls back to the next one down, never to nothing', () => {
    // The policy as it would be without the check (an older file, a hand-built policy): divert /24 under a /25.
    const p = parsePolicy(policyText(', divertLength: { v4: 25 }'), 'p.yaml');
    (p.scrubbers.get('sc') as { divertLength: { v4: number; v6: number } }).divertLength = { v4: 24, v6: 48 };
    const result = plan({ policy: p, incident: incident({ bps: 6e9 }), active: [], now: NOW, rpki: testRpki() });
    expect(result.refused.map((r) => r.rail)).to.deep.equal(['outside-protect']);
    expect(result.ops.map((o) => `${o.type} ${o.rule.kind} level ${o.rule.level}`)).to.deep.equal(['add rtbh level 2']);
    expect(result.notes).to.include('level 3 was refused entirely: falling back to level 2');
  });
});
