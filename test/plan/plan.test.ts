import { expect } from 'chai';
import { Prefix, makeRule, type FlowSpecRule, type Rule } from '@ft/sdk';
import type { ActiveRule, Op, Plan } from '../../core/model/plan.js';
import { plan, rpkiNoData, rpkiSkipped } from '../../core/plan/index.js';
import { BASE_POLICY, NOW, incident, policy, testRpki } from './helpers.js';

const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const iso = (seconds: number) => at(seconds).getTime();

function active(op: Op, appliedAgo = 0, expiresIn = 300, incidentId = 'inc-1'): ActiveRule {
  return { rule: op.rule, via: op.via, appliedAt: iso(-appliedAgo), expiresAt: iso(expiresIn), incidentId };
}

const summary = (p: Plan) =>
  p.ops.map((o) => `${o.type} ${o.rule.kind} L${o.rule.level} ${o.rule.target} via ${o.via.join(',')}`);

describe('planner: escalation', () => {
  const p = policy();

  it('below every trigger: nothing is added, and the plan says why', () => {
    const r = plan({ policy: p, incident: incident({ bps: 50e6 }), active: [], now: NOW, rpki: testRpki() });
    expect(r.ops).to.deep.equal([]);
    expect(r.notes.join('\n')).to.include('no escalation level holds');
  });

  it('picks the highest level whose trigger holds, with the trigger and observed values in the reason', () => {
    const r = plan({
      policy: p,
      incident: incident({ bps: 800e6, vector: ['dns'] }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(r)).to.deep.equal(['add flowspec L2 203.0.113.10/32 via s1,s2']);
    const op = r.ops[0] as Op;
    expect((op.rule as FlowSpecRule).action).to.deep.equal({ type: 'discard' });
    expect(op.reason).to.deep.include({
      level: 2,
      trigger: 'bps > 500Mbps',
      summary: 'level 2: bps 800Mbps > 500Mbps',
    });
    expect(op.reason.observed).to.deep.include({ bps: 800e6, family: 'udp_flood', vector: 'dns' });
    expect(op.rule.ttlSeconds).to.equal(300);
    expect(op.rpki?.state).to.equal('valid');
  });

  it('level 1 rate-limits at the policy rate, converted to bytes per second for FlowSpec', () => {
    const r = plan({ policy: p, incident: incident({ bps: 200e6 }), active: [], now: NOW, rpki: testRpki() });
    expect((r.ops[0]?.rule as FlowSpecRule).action).to.deep.equal({ type: 'rate-limit', bytesPerSecond: 6_250_000 });
  });

  it('RTBH blackholes the attacked host with 65535:666, the policy community and NO_EXPORT', () => {
    const r = plan({ policy: p, incident: incident({ bps: 3e9 }), active: [], now: NOW, rpki: testRpki() });
    expect(summary(r)).to.deep.equal(['add rtbh L3 203.0.113.10/32 via s1']);
    expect(r.ops[0]?.rule).to.deep.include({ communities: ['65535:666', '64500:666'], noExport: true });
  });

  it('scrubbing diverts the covering /24 to the scrubber, checked for the scrubber origin AS', () => {
    const rpki = testRpki();
    const r = plan({ policy: p, incident: incident({ bps: 6e9 }), active: [], now: NOW, rpki });
    expect(summary(r)).to.deep.equal(['add divert L4 203.0.113.0/24 via sc']);
    expect(rpki.calls).to.have.length(1);
    expect(rpki.calls[0]).to.deep.include({ kind: 'divert', originAs: 64510, mode: 'enforce' });
    expect(rpki.calls[0]?.announced.toString()).to.equal('203.0.113.0/24');
  });

  it('RPKI is asked before every announcement, with the covering protected route and our origin AS', () => {
    const rpki = testRpki();
    plan({ policy: p, incident: incident({ bps: 3e9 }), active: [], now: NOW, rpki });
    expect(rpki.calls.map((c) => [c.kind, c.announced.toString(), c.covering.toString(), c.originAs])).to.deep.equal([
      ['rtbh', '203.0.113.10/32', '203.0.113.0/24', 64500],
    ]);
  });

  it('an announcement RPKI refuses is not made; the level falls back to the next one that holds', () => {
    const r = plan({
      policy: p,
      incident: incident({ bps: 3e9 }),
      active: [],
      now: NOW,
      rpki: testRpki([{ kind: 'rtbh' }]),
    });
    expect(summary(r)).to.deep.equal(['add flowspec L2 203.0.113.10/32 via s1,s2']);
    expect(r.refused).to.have.length(1);
    expect(r.refused[0]).to.deep.include({ rail: 'rpki' });
    expect(r.refused[0]?.message).to.include('test refuses rtbh 203.0.113.10/32');
    expect(r.notes.join('\n')).to.include('level 3 was refused entirely: falling back to level 2');
  });

  it('with rpki enforce and no VRP data every announcement is refused with a reason that says what to do', () => {
    const r = plan({ policy: p, incident: incident({ bps: 800e6 }), active: [], now: NOW, rpki: rpkiNoData });
    expect(r.ops).to.deep.equal([]);
    expect(r.refused.map((x) => x.message).join('\n')).to.include('no RPKI data: pass --vrps or set rpki: warn/off');
  });

  it('with rpki off the verdict is recorded as skipped', () => {
    const r = plan({
      policy: policy(BASE_POLICY.replace('rpki: enforce', 'rpki: off')),
      incident: incident({ bps: 800e6 }),
      active: [],
      now: NOW,
      rpki: rpkiSkipped,
    });
    expect(r.ops[0]?.rpki?.state).to.equal('skipped');
  });

  it('RTBH for a prefix target is refused (it blackholes one host), and the plan falls back', () => {
    const r = plan({
      policy: p,
      incident: incident({ bps: 3e9, target: '203.0.113.64/26' }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    expect(r.refused[0]?.rail).to.equal('rtbh-host-only');
    expect(summary(r)).to.deep.equal(['add flowspec L2 203.0.113.64/26 via s1,s2']);
  });

  describe('prefix-wide attacks (carpet bombing) and host groups', () => {
    // The base policy's never-target 203.0.113.53 lies inside the /24: any rule on the whole /24 would cover it
    // (refused whole, see docs/planner.md). These cases use a policy whose never-target is elsewhere.
    const p = policy(BASE_POLICY.replace('neverTarget: [203.0.113.53/32, ', 'neverTarget: ['));
    const carpet = {
      bps: 3e9,
      target: '203.0.113.0/24',
      attack_family: 'udp_flood' as const,
      top_dst_ports: [{ port: 53, count: 900 }],
      top_src_ports: [{ port: 123, count: 900 }],
    };

    it("FlowSpec on the whole prefix with the attack's protocol and ports; RTBH refused for the prefix", () => {
      const r = plan({ policy: p, incident: incident(carpet), active: [], now: NOW, rpki: testRpki() });
      expect(r.refused.map((x) => [x.rail, x.rule?.kind])).to.deep.equal([['rtbh-host-only', 'rtbh']]);
      expect(r.refused[0]!.message)
        .to.match(/203\.0\.113\.0\/24 is a prefix/)
        .and.match(/rtbh\.wholePrefix/);
      expect(summary(r)).to.deep.equal(['add flowspec L2 203.0.113.0/24 via s1,s2']);
      const rule = r.ops[0]!.rule as FlowSpecRule;
      expect(rule.match.destination.toString()).to.equal('203.0.113.0/24');
      expect(rule.match.protocols).to.deep.equal([17]);
      expect(rule.match.sourcePorts).to.deep.equal([{ min: 123, max: 123 }]);
    });

    it('RTBH for the whole prefix when the level says rtbh.wholePrefix', () => {
      const whole = policy(
        BASE_POLICY.replace('neverTarget: [203.0.113.53/32, ', 'neverTarget: [').replace(
          'rtbh: { community: "64500:666" }',
          'rtbh: { community: "64500:666", wholePrefix: true }',
        ),
      );
      const r = plan({ policy: whole, incident: incident(carpet), active: [], now: NOW, rpki: testRpki() });
      expect(r.refused).to.deep.equal([]);
      expect(summary(r)).to.deep.equal(['add rtbh L3 203.0.113.0/24 via s1']);
    });

    it('a host group member under a group-wide attack gets FlowSpec, never RTBH unless wholePrefix', () => {
      const member = incident({ bps: 3e9, target: '203.0.113.10', group: 'web' });
      const r = plan({ policy: p, incident: member, active: [], now: NOW, rpki: testRpki() });
      expect(r.refused.map((x) => x.rail)).to.deep.equal(['rtbh-host-only']);
      expect(r.refused[0]!.message).to.match(/member of host group web/);
      expect(summary(r)).to.deep.equal(['add flowspec L2 203.0.113.10/32 via s1,s2']);
      // The same host attacked on its own is blackholed at level 3 as before.
      const alone = plan({ policy: p, incident: incident({ bps: 3e9 }), active: [], now: NOW, rpki: testRpki() });
      expect(summary(alone)).to.deep.equal(['add rtbh L3 203.0.113.10/32 via s1']);
    });
  });

  it('IPv6 is handled like IPv4: /128 FlowSpec, RTBH, and a /48 diversion', () => {
    const t = '2001:db8:100::10';
    expect(
      summary(
        plan({ policy: p, incident: incident({ bps: 800e6, target: t }), active: [], now: NOW, rpki: testRpki() }),
      ),
    ).to.deep.equal([`add flowspec L2 ${t}/128 via s1,s2`]);
    expect(
      summary(plan({ policy: p, incident: incident({ bps: 3e9, target: t }), active: [], now: NOW, rpki: testRpki() })),
    ).to.deep.equal([`add rtbh L3 ${t}/128 via s1`]);
    expect(
      summary(plan({ policy: p, incident: incident({ bps: 6e9, target: t }), active: [], now: NOW, rpki: testRpki() })),
    ).to.deep.equal(['add divert L4 2001:db8:100::/48 via sc']);
  });

  it('a resolved incident wants nothing new', () => {
    const r = plan({
      policy: p,
      incident: incident({ bps: 3e9, state: 'resolved' }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    expect(r.ops).to.deep.equal([]);
  });
});

describe('planner: per-target overrides and on-node rules', () => {
  const p = policy(
    BASE_POLICY,
    `targets:
  - { name: game, prefix: 203.0.113.64/26, maxLevel: 2 }
  - { name: shop, prefix: 203.0.113.32/28, tenant: shop, ttl: 10m, when: { 1: { bps: ">10Mbps" } } }
onNode:
  - when: { family: syn_flood }
    do:
      - iptables: { synCookies: true }
      - iptables: { hashlimit: 200/s, per: source }
  - when: { vector: [dns, ntp] }
    do: [ { nft: { dropUdpSourcePorts: auto } } ]
  - when: { bps: ">1Mbps" }
    do: [ { ipset: { dropTopSources: 2 } } ]
`,
  );

  it('a game server capped at level 2 never gets RTBH, and the plan says so', () => {
    const r = plan({
      policy: p,
      incident: incident({ bps: 3e9, target: '203.0.113.70', spoofing_detected: true }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(r)).to.deep.equal(['add flowspec L2 203.0.113.70/32 via s1,s2']);
    expect(r.notes.join('\n')).to.include('target game is capped at level 2: level 3 would otherwise apply');
  });

  it("a customer's own thresholds, tenant and TTL apply to its prefix", () => {
    const r = plan({
      policy: p,
      incident: incident({ bps: 20e6, target: '203.0.113.40', spoofing_detected: true }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(r)).to.deep.equal(['add flowspec L1 203.0.113.40/32 via s1']);
    expect(r.ops[0]?.rule).to.deep.include({ tenant: 'shop', ttlSeconds: 600 });
  });

  it('SYN flood on-node: SYN cookies and a per-source hashlimit on SYN-without-ACK, via the named host action', () => {
    const r = plan({
      policy: p,
      incident: incident({ attack_family: 'syn_flood', bps: 50e6, spoofing_detected: true }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    const rules = r.ops.map((o) => o.rule).filter((x) => x.kind === 'host-filter');
    const dst = Prefix.parse('203.0.113.10/32');
    expect(rules.map((x) => (x.kind === 'host-filter' ? [x.match, x.action] : []))).to.have.deep.members([
      [{ destination: dst, protocol: 'tcp', tcpFlags: { set: ['syn'], unset: ['ack'] } }, { type: 'syn-cookies' }],
      [
        { destination: dst, protocol: 'tcp', tcpFlags: { set: ['syn'], unset: ['ack'] } },
        { type: 'hashlimit', packetsPerSecond: 200, burst: 200, per: 'source' },
      ],
    ]);
    expect(r.ops.every((o) => o.via.join() === 'iptables' && o.rule.level === 0)).to.equal(true);
  });

  it("amplification on-node: drop UDP from the vector's source ports", () => {
    const r = plan({
      policy: p,
      incident: incident({ vector: ['ntp'], bps: 50e6, spoofing_detected: true }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    const nft = r.ops.find((o) => o.via[0] === 'nft');
    expect(nft?.rule).to.deep.include({ kind: 'host-filter', action: { type: 'drop' } });
    expect(nft?.rule.kind === 'host-filter' && nft.rule.match).to.deep.equal({
      destination: Prefix.parse('203.0.113.10/32'),
      protocol: 'udp',
      sourcePorts: [{ min: 123, max: 123 }],
    });
  });

  it('drop top sources: the top N valid addresses, never a never-target one; skipped (with a note) when sources are spoofed', () => {
    const sources = [
      { ip: '198.51.100.7', count: 10 },
      { ip: 'not-an-ip', count: 9 },
      { ip: '192.0.2.44', count: 8 },
      { ip: '192.0.2.45', count: 1 },
    ];
    const i = incident({ bps: 50e6, top_src_ips: sources });
    const r = plan({ policy: p, incident: i, active: [], now: NOW, rpki: testRpki() });
    const drop = r.ops.find((o) => o.via[0] === 'ipset');
    expect(drop?.rule.kind === 'host-filter' && drop.rule.match.sources?.map(String)).to.deep.equal([
      '192.0.2.44/32',
      '198.51.100.7/32',
    ]);
    const resolver = plan({
      policy: p,
      incident: incident({ bps: 50e6, top_src_ips: [{ ip: '203.0.113.53', count: 99 }, ...sources] }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    const kept = resolver.ops.find((o) => o.via[0] === 'ipset');
    expect(kept?.rule.kind === 'host-filter' && kept.rule.match.sources?.map(String)).to.deep.equal([
      '192.0.2.44/32',
      '198.51.100.7/32',
    ]);
    expect(resolver.notes).to.include('dropTopSources spares 203.0.113.53/32: inside protect or never-target');
    const spoofed = plan({
      policy: p,
      incident: { ...i, spoofed: true },
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    expect(spoofed.ops.find((o) => o.via[0] === 'ipset')).to.equal(undefined);
    expect(spoofed.notes.join('\n')).to.include('dropTopSources skipped: the sources are spoofed');
  });
});

describe('planner: lifecycle against active rules', () => {
  const p = policy();
  const open = (bps: number) => incident({ bps, vector: ['dns'] });
  const first = (bps: number) => plan({ policy: p, incident: open(bps), active: [], now: NOW, rpki: testRpki() }).ops;

  it('a rule still wanted with plenty of TTL left is kept as is (no op, a note)', () => {
    const ops = first(800e6);
    const r = plan({
      policy: p,
      incident: open(800e6),
      active: ops.map((o) => active(o, 30, 270)),
      now: NOW,
      rpki: testRpki(),
    });
    expect(r.ops).to.deep.equal([]);
    expect(r.notes.join('\n')).to.match(/kept fs-[0-9a-f]{16}/);
  });

  it('RPKI is asked for every new announcement, including a live rule going out on one more speaker; not for rules already out', () => {
    const ops = first(800e6);
    const kept = testRpki();
    plan({ policy: p, incident: open(800e6), active: ops.map((o) => active(o, 30, 270)), now: NOW, rpki: kept });
    expect(kept.calls).to.have.length(0);
    const onlyS1 = testRpki([{ kind: 'flowspec' }]);
    const r = plan({
      policy: p,
      incident: open(800e6),
      active: ops.map((o) => ({ ...active(o, 30, 270), via: ['s1'] })),
      now: NOW,
      rpki: onlyS1,
    });
    expect(onlyS1.calls).to.have.length(2); // level 2, then the fallback to level 1
    expect(r.ops.filter((o) => o.type === 'add')).to.deep.equal([]);
  });

  it('refresh extends the TTL while the attack lasts, once less than half of it is left', () => {
    const ops = first(800e6);
    const r = plan({
      policy: p,
      incident: open(800e6),
      active: ops.map((o) => active(o, 200, 100)),
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(r)).to.deep.equal(['refresh flowspec L2 203.0.113.10/32 via s1,s2']);
    expect(r.ops[0]?.rule.id).to.equal(ops[0]?.rule.id);
  });

  it('a rule whose TTL ran out while the attack goes on is added again', () => {
    const ops = first(800e6);
    const r = plan({
      policy: p,
      incident: open(800e6),
      active: ops.map((o) => active(o, 400, -1)),
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(r)).to.deep.equal(['add flowspec L2 203.0.113.10/32 via s1,s2']);
    expect(r.ops[0]?.reason.summary).to.include('TTL ran out');
  });

  it('escalation goes up at once: the higher rule is added, the superseded lower one withdrawn', () => {
    const ops = first(800e6);
    const r = plan({
      policy: p,
      incident: open(3e9),
      active: ops.map((o) => active(o, 5)),
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(r)).to.deep.equal([
      'add rtbh L3 203.0.113.10/32 via s1',
      'withdraw flowspec L2 203.0.113.10/32 via s1,s2',
    ]);
    expect(r.ops[1]?.reason.summary).to.equal('superseded: escalated to level 3');
  });

  it('escalation comes down only after the cooldown since the higher rule went in or was last refreshed', () => {
    const rtbh = first(3e9);
    const early = plan({
      policy: p,
      incident: open(800e6),
      active: rtbh.map((o) => active(o, 60, 240)),
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(early)).to.deep.equal(['add flowspec L2 203.0.113.10/32 via s1,s2']);
    expect(early.notes.join('\n')).to.include(
      'attack fell below level 3, but the cooldown keeps it until 2026-11-22T00:01:00.000Z',
    );
    // Refreshed 30 s ago (expires in 270 s): the quiet period counts from the refresh, so it is still held.
    const refreshed = plan({
      policy: p,
      incident: open(800e6),
      active: rtbh.map((o) => active(o, 600, 270)),
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(refreshed)).to.deep.equal(['add flowspec L2 203.0.113.10/32 via s1,s2']);
    expect(refreshed.notes.join('\n')).to.include('the cooldown keeps it until 2026-11-22T00:01:30.000Z');
    const later = plan({
      policy: p,
      incident: open(800e6),
      active: rtbh.map((o) => active(o, 120, 180)),
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(later)).to.deep.equal([
      'add flowspec L2 203.0.113.10/32 via s1,s2',
      'withdraw rtbh L3 203.0.113.10/32 via s1',
    ]);
  });

  it('a resolved incident withdraws its rules once the cooldown has passed', () => {
    const ops = first(800e6);
    // Refreshed 10 s ago, but the detection engine has already waited for the attack to stay quiet: resolved
    // incidents count the cooldown from when the rule went in.
    const r = plan({
      policy: p,
      incident: { ...open(0), state: 'resolved' },
      active: ops.map((o) => active(o, 130, 290)),
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(r)).to.deep.equal(['withdraw flowspec L2 203.0.113.10/32 via s1,s2']);
    expect(r.ops[0]?.reason.summary).to.include('incident resolved');
  });

  it("another incident's rules are left alone, even expired (the periodic re-plan withdraws those)", () => {
    const other = plan({
      policy: p,
      incident: incident({ id: 'inc-2', target: '203.0.113.20', bps: 800e6 }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    }).ops;
    const expired = first(200e6);
    const r = plan({
      policy: p,
      incident: open(800e6),
      active: [
        ...other.map((o) => active(o, 500, 100, 'inc-2')),
        ...other.map((o) => active(o, 500, -5, 'inc-3')),
        ...expired.map((o) => active(o, 400, -5)),
      ],
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(r)).to.deep.equal([
      'add flowspec L2 203.0.113.10/32 via s1,s2',
      'withdraw flowspec L1 203.0.113.10/32 via s1',
    ]);
    expect(r.ops[1]?.reason.summary).to.include('TTL expired');
    const periodic = plan({
      policy: p,
      active: [...other.map((o) => active(o, 500, -5, 'inc-3'))],
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(periodic)).to.deep.equal(['withdraw flowspec L2 203.0.113.20/32 via s1,s2']);
  });

  it('periodic re-plan (no incident): only expiry and what the policy no longer allows', () => {
    const ops = first(800e6);
    const outside = makeRule<FlowSpecRule>({
      kind: 'flowspec',
      tenant: 't1',
      target: Prefix.parse('198.51.100.9/32'),
      match: { destination: Prefix.parse('198.51.100.9/32') },
      action: { type: 'discard' },
      level: 2,
      ttlSeconds: 300,
    });
    const r = plan({
      policy: p,
      active: [
        ...ops.map((o) => active(o, 10, 290)),
        { rule: outside, via: ['s1'], appliedAt: iso(-10), expiresAt: iso(290) },
        ...first(3e9).map((o) => active(o, 400, 0)),
      ],
      now: NOW,
      rpki: testRpki(),
    });
    expect(summary(r)).to.deep.equal([
      'withdraw rtbh L3 203.0.113.10/32 via s1',
      'withdraw flowspec L2 198.51.100.9/32 via s1',
    ]);
    expect(r.ops[1]?.reason.summary).to.include('rail outside-protect');
  });
});

describe('planner: safety rails refuse the whole plan', () => {
  const p = policy();
  for (const [name, target, rail] of [
    ['outside protected space', '198.51.100.10', 'outside-protect'],
    ['a never-target host', '203.0.113.53', 'never-target'],
    ['a never-target IPv6 host', '2001:db8:100::53', 'never-target'],
    ['a prefix covering a never-target', '203.0.113.0/24', 'never-target'],
    ['a prefix shorter than the minimum', '2001:db8:100::/47', 'outside-protect'],
  ] as const) {
    it(`${name}: ${rail}`, () => {
      const ops = plan({ policy: p, incident: incident({ bps: 800e6 }), active: [], now: NOW, rpki: testRpki() }).ops;
      const r = plan({
        policy: p,
        incident: incident({ bps: 800e6, target }),
        active: ops.map((o) => active(o, 500, -1)),
        now: NOW,
        rpki: testRpki(),
      });
      expect(r.ops).to.deep.equal([]); // not even the expired withdrawal: nothing half-way
      expect(r.refused.map((x) => x.rail)).to.deep.equal([rail]);
      expect(r.notes[0]).to.include(`plan refused whole by rail ${rail}`);
    });
  }

  it('too-short prefix inside protect: prefix-too-short', () => {
    const wide = policy(
      BASE_POLICY.replace('protect: [203.0.113.0/24, 2001:db8:100::/48]', 'protect: [203.0.112.0/22]').replace(
        /neverTarget: .*\n/,
        'neverTarget: []\n',
      ),
    );
    const r = plan({
      policy: wide,
      incident: incident({ bps: 800e6, target: '203.0.112.0/23' }),
      active: [],
      now: NOW,
      rpki: testRpki(),
    });
    expect(r.refused.map((x) => x.rail)).to.deep.equal(['prefix-too-short']);
    expect(r.refused[0]?.message).to.include('shorter than the minimum /24');
  });

  it('a diversion whose covering prefix leaves protected space is refused; the level below holds instead', () => {
    // `policy validate` refuses this policy (divertLength /24 under a /25 protect); built past that check here.
    const narrow = policy(
      BASE_POLICY.replace('protect: [203.0.113.0/24, 2001:db8:100::/48]', 'protect: [203.0.113.0/25]')
        .replace(/neverTarget: .*\n/, 'neverTarget: []\n')
        .replace('originAs: 64510 }', 'originAs: 64510, divertLength: { v4: 25 } }'),
    );
    (narrow.scrubbers.get('sc') as { divertLength: { v4: number; v6: number } }).divertLength = { v4: 24, v6: 48 };
    const r = plan({ policy: narrow, incident: incident({ bps: 6e9 }), active: [], now: NOW, rpki: testRpki() });
    expect(r.ops.map((o) => o.rule.kind)).to.deep.equal(['rtbh']);
    expect(r.refused[0]).to.deep.include({ rail: 'outside-protect' });
    expect(r.refused[0]?.rule?.kind).to.equal('divert');
  });

  it('a diversion carrying a never-target host through the scrubber is allowed (it forwards, it does not drop)', () => {
    const r = plan({ policy: p, incident: incident({ bps: 6e9 }), active: [], now: NOW, rpki: testRpki() });
    expect(r.ops.map((o) => o.rule.kind)).to.deep.equal(['divert']);
  });
});

describe('planner: the per-tenant rule cap', () => {
  function filler(n: number, tenant = 't1'): ActiveRule[] {
    return Array.from({ length: n }, (_, i) => {
      const target = Prefix.parse(`203.0.113.${100 + i}/32`);
      const rule: Rule = makeRule<FlowSpecRule>({
        kind: 'flowspec',
        tenant,
        target,
        match: {
          destination: target,
          protocols: [17],
          sourcePorts: [{ min: 53, max: 53 }],
          packetLength: [{ min: 512, max: 65535 }],
        },
        action: { type: 'discard' },
        level: 2,
        ttlSeconds: 300,
      });
      return { rule, via: ['s1', 's2'], appliedAt: iso(-10), expiresAt: iso(290), incidentId: `other-${i}` };
    });
  }
  const capped = (atCap: string) =>
    policy(
      BASE_POLICY.replace('maxRules: 200', 'maxRules: 3').replace(/neverTarget: .*\n/, 'neverTarget: []\n') +
        `atCap: ${atCap}\n`,
    );

  it('refuse: a new rule beyond the cap is refused with an alert, never silently', () => {
    const r = plan({
      policy: capped('refuse'),
      incident: incident({ bps: 800e6, vector: ['dns'] }),
      active: filler(3),
      now: NOW,
      rpki: testRpki(),
    });
    expect(r.ops).to.deep.equal([]);
    expect(r.refused[0]).to.deep.include({ rail: 'cap' });
    expect(r.refused[0]?.message).to.include('tenant t1 has 3 of 3 live rules');
    expect(r.notes.join('\n')).to.include('ALERT');
  });

  it('rules withdrawn in the same plan free their slots (an expired rule counts until it is withdrawn)', () => {
    const full = filler(3);
    (full[0] as ActiveRule).expiresAt = iso(-1);
    const still = plan({
      policy: capped('refuse'),
      incident: incident({ bps: 800e6, vector: ['dns'] }),
      active: full,
      now: NOW,
      rpki: testRpki(),
    });
    expect(still.ops).to.deep.equal([]); // another incident's expired rule is still on the routers until withdrawn
    (full[0] as ActiveRule).incidentId = 'inc-1';
    const r = plan({
      policy: capped('refuse'),
      incident: incident({ bps: 800e6, vector: ['dns'] }),
      active: full,
      now: NOW,
      rpki: testRpki(),
    });
    expect(r.ops.map((o) => o.type)).to.deep.equal(['add', 'withdraw']);
  });

  it('aggregate: per-host FlowSpec rules of the same shape merge into one covering /24 rule', () => {
    const r = plan({
      policy: capped('aggregate'),
      incident: incident({ bps: 800e6, vector: ['dns'] }),
      active: filler(3),
      now: NOW,
      rpki: testRpki(),
    });
    const adds = r.ops.filter((o) => o.type === 'add');
    expect(adds.map((o) => `${o.rule.kind} ${o.rule.target}`)).to.deep.equal(['flowspec 203.0.113.0/24']);
    expect(r.ops.filter((o) => o.type === 'withdraw')).to.have.length(3);
    expect(r.notes.join('\n')).to.match(
      /ALERT: tenant t1 has 3 of 3 live rules: aggregated into fs-[0-9a-f]{16} for 203.0.113.0\/24, replacing 3 rule\(s\)/,
    );
  });

  it('aggregate never builds a covering rule over a never-target: it refuses instead', () => {
    const p = policy(BASE_POLICY.replace('maxRules: 200', 'maxRules: 3') + 'atCap: aggregate\n');
    // BASE_POLICY never-targets 203.0.113.53, inside the /24 an aggregate would cover.
    const r = plan({
      policy: p,
      incident: incident({ bps: 800e6, vector: ['dns'] }),
      active: filler(3),
      now: NOW,
      rpki: testRpki(),
    });
    expect(r.ops.filter((o) => o.type === 'add')).to.deep.equal([]);
    expect(r.refused[0]?.rail).to.equal('cap');
  });

  it("the cap is per tenant: another tenant's rules do not count", () => {
    const r = plan({
      policy: capped('refuse'),
      incident: incident({ bps: 800e6, vector: ['dns'] }),
      active: filler(3, 'other'),
      now: NOW,
      rpki: testRpki(),
    });
    expect(r.ops.map((o) => o.type)).to.deep.equal(['add']);
  });
});
