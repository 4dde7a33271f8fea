import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, isolatedHome, runFt } from '../helpers/cli.js';

// Needs the built CLI: `npx tsc -b && npx oclif manifest`.
const QUICK = ['--policy', 'policies/quickstart.yaml'];
const DNS = ['--incident', 'policies/examples/incident-dns-amplification.json'];
const VRPS = ['--vrps', 'policies/examples/vrps.json'];
const NOW = ['--now', '2026-11-22T00:00:00Z'];
const tmp = () => mkdtempSync(join(tmpdir(), 'ft-plan-cli-'));

describe('ft mitigate preview', () => {
  it('the README job: the shipped policy and incident give a readable plan a network engineer can check', async () => {
    const r = await runFt(['mitigate', 'preview', ...QUICK, ...DNS, ...VRPS, ...NOW]);
    expect(r.code, r.stderr).to.equal(0);
    const out = r.stdout;
    expect(out).to.include(
      'incident inc-2041: udp_flood (vector dns) at 203.0.113.10/32, 1.24Gbps / 262kpps, severity high, open; inside protect 203.0.113.0/24',
    );
    expect(out).to.include('PLAN     2 to add, 0 to refresh, 0 to withdraw, 0 refused');
    expect(out).to.match(
      /^ADD {6}fs-[0-9a-f]{16} {2}FlowSpec {2}level 2 {2}ttl 5m, expires 2026-11-22T00:05:00Z unless refreshed$/m,
    );
    expect(out).to.include(
      'match    destination 203.0.113.10/32, protocol =17 (udp), source-port =53, packet-length >=512&<=65535',
    );
    expect(out).to.include('then     discard');
    expect(out).to.include('why      level 2 (FlowSpec discard): bps 1.24Gbps > 500Mbps');
    expect(out).to.include('via      edge-gobgp (gobgp @ams1)');
    expect(out).to.match(/rpki {5}allowed \(valid\): .*203\.0\.113\.0\/24.*AS64500/);
    expect(out).to.match(/^ADD {6}hf-[0-9a-f]{16} {2}on-node filter {2}on-node/m);
    expect(out).to.include('match    to 203.0.113.10/32 udp source-port =53');
    // Every ADD shows what will run, or says why it cannot.
    expect(out.match(/^ {9}runs {5}/gm)).to.have.length(2);
  });

  it('--json gives the same plan for machines', async () => {
    const r = await runFt(['mitigate', 'preview', ...QUICK, ...DNS, ...VRPS, ...NOW, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout);
    expect(j.plan.tenant).to.equal('example-hosting');
    expect(j.plan.mode).to.equal('preview');
    expect(
      j.plan.ops.map((o: { type: string; rule: { kind: string; target: string; level: number } }) => [
        o.type,
        o.rule.kind,
        o.rule.target,
        o.rule.level,
      ]),
    ).to.deep.equal([
      ['add', 'flowspec', '203.0.113.10/32', 2],
      ['add', 'host-filter', '203.0.113.10/32', 0],
    ]);
    expect(j.plan.ops[0].rule.match.sourcePorts).to.deep.equal([{ min: 53, max: 53 }]);
    expect(j.plan.ops[0].rpki.state).to.equal('valid');
    expect(j.incident.target).to.equal('203.0.113.10/32');
  });

  it('reads the incident from stdin with -i -', async () => {
    const body = JSON.stringify({
      target: '203.0.113.20',
      attack_family: 'syn_flood',
      severity: 'medium',
      peak_bps: 700e6,
      peak_pps: 1.4e6,
    });
    const r = await runFt(['mitigate', 'preview', ...QUICK, '-i', '-', ...VRPS, ...NOW], {}, body);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('match    destination 203.0.113.20/32, protocol =6 (tcp), tcp-flags syn&!ack');
  });

  it('--simulate what-ifs, IPv6 included', async () => {
    const r = await runFt([
      'mitigate',
      'preview',
      ...QUICK,
      '--simulate',
      'udp_flood 3Gbps to 2001:db8:100::10 vector=ntp',
      ...VRPS,
      ...NOW,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('announce 2001:db8:100::10/128 community 65535:666 64500:666 no-export');
    expect(r.stdout).to.include('rpki     allowed (loose valid, strict invalid)');
  });

  it('without --vrps, rpki: enforce refuses BGP announcements and says how to fix it', async () => {
    const r = await runFt(['mitigate', 'preview', ...QUICK, ...DNS, ...NOW]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('PLAN     1 to add, 0 to refresh, 0 to withdraw, 2 refused');
    expect(r.stdout).to.match(/^REFUSED {2}fs-[0-9a-f]{16} {2}FlowSpec {2}level 2$/m);
    expect(r.stdout).to.include('rail     rpki');
    expect(r.stdout).to.include('no RPKI data: pass --vrps or set rpki: warn/off');
  });

  it('a target outside protected space: the plan is refused whole, naming the rail', async () => {
    const r = await runFt([
      'mitigate',
      'preview',
      ...QUICK,
      '--simulate',
      'udp_flood 3Gbps to 198.51.100.10',
      ...VRPS,
      ...NOW,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('REFUSED  whole plan');
    expect(r.stdout).to.include('rail     outside-protect');
    expect(r.stdout).to.include('198.51.100.10/32 is outside protected space (203.0.113.0/24, 2001:db8:100::/48)');
  });

  it('--active shows refresh and withdraw against rules already live', async () => {
    const first = JSON.parse(
      (
        await runFt([
          'mitigate',
          'preview',
          ...QUICK,
          '--simulate',
          'udp_flood 300Mbps to 203.0.113.10',
          ...VRPS,
          ...NOW,
          '--json',
        ])
      ).stdout,
    );
    const active = first.plan.ops.map((o: { rule: unknown; via: string[] }) => ({
      rule: o.rule,
      via: o.via,
      appliedAt: '2026-11-21T23:55:00Z',
      expiresAt: '2026-11-22T00:01:00Z',
      incidentId: 'preview',
    }));
    const file = join(tmp(), 'active.json');
    writeFileSync(file, JSON.stringify(active));
    const same = await runFt([
      'mitigate',
      'preview',
      ...QUICK,
      '--simulate',
      'udp_flood 300Mbps to 203.0.113.10',
      '--active',
      file,
      ...VRPS,
      ...NOW,
    ]);
    expect(same.stdout).to.include('PLAN     0 to add, 1 to refresh, 0 to withdraw, 0 refused');
    const up = await runFt([
      'mitigate',
      'preview',
      ...QUICK,
      '--simulate',
      'udp_flood 900Mbps to 203.0.113.10',
      '--active',
      file,
      ...VRPS,
      ...NOW,
    ]);
    expect(up.stdout).to.include('PLAN     1 to add, 0 to refresh, 1 to withdraw, 0 refused');
    expect(up.stdout).to.include('why      superseded: escalated to level 2');
    // The withdrawal shows what the speaker will be told, like an add does: gobgp deleting the level-1 rate-limit.
    const withdraw = up.stdout.slice(up.stdout.indexOf('WITHDRAW'));
    expect(withdraw).to.match(
      /runs {5}gobgp: gobgp -u 127\.0\.0\.1 -p 50051 global rib -a ipv4-flowspec del match destination 203\.0\.113\.10\/32 .*then rate-limit 6250000 .*DeletePath/,
    );
  });

  it('bad input exits non-zero with where and why; nothing is planned', async () => {
    const bad = join(tmp(), 'bad.yaml');
    writeFileSync(
      bad,
      readFileSync(join(ROOT, 'policies', 'quickstart.yaml'), 'utf8').replace('rate: 50Mbps', 'rate: 50Mbsp'),
    );
    const r = await runFt(['mitigate', 'preview', '--policy', bad, ...DNS]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(
      new RegExp(`${bad}:\\d+:\\d+: escalation\\[0\\]\\.do\\.flowspec\\.rate: "50Mbsp" is not a bit rate`),
    );
    expect(r.stdout).to.equal('');
    const i = await runFt([
      'mitigate',
      'preview',
      ...QUICK,
      '--simulate',
      'udp_flood 3Gbps to 203.0.113.10 vector=quake',
    ]);
    expect(i.code).to.equal(2);
    expect(i.stderr).to.include('"quake" is not a known amplification vector');
  });
});

describe('ft policy validate | schema | explain', () => {
  it('validate: a good policy exits 0; a bad one exits 1 listing every problem with file:line:column', async () => {
    const ok = await runFt(['policy', 'validate', 'policies/examples/isp-two-pops.yaml']);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.include('policies/examples/isp-two-pops.yaml: valid');
    const bad = join(tmp(), 'bad.yaml');
    writeFileSync(bad, 'version: 1\ntenant: t\nmode: enforcee\ndefaults: { ttl: 5mins }\nprotect: [203.0.113.0/24]\n');
    const r = await runFt(['policy', 'validate', bad]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(`${bad}:3:7: mode: expected one of "enforce", "preview", got "enforcee"`);
    expect(r.stderr).to.include(`${bad}:4:18: defaults.ttl: "5mins" is not a duration like 300s, 5m or 1h`);
    expect(r.stderr).to.include(`${bad}: 2 problems`);
    const j = await runFt(['policy', 'validate', bad, '--json']);
    expect(j.code).to.equal(1);
    expect(JSON.parse(j.stdout).issues).to.have.length(2);
  });

  it('every shipped policy is valid against the adapters installed here', async () => {
    for (const f of [
      'default.yaml',
      'quickstart.yaml',
      'examples/hosting-provider.yaml',
      'examples/isp-two-pops.yaml',
      'examples/game-host.yaml',
    ]) {
      const r = await runFt(['policy', 'validate', `policies/${f}`]);
      expect(r.code, `${f}: ${r.stderr}`).to.equal(0);
    }
  });

  it('validate checks adapter options with the installed plugin schemas (gobgp here)', async () => {
    const bad = join(tmp(), 'bad.yaml');
    writeFileSync(
      bad,
      readFileSync(join(ROOT, 'policies', 'quickstart.yaml'), 'utf8').replace(
        'address: 127.0.0.1:50051',
        'adress: 127.0.0.1:50051',
      ),
    );
    const r = await runFt(['policy', 'validate', bad]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/:\d+:\d+: speakers\.edge-gobgp\.adress: unknown key "adress": did you mean "address"\?/);
  });

  it('schema prints exactly the checked-in policies/policy.schema.json', async () => {
    const r = await runFt(['policy', 'schema']);
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal(
      JSON.parse(readFileSync(join(ROOT, 'policies', 'policy.schema.json'), 'utf8')),
    );
  });

  it('explain says what happens at each level for each target', async () => {
    const r = await runFt(['policy', 'explain', 'policies/examples/game-host.yaml']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('game-servers 203.0.113.64/26 (tenant gamehost)');
    expect(r.stdout).to.include('  level 3  when bps > 4Gbps: never: game-servers is capped at level 2');
    expect(r.stdout).to.include('  level 1  when bps > 150Mbps (own threshold): FlowSpec rate-limit to 100Mbps');
  });
});

describe('preview renders through installed plugins', () => {
  it("a linked third-party action's render() output appears as the exact command", async () => {
    const env = isolatedHome();
    const link = await runFt(
      ['plugins', 'link', join(ROOT, 'test', 'fixtures', 'plugin-template'), '--no-install'],
      env,
    );
    expect(link.code, link.stderr).to.equal(0);
    const dir = tmp();
    const policy = join(dir, 'p.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: t
protect: [203.0.113.0/24]
nodeActions:
  rec: { adapter: record-file, file: ${join(dir, 'rules.json')} }
onNode:
  - when: { vector: dns }
    do: [ { rec: { dropUdpSourcePorts: auto } } ]
`,
    );
    const r = await runFt(
      ['mitigate', 'preview', '--policy', policy, '--simulate', 'udp_flood 1Gbps to 203.0.113.10 vector=dns'],
      env,
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/runs {5}rec: record host-filter hf-[0-9a-f]{16} 203\.0\.113\.10\/32/);
    // Preview renders, it never applies: the plugin wrote nothing.
    expect(() => readFileSync(join(dir, 'rules.json'))).to.throw();
  });
});
