import { expect } from 'chai';
import { runDoctor, type DoctorCheck } from '../../core/doctor/checks.js';
import { requireLab } from '../helpers/env.js';
import { runFt } from '../helpers/cli.js';

interface Report {
  ok: boolean;
  checks: { group: string; id: string; status: string; summary: string; hint?: string }[];
}

describe('ft doctor', function () {
  this.timeout(60_000);

  before(function () {
    requireLab(this, { root: true, commands: ['ip', 'nft', 'ipset', 'iptables-restore', 'tc', 'xdp-filter'] });
  });

  it('probes every on-node mechanism in a throwaway namespace and leaves no namespace or mount behind', async () => {
    const netnsBefore = (await import('node:child_process')).spawnSync('ip', ['netns', 'list'], {
      encoding: 'utf8',
    }).stdout;
    const r = await runFt(['doctor', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as Report;
    const byId = new Map(report.checks.map((c) => [c.id, c]));
    for (const id of [
      'kernel.nft',
      'kernel.nft-sets',
      'kernel.nft-meters',
      'kernel.iptables-hashlimit',
      'kernel.iptables-synproxy',
      'kernel.ipset',
      'kernel.tc',
      'kernel.nullroute',
    ]) {
      expect(byId.get(id)?.status, `${id}: ${byId.get(id)?.summary}`).to.equal('ok');
    }
    // XDP: native or generic, but a definite answer either way.
    expect(byId.get('kernel.xdp')?.summary).to.match(/^XDP: /);
    expect(byId.get('tool.nft')?.summary).to.match(/^nft: nftables v\d/);
    expect(byId.get('firewall.manager')?.status).to.be.oneOf(['ok', 'warn']);
    const netnsAfter = (await import('node:child_process')).spawnSync('ip', ['netns', 'list'], {
      encoding: 'utf8',
    }).stdout;
    expect(netnsAfter.split('\n').filter((l) => l.startsWith('ft-doctor-'))).to.deep.equal(
      netnsBefore.split('\n').filter((l) => l.startsWith('ft-doctor-')),
    );
    expect((await import('node:fs')).readFileSync('/proc/self/mountinfo', 'utf8')).to.not.contain('ft-doctor-bpffs');
  });

  it('names a missing tool with the package that provides it, one line each', async () => {
    // A PATH without the sbin directories: every firewall tool is "missing" to ft.
    const r = await runFt(['doctor', '--no-probe'], { PATH: '/nonexistent' });
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^WARN\s+host\s+nft not installed: kind nft unavailable$/m);
    expect(r.stdout).to.match(/→ apt-get install nftables$/m);
    expect(r.stdout).to.match(/^skip\s+host\s+firewall-cmd not installed/m);
    expect(r.stdout).to.match(/^skip\s+kernel\s+kernel feature probes skipped \(--no-probe\)$/m);
  });

  it('a check that throws is reported as a failure of that check; the others still run', async () => {
    const broken: DoctorCheck = {
      group: 'bgp',
      run: async () => {
        throw new Error('speaker pop1 unreachable');
      },
    };
    const fine: DoctorCheck = {
      group: 'rpki',
      run: async () => [{ id: 'rpki.sync', status: 'ok', summary: 'synced' }],
    };
    const report = await runDoctor({ probe: false }, [broken, fine]);
    expect(report.ok).to.equal(false);
    expect(report.checks).to.deep.equal([
      { group: 'bgp', id: 'bgp.error', status: 'fail', summary: 'check failed to run: speaker pop1 unreachable' },
      { group: 'rpki', id: 'rpki.sync', status: 'ok', summary: 'synced' },
    ]);
  });
});
