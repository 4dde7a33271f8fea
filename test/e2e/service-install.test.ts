import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { requireLab } from '../helpers/env.js';

interface Result {
  units: { name: string; path: string; text: string }[];
  capabilities: { capability: string; because: string[] }[];
}

const policy = (body: string) => `version: 1
tenant: svc
mode: enforce
defaults: { ttl: 5m, rpki: off }
protect: [203.0.113.0/24]
${body}`;

/** oclif wraps error lines at the terminal width and prefixes them with ›. */
const flat = (stderr: string) => stderr.replace(/›/g, ' ').replace(/\s+/g, ' ');
const line = (text: string, key: string) => text.split('\n').find((l) => l.startsWith(`${key}=`));

/** systemd-analyze verify exits 0 on most unit errors; what it prints is the verdict. */
function verify(file: string): string {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', timeout: 30_000 });
  return `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.trim() && !/Cannot add dependency job|network-online\.target/.test(l))
    .join('\n');
}

describe('ft service install: hardened systemd units that follow the policy', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'ft-svc-'));
  const env = isolatedHome();
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function install(name: string, body: string, extra: string[] = []): Promise<Result> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, body);
    const r = await runFt(['service', 'install', '--policy', file, '--dry-run', '--json', ...extra], env);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as Result;
  }

  it('gives iptables+nft on-node actions CAP_NET_ADMIN and CAP_NET_RAW only, a read-only system and one state directory', async () => {
    const r = await install(
      'host',
      policy(`nodeActions:
  fw: { adapter: nft }
onNode:
  - { when: { family: syn_flood }, do: [ { iptables: { synCookies: true } } ] }
  - { when: { family: udp_flood }, do: [ { fw: { rateLimit: 100/s } } ] }
`),
    );
    const run = r.units.find((u) => u.name === 'ft.service')!.text;
    expect(line(run, 'CapabilityBoundingSet')).to.equal('CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW');
    expect(line(run, 'AmbientCapabilities')).to.equal('AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW');
    expect(line(run, 'ProtectSystem')).to.equal('ProtectSystem=strict');
    expect(line(run, 'StateDirectory')).to.equal('StateDirectory=ft');
    expect(line(run, 'NoNewPrivileges')).to.equal('NoNewPrivileges=yes');
    expect(line(run, 'ExecStart')).to.match(/ run --policy \S+host\.yaml --state-dir \/var\/lib\/ft$/);
    // The unit runs `node bin/run.js`, so it passes the launcher's memory cap itself (the shebang does not apply).
    expect(line(run, 'ExecStart')).to.match(/^ExecStart=\S+node --max-semi-space-size=1 \S+\/bin\/run\.js run /);
    expect(r.units.map((u) => u.name)).to.deep.equal(['ft.service', 'ft-worker@.service']);
  });

  it('a BGP-only controller gets no capability at all; xdp adds CAP_BPF/CAP_SYS_ADMIN and /run/ft; a netns option adds CAP_SYS_ADMIN', async () => {
    const bgp = await install('bgp', readFileSync(join(ROOT, 'lab', 'policies', 'lab.yaml'), 'utf8'));
    expect(bgp.capabilities).to.deep.equal([]);
    expect(line(bgp.units[0]!.text, 'CapabilityBoundingSet')).to.equal('CapabilityBoundingSet=');
    expect(line(bgp.units[0]!.text, 'ProtectKernelTunables')).to.equal('ProtectKernelTunables=yes');

    const xdp = await install(
      'xdp',
      policy(`nodeActions:
  wan: { adapter: xdp, interface: eth0 }
  inner: { adapter: nft, netns: blue }
onNode:
  - { when: { family: udp_flood }, do: [ { wan: { dropTopSources: 50 } }, { inner: { rateLimit: 10/s } } ] }
`),
    ).catch((err: Error) => err);
    if (xdp instanceof Error) throw xdp;
    const caps = xdp.capabilities.map((c) => c.capability);
    expect(caps).to.include.members(['CAP_NET_ADMIN', 'CAP_BPF', 'CAP_SYS_ADMIN']);
    expect(xdp.capabilities.find((c) => c.capability === 'CAP_SYS_ADMIN')!.because).to.include('inner (netns blue)');
    expect(line(xdp.units[0]!.text, 'ReadWritePaths')).to.equal('ReadWritePaths=/run/ft');
  });

  it('the user unit is for preview mode only, runs with no capability, and an enforce policy is refused with the reason', async () => {
    const file = join(dir, 'enforce.yaml');
    writeFileSync(file, policy(''));
    const refused = await runFt(['service', 'install', '--user', '--policy', file, '--dry-run'], env);
    expect(refused.code).to.equal(2);
    expect(flat(refused.stderr)).to.match(
      /mode is enforce; the user unit runs without privileges and only in preview mode/,
    );

    const r = await install('quick', readFileSync(join(ROOT, 'policies', 'quickstart.yaml'), 'utf8'), ['--user']);
    expect(r.units.map((u) => u.name)).to.deep.equal(['ft-preview.service']);
    const text = r.units[0]!.text;
    expect(text).to.not.match(/Capabilit/);
    expect(line(text, 'ExecStart')).to.match(/ run --policy \S+quick\.yaml --state-dir %S\/ft$/);
    expect(line(text, 'WantedBy')).to.equal('WantedBy=default.target');
  });

  it('refuses a policy path systemd would split or expand, instead of writing a wrong ExecStart', async () => {
    const file = join(dir, 'with space.yaml');
    writeFileSync(file, policy(''));
    const r = await runFt(['service', 'install', '--policy', file, '--dry-run'], env);
    expect(r.code).to.equal(2);
    expect(flat(r.stderr)).to.match(/cannot put .*with space\.yaml.* in a unit's ExecStart/);
  });

  it('writes units that systemd-analyze verify accepts (and the check does catch a broken unit)', async function () {
    requireLab(this, { commands: ['systemd-analyze'] });
    const unitDir = join(dir, 'units');
    const file = join(dir, 'write.yaml');
    writeFileSync(
      file,
      policy(`onNode:
  - { when: { family: syn_flood }, do: [ { iptables: { synCookies: true } } ] }
`),
    );
    const r = await runFt(['service', 'install', '--policy', file, '--unit-dir', unitDir], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(verify(join(unitDir, 'ft.service'))).to.equal('');
    copyFileSync(join(unitDir, 'ft-worker@.service'), join(unitDir, 'ft-worker@ams1.service'));
    expect(verify(join(unitDir, 'ft-worker@ams1.service'))).to.equal('');
    const broken = readFileSync(join(unitDir, 'ft.service'), 'utf8').replace(
      'ProtectSystem=strict',
      'ProtectSystem=sideways',
    );
    writeFileSync(join(unitDir, 'broken.service'), broken);
    expect(verify(join(unitDir, 'broken.service'))).to.match(/ProtectSystem|protect system/i);
  });
});
