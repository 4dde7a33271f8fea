import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { run } from '../helpers/net.js';
import { labScenario } from './scenario.js';

describe("lab scenario syn-flood: the victim's own ft (proc detector) applies SYN cookies + hashlimit in its namespace and rolls them back", function () {
  this.timeout(180_000);
  const prefix = `fts${randomBytes(3).toString('hex')}`;
  const lab = labScenario({
    name: 'syn-flood',
    labPrefix: prefix,
    env: { FT_LAB_FLOOD_SECONDS: '6' },
    commands: ['gobgpd', 'iptables-save', 'hping3', 'nginx', 'curl', 'timeout'],
  });
  const { step, at } = lab;

  it('classifies the flood as syn_flood and applies SYN cookies and a per-source hashlimit during it, HTTP still answering', () => {
    expect(step(/classified the attack as syn_flood/).ok, step(/classified/).detail).to.equal(true);
    expect(step(/applied SYN cookies/).ok, lab.stderr).to.equal(true);
    expect(step(/SYN cookies \(SYNPROXY\) and a per-source hashlimit/).ok, step(/SYNPROXY/).detail).to.equal(true);
    expect(step(/HTTP to 203\.0\.113\.10 still answers during/).ok).to.equal(true);
    expect(at('host rules applied in the victim')).to.be.below(at('attack end'));
  });

  it("rolls both rules back after the incident resolves, once each, and leaves nothing of ft in the victim's iptables", () => {
    expect(step(/rolled back after the incident resolved/).ok, step(/rolled back/).detail).to.equal(true);
    expect(step(/no flapping/).ok, step(/no flapping/).detail).to.equal(true);
    expect(at('incident resolved')).to.be.at.most(at('host rules rolled back'));
    expect(at('attack end')).to.be.below(at('host rules rolled back'));
    const lines = run(['ip', 'netns', 'exec', `${prefix}-victim`, 'iptables-save'])
      .stdout.split('\n')
      .filter((l) => /^-A FT-/.test(l));
    expect(lines).to.deep.equal([]);
    expect(lab.outcome?.ok, lab.stderr).to.equal(true);
  });
});
