import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFt } from '../helpers/cli.js';

// Block lists (an escalation level's `block` through a vendor filter, and on-node dropTopSources) took the
// incident's top sources as they came: bogons (0.0.0.0, 127/8, 10/8, 169.254/16, multicast, ...) went zone-wide to
// vendor filters, and on-node rules blocked our own protected space. And a 40,000-source incident took minutes
// to preview (it was quadratic in the sources).
const dir = mkdtempSync(join(tmpdir(), 'ft-block-sources-'));
// Two policies: one blocks at a vendor filter (level 1), one on this host (level 0). (In one policy the two rules
// can have the same content, so the same id: the planner merges them; not what this test is about.)
const HEAD = ['version: 1', 'tenant: t', 'asn: 64500', 'defaults: { rpki: off }'];
const SPACE = ['protect: [203.0.113.0/24, 2001:db8:100::/48]', 'neverTarget: [203.0.113.53/32]'];
const policies = {
  filter: join(dir, 'filter.yaml'),
  host: join(dir, 'host.yaml'),
  both: join(dir, 'both.yaml'),
};
const FILTER = [
  'filters:',
  '  cf: { adapter: cloudflare-waf, zoneId: 0123456789abcdef0123456789abcdef, apiToken: FT_CF_TOKEN }',
  'escalation:',
  '  - { level: 1, when: { bps: ">100Mbps" }, do: { block: { count: 1000 } }, via: [cf] }',
];
const onNode = (count: number) => [
  'onNode:',
  `  - { when: { pps: ">1kpps" }, do: [ { nft: { dropTopSources: ${count} } } ] }`,
];
writeFileSync(policies.filter, [...HEAD, ...SPACE, ...FILTER].join('\n'));
writeFileSync(policies.both, [...HEAD, ...SPACE, ...FILTER, ...onNode(999)].join('\n'));
writeFileSync(policies.host, [...HEAD, ...SPACE, ...onNode(1000)].join('\n'));

interface Preview {
  plan: { ops: { rule: { kind: string; level: number; match: { sources?: string[] } } }[]; notes: string[] };
}
async function preview(which: keyof typeof policies, target: string, ips: string[]): Promise<Preview> {
  const incident = join(dir, `incident-${ips.length}.json`);
  writeFileSync(
    incident,
    JSON.stringify({
      target,
      attack_family: 'udp_flood',
      severity: 'high',
      bps: 3e9,
      pps: 1e6,
      top_src_ips: ips.map((ip, i) => ({ ip, count: ips.length * 10 - i })),
    }),
  );
  const r = await runFt(['mitigate', 'preview', '-p', policies[which], '-i', incident, '--json']);
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as Preview;
}
const sourcesOf = (p: Preview) => p.plan.ops.find((o) => o.rule.kind === 'host-filter')?.rule.match.sources;

describe('block lists never carry a bogon, a protected or a never-target source', function () {
  this.timeout(30_000);

  it('IPv4: 0.0.0.0, 10/8, 100.64/10, 127/8, 169.254/16, multicast, 240/4 and our own space are left out', async () => {
    const bogons = [
      '0.0.0.0',
      '10.1.2.3',
      '100.64.0.1',
      '127.0.0.1',
      '169.254.1.1',
      '224.0.0.5',
      '240.0.0.1',
      '192.168.1.1',
    ];
    const ips = ['198.51.100.7', ...bogons, '203.0.113.99', '203.0.113.53', '198.51.100.8'];
    const filter = await preview('filter', '203.0.113.10', ips);
    const host = await preview('host', '203.0.113.10', ips);
    expect(sourcesOf(filter), 'the filter block').to.deep.equal(['198.51.100.7/32', '198.51.100.8/32']);
    expect(sourcesOf(host), 'dropTopSources').to.deep.equal(['198.51.100.7/32', '198.51.100.8/32']);
    expect(filter.plan.notes).to.include(
      'block spares 0.0.0.0/32, 10.1.2.3/32, 100.64.0.1/32, 127.0.0.1/32, 169.254.1.1/32 and 3 more: bogon space, no real host sends from it',
    );
    expect(host.plan.notes).to.include(
      'dropTopSources spares 203.0.113.99/32, 203.0.113.53/32: inside protect or never-target',
    );
  });

  it('IPv6: ::1, link-local, unique local, multicast are left out', async () => {
    const ips = ['::1', 'fe80::1', 'fc00::5', 'ff02::1', '2001:db8:bad::7', '2001:db8:100::99'];
    expect(sourcesOf(await preview('filter', '2001:db8:100::10', ips))).to.deep.equal(['2001:db8:bad::7/128']);
    expect(sourcesOf(await preview('host', '2001:db8:100::10', ips))).to.deep.equal(['2001:db8:bad::7/128']);
  });

  it('a 40,000-source incident previews in linear time (it took 92 s), blocking the busiest 1,000', async () => {
    const ips = Array.from({ length: 40_000 }, (_, i) => `198.${51 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    const p = await preview('both', '203.0.113.10', ips);
    const lengths = p.plan.ops.map((o) => o.rule.match.sources?.length).sort();
    expect(lengths).to.deep.equal([1000, 999]);
  });
});
