import { expect } from 'chai';
import fc from 'fast-check';
import { Prefix, makeRule, type HostFilterRule } from '@ft/sdk';
import type { ActiveRule } from '../../core/model/plan.js';
import { plan } from '../../core/plan/index.js';
import { NOW, incident, policy, testRpki } from './helpers.js';

const POLICY = `
version: 1
tenant: t1
mode: enforce
asn: 64500
defaults: { ttl: 5m, maxRules: 200, rpki: enforce, cooldown: 2m }
protect: [203.0.113.0/24]
neverTarget: [203.0.113.53/32, 192.0.2.53/32]
speakers:
  s1: { adapter: gobgp }
filters:
  cf-waf: { adapter: cloudflare-waf }
  robot: { adapter: hetzner }
escalation:
  - { level: 1, when: { bps: ">100Mbps" }, do: { flowspec: { then: discard } }, via: [s1] }
  - { level: 2, when: { bps: ">1Gbps" }, do: { block: { sources: top, count: 2 } }, via: [cf-waf, robot] }
`;

const src = (ip: string, count: number) => ({ ip, count });

describe('planner: escalation-level block rules for off-box filters', () => {
  const p = policy(POLICY);

  it('blocks the busiest sources (sorted by address) for the attacked host, routed only to the named filters, without an RPKI check', () => {
    const rpki = testRpki();
    const r = plan({
      policy: p,
      rpki,
      now: NOW,
      active: [],
      incident: incident({
        bps: 2e9,
        top_src_ips: [
          src('198.51.100.7', 10),
          src('192.0.2.9', 500),
          src('198.51.100.200', 300),
          src('not-an-ip', 900),
        ],
      }),
    });
    const expected = makeRule<HostFilterRule>({
      kind: 'host-filter',
      tenant: 't1',
      target: Prefix.parse('203.0.113.10/32'),
      match: {
        destination: Prefix.parse('203.0.113.10/32'),
        sources: [Prefix.parse('192.0.2.9/32'), Prefix.parse('198.51.100.200/32')],
      },
      action: { type: 'drop' },
      level: 2,
      ttlSeconds: 300,
    });
    expect(r.refused).to.deep.equal([]);
    expect(r.ops).to.have.length(1);
    const op = r.ops[0];
    expect(op?.type).to.equal('add');
    expect(op?.rule).to.deep.equal(expected);
    expect(op?.via).to.deep.equal(['cf-waf', 'robot']);
    expect(op?.rpki).to.deep.equal({
      state: 'skipped',
      reason: "not applicable: a block rule is sent to the filter's API, nothing is announced by BGP",
    });
    expect(rpki.calls).to.deep.equal([]);
  });

  it('never blocks a source inside protect or never-target (noted), nor spoofed sources (falls back a level)', () => {
    const r = plan({
      policy: p,
      rpki: testRpki(),
      now: NOW,
      active: [],
      incident: incident({
        bps: 2e9,
        top_src_ips: [src('203.0.113.77', 900), src('192.0.2.53', 800), src('198.51.100.1', 1)],
      }),
    });
    expect((r.ops[0]?.rule as HostFilterRule).match.sources?.map(String)).to.deep.equal(['198.51.100.1/32']);
    expect(r.notes).to.include('block spares 203.0.113.77/32, 192.0.2.53/32: inside protect or never-target');

    const spoofed = plan({
      policy: p,
      rpki: testRpki(),
      now: NOW,
      active: [],
      incident: incident({ bps: 2e9, spoofing_detected: true, top_src_ips: [src('198.51.100.1', 5)] }),
    });
    expect(spoofed.ops.map((o) => `${o.rule.kind} L${o.rule.level} via ${o.via.join(',')}`)).to.deep.equal([
      'flowspec L1 via s1',
    ]);
    expect(spoofed.notes.join('\n')).to.include('block skipped: the sources are spoofed');
  });

  it('an active block rule whose sources overlap our own space is withdrawn by the periodic re-plan (rail protected-source)', () => {
    const bad = makeRule<HostFilterRule>({
      kind: 'host-filter',
      tenant: 't1',
      target: Prefix.parse('203.0.113.10/32'),
      match: { destination: Prefix.parse('203.0.113.10/32'), sources: [Prefix.parse('203.0.113.0/25')] },
      action: { type: 'drop' },
      level: 2,
      ttlSeconds: 300,
    });
    const a: ActiveRule = {
      rule: bad,
      via: ['cf-waf'],
      appliedAt: NOW.getTime(),
      expiresAt: NOW.getTime() + 300e3,
    };
    const r = plan({ policy: p, rpki: testRpki(), now: NOW, active: [a] });
    expect(r.ops.map((o) => [o.type, o.rule.id])).to.deep.equal([['withdraw', bad.id]]);
    expect(r.ops[0]?.reason.summary).to.include('protected 203.0.113.0/24');
  });

  it('a level-0 (on-node) host rule never goes to an off-box filter', () => {
    const onNode = makeRule<HostFilterRule>({
      kind: 'host-filter',
      tenant: 't1',
      target: Prefix.parse('203.0.113.10/32'),
      match: { destination: Prefix.parse('203.0.113.10/32'), sources: [Prefix.parse('198.51.100.1/32')] },
      action: { type: 'drop' },
      level: 0,
      ttlSeconds: 300,
    });
    const a: ActiveRule = {
      rule: onNode,
      via: ['cf-waf'],
      appliedAt: NOW.getTime(),
      expiresAt: NOW.getTime() + 300e3,
    };
    const r = plan({ policy: p, rpki: testRpki(), now: NOW, active: [a] });
    expect(r.ops.map((o) => o.type)).to.deep.equal(['withdraw']);
    expect(r.ops[0]?.reason.summary).to.include('does not name for host-filter');
  });

  it('property: whatever the reported sources (ours, never-target, garbage, duplicates), a block never names one of ours and has at most count sources', () => {
    const ip = fc.oneof(
      fc
        .tuple(fc.constantFrom('203.0.113', '198.51.100', '192.0.2'), fc.integer({ min: 0, max: 255 }))
        .map(([n, h]) => `${n}.${h}`),
      fc.constantFrom('0.0.0.0/0', '198.51.100.0/24', '2001:db8::1', 'garbage', ''),
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ ip, count: fc.nat(10_000) }), { maxLength: 12 }),
        fc.boolean(),
        (top, spoofed) => {
          const r = plan({
            policy: p,
            rpki: testRpki(),
            now: NOW,
            active: [],
            incident: incident({ bps: 2e9, top_src_ips: top, spoofing_detected: spoofed }),
          });
          expect(r.refused).to.deep.equal([]);
          for (const op of r.ops.filter((o) => o.rule.kind === 'host-filter')) {
            const sources = (op.rule as HostFilterRule).match.sources ?? [];
            expect(spoofed).to.equal(false);
            expect(sources.length).to.be.within(1, 2);
            for (const s of sources) {
              expect(s.isHost).to.equal(true);
              expect(s.family).to.equal(4);
              expect(
                [...p.protect, ...p.neverTarget].some((q) => q.overlaps(s)),
                String(s),
              ).to.equal(false);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
