import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isolatedHome, runFt } from '../../../test/helpers/cli.js';
import type { Daemon } from '../../../test/helpers/daemon.js';
import { requireLab } from '../../../test/helpers/env.js';
import { makeLab, taggedFor, type PeerLab } from './peer-lab.js';
import { exabgpConf, startExabgp, stopAll } from './speakers.js';

// The adapter as a user drives it: a policy names an ExaBGP speaker, `ft mitigate apply` announces a hand-written
// FlowSpec rule through it, `ft mitigate withdraw` takes it back; the peer's RIB is the judge.
describe('ft mitigate apply/withdraw through the exabgp adapter', function () {
  this.timeout(60_000);
  let lab: PeerLab;
  let daemons: Daemon[] = [];
  let policy: string;
  let env: Record<string, string>;

  before(async function () {
    requireLab(this, { root: true, commands: ['exabgp', 'gobgpd', 'gobgp', 'ip'] });
    lab = await makeLab('exacli', { speakerAs: 64500, peerAs: 64501 });
    const socket = join(lab.dir, 'ft.sock');
    const conf = join(lab.dir, 'exabgp.conf');
    writeFileSync(conf, exabgpConf(socket, { local: 64500, peer: 64501 }));
    daemons = [startExabgp(lab, conf)];
    await lab.gobgp.waitEstablished();
    policy = join(lab.dir, 'policy.yaml');
    writeFileSync(
      policy,
      [
        'version: 1',
        'tenant: lab',
        'mode: enforce',
        'asn: 64500',
        'defaults: { ttl: 5m, maxRules: 200, rpki: enforce }',
        'protect: [203.0.113.0/24, 2001:db8:100::/48]',
        'speakers:',
        `  pop1-exabgp: { adapter: exabgp, socket: ${socket}, tagAsn: 64500 }`,
        'escalation:',
        '  - { level: 1, when: { bps: ">500Mbps" }, do: { flowspec: { then: discard } }, via: [pop1-exabgp] }',
        '',
      ].join('\n'),
    );
    env = isolatedHome();
  });

  after(async () => {
    await stopAll(daemons);
    await lab?.cleanup();
  });

  it('announces the rule to the peer and withdraws it by id', async () => {
    const rule = {
      kind: 'flowspec',
      target: '203.0.113.10/32',
      match: { destination: '203.0.113.10/32', protocols: [17], sourcePorts: [{ min: 53, max: 53 }] },
      action: { type: 'discard' },
    };
    const state = join(lab.dir, 'state');
    const vrps = join(lab.dir, 'vrps.json');
    writeFileSync(vrps, JSON.stringify({ roas: [{ prefix: '203.0.113.0/24', maxLength: 24, asn: 'AS64500' }] }));
    const applied = await runFt(
      [
        'mitigate',
        'apply',
        '-p',
        policy,
        '--rule',
        '-',
        '--via',
        'pop1-exabgp',
        '--vrps',
        vrps,
        '--state-dir',
        state,
        '--yes',
        '--json',
      ],
      env,
      JSON.stringify(rule),
    );
    expect(applied.code, applied.stderr + applied.stdout).to.equal(0);
    const id = /"(fs-[0-9a-f]{16})"/.exec(applied.stdout)?.[1];
    expect(id, applied.stdout).to.be.a('string');
    const seen = await lab.gobgp.waitFor(
      'ipv4-flowspec',
      (ps) => ps.find(taggedFor(64500, id as string)),
      'the rule ft mitigate apply announced',
    );
    expect(seen.key).to.include('[destination: 203.0.113.10/32]').and.to.include('[source-port: ==53]');

    const withdrawn = await runFt(
      ['mitigate', 'withdraw', '-p', policy, id as string, '--state-dir', state, '--json'],
      env,
    );
    expect(withdrawn.code, withdrawn.stderr + withdrawn.stdout).to.equal(0);
    await lab.gobgp.waitGone('ipv4-flowspec', taggedFor(64500, id as string), 'the rule after ft mitigate withdraw');
  });
});
