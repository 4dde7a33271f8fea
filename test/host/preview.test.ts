import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFt } from '../helpers/cli.js';

function policy(nodeActions: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ft-host-policy-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(
    file,
    [
      'version: 1',
      'tenant: host-test',
      'protect: [203.0.113.0/24]',
      'nodeActions:',
      nodeActions,
      'onNode:',
      '  - when: { family: syn_flood }',
      '    do:',
      '      - iptables: { synCookies: true }',
      '      - iptables: { hashlimit: 200/s, per: source }',
      '  - when: { vector: [dns, ntp] }',
      '    do: [ { fw: { dropUdpSourcePorts: auto } } ]',
      '',
    ].join('\n'),
  );
  return file;
}

/** The planner's on-node rules, rendered by this plugin, as an operator sees them before anything runs. */
describe('on-node kinds through the policy and ft mitigate preview', function () {
  this.timeout(30_000);

  it('a DNS amplification: one nft transaction in the table the policy names', async () => {
    const r = await runFt([
      'mitigate',
      'preview',
      '-p',
      policy('  fw: { adapter: nft, table: edge }'),
      '--simulate',
      'udp_flood 60Mbps to 203.0.113.10 vector=dns',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/runs\s+nft: nft -f - <<'EOF'/);
    expect(r.stdout).to.match(
      /add rule inet edge r_hf_[0-9a-f]{16} ip daddr 203\.0\.113\.10\/32 meta l4proto udp udp sport \{ 53 \} counter drop/,
    );
    expect(r.stdout).to.match(/add rule inet edge input counter jump r_hf_[0-9a-f]{16} comment "ft:hf-[0-9a-f]{16}"/);
  });

  it('a SYN flood: SYNPROXY and a per-source hashlimit in ft-owned iptables chains', async () => {
    const r = await runFt([
      'mitigate',
      'preview',
      '-p',
      policy('  fw: { adapter: nft }'),
      '--simulate',
      'syn_flood 30Mbps 50kpps to 203.0.113.10',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/-j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460/);
    expect(r.stdout).to.match(/-m hashlimit --hashlimit-above 200\/sec --hashlimit-burst \d+ --hashlimit-mode srcip/);
    expect(r.stdout).to.match(/-I INPUT 1 -m comment --comment ft -j FT-INPUT/);
  });

  it('a mistyped or hostile option of a host kind is a policy error before anything runs', async () => {
    const typo = await runFt(['policy', 'validate', policy('  fw: { adapter: nft, tabel: edge }')]);
    expect(typo.code).to.not.equal(0);
    expect(typo.stdout + typo.stderr).to.match(/tabel/);
    const hostile = await runFt(['policy', 'validate', policy('  fw: { adapter: nft, netns: "x; reboot" }')]);
    expect(hostile.code).to.not.equal(0);
    expect(hostile.stdout + hostile.stderr).to.match(/netns/);
  });
});
