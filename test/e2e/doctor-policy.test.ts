import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedHome, runFt } from '../helpers/cli.js';
import type { Daemon } from '../helpers/daemon.js';
import { startLocalGobgpd } from '../helpers/gobgpd.js';
import { requireLab } from '../helpers/env.js';
import { Stayrtr } from '../rpki/stayrtr.js';

interface Report {
  ok: boolean;
  checks: { group: string; id: string; status: string; summary: string }[];
}

describe('ft doctor --policy: the policy is valid, its speakers answer, an RTR cache is synced', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'ft-doctor-policy-'));
  const env = isolatedHome();
  let gobgpd: Daemon | undefined;
  let rtr: Stayrtr | undefined;

  before(function () {
    requireLab(this, { commands: ['gobgpd', 'stayrtr'] });
  });
  after(async () => {
    await gobgpd?.stop();
    await rtr?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const doctor = async (policy: string): Promise<{ code: number; report: Report }> => {
    const r = await runFt(['doctor', '--no-probe', '--json', '--policy', policy], env);
    return { code: r.code ?? 1, report: JSON.parse(r.stdout) as Report };
  };
  const check = (report: Report, id: string) => report.checks.find((c) => c.id === id);

  it('reports each one ok while gobgpd and stayrtr run, and FAIL with the reason once they are gone', async () => {
    // A gobgpd with its API on a Unix socket and no BGP listener; a stayrtr holding one ROA, on loopback.
    const started = await startLocalGobgpd(dir);
    gobgpd = started.daemon;
    const socket = started.socket;
    rtr = await Stayrtr.start([{ prefix: '203.0.113.0/24', maxLength: 24, asn: 64500 }]);
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: doc
mode: enforce
asn: 64500
defaults: { ttl: 5m, rpki: enforce }
rpki: { caches: ["127.0.0.1:${rtr.port}"] }
protect: [203.0.113.0/24]
speakers:
  pop1: { adapter: gobgp, address: "unix://${socket}", pop: ams1 }
escalation:
  - { level: 1, when: { pps: ">10kpps" }, do: { flowspec: { then: discard } }, via: [pop1] }
`,
    );
    const good = await doctor(policy);
    expect(check(good.report, 'policy.valid')?.status).to.equal('ok');
    // Reachable, but a speaker with no BGP neighbor announces to nobody: a warning, not a failure.
    expect(check(good.report, 'speaker.pop1')?.status, check(good.report, 'speaker.pop1')?.summary).to.equal('warn');
    expect(check(good.report, 'speaker.pop1')?.summary).to.match(/^pop1 \(gobgp, pop ams1\): degraded: .*no neighbors/);
    expect(check(good.report, 'rpki.synced')?.status, check(good.report, 'rpki.synced')?.summary).to.equal('ok');
    expect(check(good.report, 'rpki.synced')?.summary).to.match(/synced: session \d+, serial \d+, 1 VRPs/);
    expect(
      good.report.checks.filter((c) => ['policy', 'speaker', 'rpki'].includes(c.group) && c.status === 'fail'),
    ).to.deep.equal([]);

    await gobgpd.stop();
    await rtr.stop();
    const bad = await doctor(policy);
    expect(bad.code).to.equal(1);
    expect(bad.report.ok).to.equal(false);
    expect(check(bad.report, 'speaker.pop1')?.status).to.equal('fail');
    expect(check(bad.report, 'speaker.pop1')?.summary).to.match(
      /^pop1 \(gobgp, pop ams1\): .*(ENOENT|ECONNREFUSED|No connection)/,
    );
    expect(check(bad.report, 'rpki.synced')?.status).to.equal('fail');
    expect(check(bad.report, 'rpki.synced')?.summary).to.match(new RegExp(`127\\.0\\.0\\.1:${rtr.port}`));
  });

  it('a broken policy is one FAIL line naming where, and no speaker or RTR line is attempted', async () => {
    const policy = join(dir, 'broken.yaml');
    writeFileSync(
      policy,
      'version: 1\ntenant: doc\nmode: enforce\nprotect: [203.0.113.0/24]\nescalation:\n  - { level: 1, when: { pps: ">10kpps" }, do: { flowspec: { then: discard } }, via: [nowhere] }\n',
    );
    const { code, report } = await doctor(policy);
    expect(code).to.equal(1);
    expect(check(report, 'policy.valid')?.status).to.equal('fail');
    expect(check(report, 'policy.valid')?.summary).to.match(/broken\.yaml.*nowhere/);
    expect(report.checks.filter((c) => c.group === 'speaker' || c.group === 'rpki')).to.deep.equal([]);
  });
});
