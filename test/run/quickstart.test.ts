import { expect } from 'chai';
import { join } from 'node:path';
import { ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { loadPolicy } from '../../core/policy/index.js';
import { detectorSpecsFromPolicy } from '../../core/run/daemon.js';

const QUICKSTART = join(ROOT, 'policies', 'quickstart.yaml');

describe('ft run --policy policies/quickstart.yaml (the README quickstart)', function () {
  this.timeout(60_000);

  it("watches this box through the policy's own proc detector, prints live per-target lines, touches no action, and exits 0", async () => {
    const env = isolatedHome();
    const stateDir = join(env.HOME as string, 'state');
    const r = await runFt(
      ['run', '--policy', QUICKSTART, '--duration', '3', '--watch', '--metrics', 'off', '--state-dir', stateDir],
      env,
    );
    expect(r.code, r.stderr).to.equal(0);
    // Live lines: "HH:MM:SS  TARGET  PPS BPS  baseline …  threshold 2kpps  STATE" — the quickstart's static threshold.
    const live = r.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d {2}\S+ .* threshold 2kpps/.test(l));
    expect(live.length, r.stdout).to.be.greaterThan(0);
    expect(r.stderr).to.match(/PREVIEW mode/);
    expect(r.stderr).to.not.match(/must be root|ECONNREFUSED|no detectors/);
    // Nothing installed: the store ft reads at exit holds no live rule.
    expect(r.stdout).to.match(/ft run stopped \(duration\); 0 rule\(s\) left live/);
  });
});

describe('ft run detectors', () => {
  it("come from the policy's detectors: section when --detectors is absent", async () => {
    const policy = await loadPolicy(QUICKSTART);
    const specs = detectorSpecsFromPolicy(policy);
    expect(specs).to.deep.equal([{ name: 'local', kind: 'proc', options: { interfaces: 'auto', address: 'auto' } }]);
  });
});
