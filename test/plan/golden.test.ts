import { expect } from 'chai';
import { Prefix, makeRule, type Rule } from '@ft/sdk';
import type { Incident } from '../../core/model/incident.js';
import type { Plan } from '../../core/model/plan.js';
import type { RpkiVerdictProvider } from '../../core/model/rpki.js';
import { plan, rpkiNoData } from '../../core/plan/index.js';
import { loadPolicy } from '../../core/policy/index.js';
import { createVerdictProvider, loadVrpFile } from '../../core/rpki/index.js';
import { NOW, incident } from './helpers.js';

/**
 * Golden plans for the shipped policies. Every expectation below was worked out by hand from the policy text and
 * policies/examples/vrps.json (which level's trigger holds, which match the attack gives, which ROA covers what),
 * not captured from the planner. Rule ids come from @ft/sdk's makeRule over the hand-written content.
 */

const P = (s: string) => Prefix.parse(s);
const j = (v: unknown) => JSON.parse(JSON.stringify(v));

type Expected = { type: 'add' | 'refresh' | 'withdraw'; via: string[]; rule: Rule; rpki?: string };

function expectPlan(
  got: Plan,
  ops: Expected[],
  refused: { rail: string; kind?: string; message?: RegExp }[] = [],
): void {
  expect(
    got.ops.map((o) => ({ type: o.type, via: o.via, rule: j(o.rule), ...(o.rpki ? { rpki: o.rpki.state } : {}) })),
  ).to.deep.equal(ops.map((o) => ({ type: o.type, via: o.via, rule: j(o.rule), ...(o.rpki ? { rpki: o.rpki } : {}) })));
  expect(got.refused.map((r) => ({ rail: r.rail, kind: r.rule?.kind }))).to.deep.equal(
    refused.map((r) => ({ rail: r.rail, kind: r.kind })),
  );
  refused.forEach((r, i) => r.message && expect(got.refused[i]?.message).to.match(r.message));
}

let vrps: RpkiVerdictProvider;
before(async () => {
  vrps = createVerdictProvider({ table: await loadVrpFile('policies/examples/vrps.json'), now: () => NOW.getTime() });
});

const run = async (file: string, inc: Incident, rpki?: RpkiVerdictProvider) =>
  plan({ policy: await loadPolicy(`policies/${file}`), incident: inc, active: [], now: NOW, rpki: rpki ?? vrps });

describe('golden plans: policies/quickstart.yaml', () => {
  const tenant = 'example-hosting';

  it('the shipped DNS amplification (1.24 Gbps at 203.0.113.10): level 2 FlowSpec discard of large UDP/53 answers, and an on-node drop of UDP/53', async () => {
    const { parseIncident } = await import('../../core/plan/index.js');
    const { readFile } = await import('node:fs/promises');
    const inc = parseIncident(
      JSON.parse(await readFile('policies/examples/incident-dns-amplification.json', 'utf8')),
      'x',
      NOW,
    );
    const got = await run('quickstart.yaml', inc);
    const dst = P('203.0.113.10/32');
    expectPlan(got, [
      {
        type: 'add',
        via: ['edge-gobgp'],
        rpki: 'valid',
        rule: makeRule({
          kind: 'flowspec',
          tenant,
          target: dst,
          level: 2,
          ttlSeconds: 300,
          action: { type: 'discard' },
          match: {
            destination: dst,
            protocols: [17],
            sourcePorts: [{ min: 53, max: 53 }],
            packetLength: [{ min: 512, max: 65535 }],
          },
        }),
      },
      {
        type: 'add',
        via: ['nft'],
        rule: makeRule({
          kind: 'host-filter',
          tenant,
          target: dst,
          level: 0,
          ttlSeconds: 300,
          action: { type: 'drop' },
          match: { destination: dst, protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] },
        }),
      },
    ]);
    expect(got.ops[0]?.reason.summary).to.equal('level 2 (FlowSpec discard): bps 1.24Gbps > 500Mbps');
  });

  it('a 3 Gbps SYN flood at an IPv6 host: RTBH of the /128 (loosely Valid under the /48 ROA), SYN cookies and hashlimit on the node', async () => {
    const got = await run(
      'quickstart.yaml',
      incident({ target: '2001:db8:100::80', attack_family: 'syn_flood', bps: 3e9, pps: 2e6 }),
    );
    const dst = P('2001:db8:100::80/128');
    const synOnly = {
      destination: dst,
      protocol: 'tcp' as const,
      tcpFlags: { set: ['syn' as const], unset: ['ack' as const] },
    };
    const onNode = [
      makeRule({
        kind: 'host-filter',
        tenant,
        target: dst,
        level: 0,
        ttlSeconds: 300,
        match: synOnly,
        action: { type: 'hashlimit', packetsPerSecond: 200, burst: 200, per: 'source' },
      }),
      makeRule({
        kind: 'host-filter',
        tenant,
        target: dst,
        level: 0,
        ttlSeconds: 300,
        match: synOnly,
        action: { type: 'syn-cookies' },
      }),
    ].sort((a, b) => a.id.localeCompare(b.id)); // same kind and level: the plan lists them by id
    expectPlan(got, [
      {
        type: 'add',
        via: ['edge-gobgp'],
        rpki: 'invalid',
        rule: makeRule({
          kind: 'rtbh',
          tenant,
          target: dst,
          level: 3,
          ttlSeconds: 300,
          communities: ['65535:666', '64500:666'],
          noExport: true,
        }),
      },
      ...onNode.map((rule) => ({ type: 'add' as const, via: ['iptables'], rule })),
    ]);
    // The strict state of a /32 or /128 blackhole is Invalid (length) by design of maxLength; the loose one decides.
    expect(got.ops[0]?.rpki?.loose).to.equal('valid');
  });

  it('the resolver 203.0.113.53 is never targeted: the whole plan is refused by the never-target rail', async () => {
    const got = await run('quickstart.yaml', incident({ target: '203.0.113.53', bps: 3e9, vector: ['dns'] }));
    expectPlan(
      got,
      [],
      [{ rail: 'never-target', message: /203\.0\.113\.53\/32 is inside never-target 203\.0\.113\.53\/32/ }],
    );
  });

  it('a 300 Mbps UDP flood without a vector: level 1 rate-limit to 50 Mbps (6,250,000 bytes/s) on UDP to the host', async () => {
    const got = await run('quickstart.yaml', incident({ target: '203.0.113.99', bps: 300e6, pps: 60e3 }));
    const dst = P('203.0.113.99/32');
    expectPlan(got, [
      {
        type: 'add',
        via: ['edge-gobgp'],
        rpki: 'valid',
        rule: makeRule({
          kind: 'flowspec',
          tenant,
          target: dst,
          level: 1,
          ttlSeconds: 300,
          match: { destination: dst, protocols: [17] },
          action: { type: 'rate-limit', bytesPerSecond: 6_250_000 },
        }),
      },
    ]);
  });

  it('without VRP data, rpki: enforce refuses the announcement and says how to provide data; on-node rules still go in', async () => {
    const got = await run(
      'quickstart.yaml',
      incident({ target: '203.0.113.10', bps: 1e9, vector: ['ntp'] }),
      rpkiNoData,
    );
    expect(got.ops.map((o) => o.rule.kind)).to.deep.equal(['host-filter']);
    expect(got.refused.map((r) => [r.rail, r.rule?.kind, r.rule?.level])).to.deep.equal([
      ['rpki', 'flowspec', 2],
      ['rpki', 'flowspec', 1],
    ]);
    expect(got.refused[0]?.message).to.include('no RPKI data: pass --vrps or set rpki: warn/off');
  });
});

describe('golden plans: policies/examples/isp-two-pops.yaml', () => {
  const tenant = 'example-isp';

  it('6 Gbps at 203.0.113.10: the scrubber (AS64510) has no ROA for 203.0.113.0/24, so no diversion; RTBH via both POPs instead', async () => {
    const got = await run('examples/isp-two-pops.yaml', incident({ target: '203.0.113.10', bps: 6e9 }));
    const dst = P('203.0.113.10/32');
    expectPlan(
      got,
      [
        {
          type: 'add',
          via: ['ams1-gobgp', 'fra1-bird'],
          rpki: 'invalid',
          rule: makeRule({
            kind: 'rtbh',
            tenant,
            target: dst,
            level: 3,
            ttlSeconds: 300,
            communities: ['65535:666', '64496:9999', '64497:666'],
            noExport: true,
          }),
        },
      ],
      [{ rail: 'rpki', kind: 'divert', message: /203\.0\.113\.0\/24 \(origin AS64510\): .*ROA/ }],
    );
  });

  it('6 Gbps at 198.51.100.20: 198.51.100.0/24 is diverted to the scrubber, whose AS has the ROA', async () => {
    const got = await run('examples/isp-two-pops.yaml', incident({ target: '198.51.100.20', bps: 6e9 }));
    expectPlan(got, [
      {
        type: 'add',
        via: ['scrub'],
        rpki: 'valid',
        rule: makeRule({
          kind: 'divert',
          tenant,
          target: P('198.51.100.0/24'),
          level: 4,
          ttlSeconds: 300,
          provider: 'scrub',
        }),
      },
    ]);
  });

  it('800 Mbps NTP at 198.51.100.20: the covering /24 is not Valid for our AS64500, so enforce refuses both FlowSpec levels', async () => {
    const got = await run(
      'examples/isp-two-pops.yaml',
      incident({ target: '198.51.100.20', bps: 800e6, vector: ['ntp'] }),
    );
    expectPlan(
      got,
      [],
      [
        {
          rail: 'rpki',
          kind: 'flowspec',
          message: /198\.51\.100\.20\/32 \(origin AS64500\): .*198\.51\.100\.0\/24.*Invalid/,
        },
        { rail: 'rpki', kind: 'flowspec' },
      ],
    );
  });

  it('the IPv6 resolver 2001:db8:100::53 is never targeted', async () => {
    const got = await run('examples/isp-two-pops.yaml', incident({ target: '2001:db8:100::53', bps: 800e6 }));
    expectPlan(got, [], [{ rail: 'never-target' }]);
  });
});

describe('golden plans: policies/examples/game-host.yaml', () => {
  const tenant = 'gamehost';

  it('5 Gbps UDP flood at a game server: capped at level 2 (FlowSpec discard, never RTBH), plus an on-node UDP rate limit', async () => {
    const got = await run(
      'examples/game-host.yaml',
      incident({ target: '203.0.113.70', bps: 5e9, pps: 1.5e6 }),
      rpkiNoData,
    );
    const dst = P('203.0.113.70/32');
    expectPlan(got, [
      {
        type: 'add',
        via: ['edge'],
        rpki: 'unknown',
        rule: makeRule({
          kind: 'flowspec',
          tenant,
          target: dst,
          level: 2,
          ttlSeconds: 300,
          match: { destination: dst, protocols: [17] },
          action: { type: 'discard' },
        }),
      },
      {
        type: 'add',
        via: ['nft'],
        rule: makeRule({
          kind: 'host-filter',
          tenant,
          target: dst,
          level: 0,
          ttlSeconds: 300,
          match: { destination: dst, protocol: 'udp' },
          action: { type: 'rate-limit', packetsPerSecond: 20_000, burst: 40_000 },
        }),
      },
    ]);
    expect(got.notes).to.include('target game-servers is capped at level 2: level 3 would otherwise apply');
    // rpki: warn with no data lets FlowSpec through, marked unknown.
    expect(got.ops[0]?.rpki?.reason).to.include('rpki: warn lets it through');
  });

  it('400 Mbps SYN flood at the web panel: its own level 2 threshold (300 Mbps) holds; SYN cookies and connlimit on the node', async () => {
    const got = await run(
      'examples/game-host.yaml',
      incident({ target: '203.0.113.200', attack_family: 'syn_flood', bps: 400e6, pps: 600e3 }),
      rpkiNoData,
    );
    const dst = P('203.0.113.200/32');
    const ops: Expected[] = [
      {
        type: 'add',
        via: ['edge'],
        rpki: 'unknown',
        rule: makeRule({
          kind: 'flowspec',
          tenant,
          target: dst,
          level: 2,
          ttlSeconds: 300,
          match: { destination: dst, protocols: [6], tcpFlags: { set: ['syn'], unset: ['ack'] } },
          action: { type: 'discard' },
        }),
      },
      ...[
        makeRule({
          kind: 'host-filter',
          tenant,
          target: dst,
          level: 0,
          ttlSeconds: 300,
          match: { destination: dst, protocol: 'tcp', tcpFlags: { set: ['syn'], unset: ['ack'] } },
          action: { type: 'syn-cookies' },
        }),
        makeRule({
          kind: 'host-filter',
          tenant,
          target: dst,
          level: 0,
          ttlSeconds: 300,
          match: { destination: dst, protocol: 'tcp' },
          action: { type: 'connlimit', maxConnections: 50 },
        }),
      ]
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((rule) => ({ type: 'add' as const, via: ['iptables'], rule })),
    ];
    expectPlan(got, ops);
  });
});

describe('golden plans: policies/examples/hosting-provider.yaml and policies/default.yaml', () => {
  it("NTP reflection at 120 Mbps against customer shop: shop's own level 1 (>50 Mbps), its tenant, the 10 min TTL, rs1", async () => {
    const got = await run(
      'examples/hosting-provider.yaml',
      incident({ target: '203.0.113.40', bps: 120e6, pps: 30e3, vector: ['ntp'] }),
    );
    const dst = P('203.0.113.40/32');
    expectPlan(got, [
      {
        type: 'add',
        via: ['rs1'],
        rpki: 'valid',
        rule: makeRule({
          kind: 'flowspec',
          tenant: 'shop',
          target: dst,
          level: 1,
          ttlSeconds: 600,
          match: {
            destination: dst,
            protocols: [17],
            sourcePorts: [{ min: 123, max: 123 }],
            packetLength: [{ min: 468, max: 65535 }],
          },
          action: { type: 'rate-limit', bytesPerSecond: 2_500_000 },
        }),
      },
      {
        type: 'add',
        via: ['nft'],
        rule: makeRule({
          kind: 'host-filter',
          tenant: 'shop',
          target: dst,
          level: 0,
          ttlSeconds: 600,
          match: { destination: dst, protocol: 'udp', sourcePorts: [{ min: 123, max: 123 }] },
          action: { type: 'drop' },
        }),
      },
    ]);
  });

  it('the same attack on another host of the /24 follows the provider-wide ladder and tenant: 120 Mbps > 100 Mbps is level 1', async () => {
    const got = await run(
      'examples/hosting-provider.yaml',
      incident({ target: '203.0.113.90', bps: 120e6, pps: 30e3, vector: ['ntp'] }),
    );
    expect(got.ops.map((o) => `${o.rule.kind} ${o.rule.tenant}`)).to.deep.equal([
      'flowspec hosting',
      'host-filter hosting',
    ]);
    expect(got.ops[0]?.rule.level).to.equal(1);
    expect(got.ops[0]?.rule.ttlSeconds).to.equal(600);
  });

  it('default policy, 700 Mbps DNS reflection: level 2 FlowSpec discard via edge and the on-node UDP/53 drop', async () => {
    const got = await run(
      'default.yaml',
      incident({ target: '203.0.113.10', bps: 700e6, pps: 150e3, vector: ['dns'] }),
    );
    expect(got.ops.map((o) => [o.type, o.rule.kind, o.rule.level, o.via.join(',')])).to.deep.equal([
      ['add', 'flowspec', 2, 'edge'],
      ['add', 'host-filter', 0, 'nft'],
    ]);
  });
});
