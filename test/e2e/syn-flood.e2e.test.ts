import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFt } from '../helpers/cli.js';
import { requireLab } from '../helpers/env.js';
import { run } from '../helpers/net.js';

interface Outcome {
  ok: boolean;
  steps: { step: string; ok: boolean; detail?: string }[];
  timeline: { event: string; at: string }[];
}

describe('lab scenario syn-flood: the victim\'s own ft (proc detector) applies SYN cookies + hashlimit in its namespace and rolls them back', function () {
  this.timeout(180_000);
  const prefix = `fts${randomBytes(3).toString('hex')}`;
  const home = mkdtempSync(join(tmpdir(), 'ft-e2e-syn-'));
  const env = { FT_LAB_PREFIX: prefix, FT_LAB_DIR: join(home, 'lab'), FT_LAB_FLOOD_SECONDS: '6' };
  let outcome: Outcome | undefined;
  let stderr = '';

  before(async function () {
    requireLab(this, { root: true, commands: ['gobgpd', 'iptables-save', 'hping3', 'nginx', 'curl', 'timeout'] });
    const up = await runFt(['lab', 'up', '--json'], env);
    expect(up.code, up.stderr).to.equal(0);
    const scenario = await runFt(['lab', 'scenario', 'syn-flood', '--json'], env);
    stderr = scenario.stderr;
    outcome = JSON.parse(scenario.stdout) as Outcome;
  });

  after(async () => {
    await runFt(['lab', 'down'], env);
    rmSync(home, { recursive: true, force: true });
  });

  const step = (re: RegExp) => {
    const s = outcome?.steps.find((x) => re.test(x.step));
    expect(s, `no step matching ${re} in\n${stderr}`).to.not.equal(undefined);
    return s!;
  };
  const at = (event: string) => {
    const t = outcome?.timeline.find((x) => x.event === event);
    expect(t, `timeline has no "${event}": ${JSON.stringify(outcome?.timeline)}`).to.not.equal(undefined);
    return Date.parse(t!.at);
  };

  it('classifies the flood as syn_flood and applies SYN cookies and a per-source hashlimit during it, HTTP still answering', () => {
    expect(step(/classified the attack as syn_flood/).ok, step(/classified/).detail).to.equal(true);
    expect(step(/applied SYN cookies/).ok, stderr).to.equal(true);
    expect(step(/SYN cookies \(SYNPROXY\) and a per-source hashlimit/).ok, step(/SYNPROXY/).detail).to.equal(true);
    expect(step(/HTTP to 203\.0\.113\.10 still answers during/).ok).to.equal(true);
    expect(at('host rules applied in the victim')).to.be.below(at('attack end'));
  });

  it('rolls both rules back after the incident resolves, once each, and leaves nothing of ft in the victim\'s iptables', () => {
    expect(step(/rolled back after the incident resolved/).ok, step(/rolled back/).detail).to.equal(true);
    expect(step(/no flapping/).ok, step(/no flapping/).detail).to.equal(true);
    expect(at('incident resolved')).to.be.at.most(at('host rules rolled back'));
    expect(at('attack end')).to.be.below(at('host rules rolled back'));
    const lines = run(['ip', 'netns', 'exec', `${prefix}-victim`, 'iptables-save']).stdout.split('\n').filter((l) => /^-A FT-/.test(l));
    expect(lines).to.deep.equal([]);
    expect(outcome?.ok, stderr).to.equal(true);
  });
});
