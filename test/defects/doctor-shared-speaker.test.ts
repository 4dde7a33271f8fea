import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRule, Prefix, type FlowSpecRule } from '@ft/sdk';
import { GobgpAction, gobgpConfigSchema } from '@ft/bgp-gobgp';
import { isolatedHome, runFt } from '../helpers/cli.js';
import type { Daemon } from '../helpers/daemon.js';
import { startLocalGobgpd } from '../helpers/gobgpd.js';
import { requireLab } from '../helpers/env.js';

// Two ft installs on one gobgpd used to take each other's routes for their own. With the owner in the tag they
// leave each other alone; `ft doctor --policy` says when the speaker is shared (a real gobgpd).
describe('ft doctor --policy: a speaker shared with another ft install is a warning', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'ft-doctor-shared-'));
  const env = isolatedHome();
  let gobgpd: Daemon | undefined;
  let other: GobgpAction | undefined;
  before(function () {
    requireLab(this, { commands: ['gobgpd'] });
  });
  after(async () => {
    await other?.close();
    await gobgpd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("warns for the install that sees another tenant's ft routes, and not for the owner", async () => {
    const started = await startLocalGobgpd(dir);
    gobgpd = started.daemon;
    const socket = started.socket;
    // Install "a" (tenant isp-a) announces one rule.
    const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
    other = new GobgpAction(gobgpConfigSchema.parse({ address: `unix://${socket}`, tagAsn: 64500 }), {
      name: 'pop1',
      logger: silent,
      owner: { tenants: ['isp-a'], installId: '' },
      secret: () => {
        throw new Error('none');
      },
    });
    const dst = Prefix.parse('203.0.113.10/32');
    await other.apply(
      makeRule<FlowSpecRule>({
        kind: 'flowspec',
        tenant: 'isp-a',
        target: dst,
        level: 1,
        ttlSeconds: 300,
        match: { destination: dst, protocols: [1] },
        action: { type: 'discard' },
      }),
    );
    const policy = (tenant: string) => {
      const path = join(dir, `${tenant}.yaml`);
      writeFileSync(
        path,
        [
          'version: 1',
          `tenant: ${tenant}`,
          'asn: 64500',
          'defaults: { rpki: off }',
          'protect: [203.0.113.0/24]',
          `speakers: { pop1: { adapter: gobgp, address: "unix://${socket}" } }`,
          'escalation:',
          '  - { level: 1, when: { pps: ">10kpps" }, do: { flowspec: { then: discard } }, via: [pop1] }',
        ].join('\n'),
      );
      return path;
    };
    const doctor = async (path: string) => {
      const r = await runFt(['doctor', '--no-probe', '--json', '--policy', path], env);
      return (JSON.parse(r.stdout) as { checks: { id: string; status: string; summary: string }[] }).checks;
    };
    const b = await doctor(policy('isp-b'));
    const shared = b.find((c) => c.id === 'speaker.pop1.shared');
    expect(shared?.status, JSON.stringify(b)).to.equal('warn');
    expect(shared?.summary).to.equal(
      "pop1 (gobgp) is shared: 1 route(s) there carry another ft install's or tenant's tag (left alone by this one)",
    );
    const a = await doctor(policy('isp-a'));
    expect(a.find((c) => c.id === 'speaker.pop1.shared')).to.equal(undefined);
  });
});
