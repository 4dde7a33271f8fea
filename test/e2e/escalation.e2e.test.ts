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
  edgeStates: string[];
}

describe('lab scenarios escalation and crash: rate-limit → discard → RTBH on an FRR edge and back; kill -9 and reconcile', function () {
  this.timeout(300_000);
  const prefix = `ftx${randomBytes(3).toString('hex')}`;
  const home = mkdtempSync(join(tmpdir(), 'ft-e2e-esc-'));
  const env = { FT_LAB_PREFIX: prefix, FT_LAB_DIR: join(home, 'lab') };

  before(async function () {
    requireLab(this, {
      root: true,
      commands: [
        'gobgpd',
        'stayrtr',
        'pmacctd',
        'vtysh',
        '/usr/lib/frr/zebra',
        '/usr/lib/frr/bgpd',
        '/usr/lib/frr/staticd',
        'nft',
        'hping3',
        'timeout',
      ],
    });
    const up = await runFt(['lab', 'up', '--json'], env);
    expect(up.code, up.stderr).to.equal(0);
  });

  after(async () => {
    await runFt(['lab', 'down'], env);
    rmSync(home, { recursive: true, force: true });
  });

  const scenario = async (name: string): Promise<{ outcome: Outcome; stderr: string }> => {
    const r = await runFt(['lab', 'scenario', name, '--json'], env);
    const outcome = JSON.parse(r.stdout) as Outcome;
    expect(outcome.steps, `${r.stdout}\n${r.stderr}`).to.be.an('array');
    return { outcome, stderr: r.stderr };
  };
  const failed = (o: Outcome) => o.steps.filter((s) => !s.ok);
  // The victim's route in the FRR edge's kernel (FRR's own discard next hop 192.0.2.66 is a blackhole too: not this).
  const blackholes = () =>
    run(['ip', 'netns', 'exec', `${prefix}-edge-frr`, 'ip', 'route', 'show', '203.0.113.10/32'], {
      allowFail: true,
    }).stdout.trim();

  it('walks up the levels as the flood grows, the FRR edge blackholes the victim at level 3, and it all comes down after', async () => {
    const { outcome, stderr } = await scenario('escalation');
    expect(failed(outcome), stderr).to.deep.equal([]);
    // What the edges showed, in order: FlowSpec rate-limit, then discard, then the RTBH blackhole; then none.
    const firsts = ['rate-limit', 'discard'].map((s) => outcome.edgeStates.indexOf(s));
    expect(firsts[0]).to.be.greaterThan(0);
    expect(firsts[1]).to.be.greaterThan(firsts[0]!);
    expect(outcome.edgeStates.findIndex((s) => s.endsWith('+rtbh'))).to.be.greaterThan(firsts[1]!);
    expect(outcome.edgeStates[outcome.edgeStates.length - 1]).to.equal('none');
    expect(blackholes()).to.equal('');
    expect(outcome.ok).to.equal(true);
  });

  it('after kill -9 during RTBH, the restarted ft reconciles to exactly the live rules and the end is clean', async () => {
    const { outcome, stderr } = await scenario('crash');
    expect(failed(outcome), stderr).to.deep.equal([]);
    expect(outcome.steps.find((s) => /holds exactly the rules/.test(s.step))?.ok).to.equal(true);
    expect(blackholes()).to.equal('');
    expect(outcome.ok).to.equal(true);
  });
});
