import { expect } from 'chai';
import fc from 'fast-check';
import { ATTACK_FAMILIES, VECTOR_NAMES } from '@ft/sdk';
import type { Incident } from '../../core/model/incident.js';
import type { ActiveRule, Plan } from '../../core/model/plan.js';
import { plan } from '../../core/plan/index.js';
import { rulePrefixes } from '../../core/plan/rails.js';
import { parsePolicy } from '../../core/policy/index.js';
import type { Policy } from '../../core/policy/types.js';
import { NOW, incident, testRpki } from './helpers.js';

const RUNS = Number(process.env.FT_PROPERTY_RUNS ?? 150);

// Hosts and prefixes only from the documentation ranges; protect covers some of them, not all.
const v4host = fc
  .tuple(fc.constantFrom('203.0.113', '198.51.100', '192.0.2'), fc.integer({ min: 0, max: 255 }))
  .map(([n, h]) => `${n}.${h}`);
const v6host = fc
  .tuple(fc.constantFrom('2001:db8:100', '2001:db8:200'), fc.integer({ min: 0, max: 0xffff }))
  .map(([n, h]) => `${n}::${h.toString(16)}`);
const host = fc.oneof(v4host, v6host);
const target = fc.oneof(
  { weight: 4, arbitrary: host },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '203.0.113.64/26',
      '203.0.113.0/25',
      '198.51.100.0/24',
      '2001:db8:100::/64',
      '2001:db8:100::/40',
    ),
  },
);

interface PolicyShape {
  protect: string[];
  never: string[];
  levels: { kind: 'rate' | 'discard' | 'rtbh' | 'scrub'; gbps: number }[];
  maxRules: number;
  atCap: 'refuse' | 'aggregate';
  capGame: boolean;
  onNode: boolean;
}

const policyShape: fc.Arbitrary<PolicyShape> = fc.record({
  protect: fc.uniqueArray(fc.constantFrom('203.0.113.0/24', '198.51.100.0/25', '2001:db8:100::/48'), {
    minLength: 1,
    maxLength: 3,
  }),
  never: fc.array(host, { maxLength: 3 }),
  levels: fc.array(
    fc.record({
      kind: fc.constantFrom('rate' as const, 'discard' as const, 'rtbh' as const, 'scrub' as const),
      gbps: fc.double({ min: 0.01, max: 8, noNaN: true }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  maxRules: fc.integer({ min: 1, max: 8 }),
  atCap: fc.constantFrom('refuse' as const, 'aggregate' as const),
  capGame: fc.boolean(),
  onNode: fc.boolean(),
});

function buildPolicy(s: PolicyShape): Policy {
  const thresholds = s.levels.map((l) => l.gbps).sort((a, b) => a - b);
  const levels = s.levels.map((l, i) => {
    const when = `when: { bps: ">${Math.round((thresholds[i] as number) * 1000)}Mbps" }`;
    const act =
      l.kind === 'rate'
        ? 'do: { flowspec: { then: rate-limit, rate: 10Mbps } }, via: [s1]'
        : l.kind === 'discard'
          ? 'do: { flowspec: { then: discard } }, via: [s1, s2]'
          : l.kind === 'rtbh'
            ? 'do: { rtbh: {} }, via: [s1]'
            : 'do: { scrub: { provider: sc } }';
    return `  - { level: ${i + 1}, ${when}, ${act} }`;
  });
  const text = `version: 1
tenant: t1
asn: 64500
defaults: { maxRules: ${s.maxRules}, cooldown: 2m, ttl: 5m }
protect: [${s.protect.join(', ')}]
neverTarget: [${[...new Set(s.never)].join(', ')}]
targets: ${s.capGame && s.protect.includes('203.0.113.0/24') ? '[{ name: game, prefix: 203.0.113.64/26, maxLevel: 1 }]' : '[]'}
speakers: { s1: { adapter: gobgp }, s2: { adapter: exabgp } }
scrubbers: { sc: { adapter: scrub-x, originAs: 64510${s.protect.includes('198.51.100.0/25') ? ', divertLength: { v4: 25 }' : ''} } }
escalation:
${levels.join('\n')}
onNode: ${s.onNode ? '[{ when: { bps: ">1Mbps" }, do: [ { nft: { dropUdpSourcePorts: auto } }, { ipset: { dropTopSources: 3 } } ] }]' : '[]'}
atCap: ${s.atCap}
`;
  return parsePolicy(text, 'generated.yaml');
}

const incidentArb = fc
  .record({
    target,
    bps: fc.double({ min: 0, max: 1e10, noNaN: true }),
    family: fc.constantFrom(...ATTACK_FAMILIES),
    vector: fc.uniqueArray(fc.constantFrom(...VECTOR_NAMES), { maxLength: 3 }),
    sources: fc.array(fc.oneof(v4host, fc.constant('garbage')), { maxLength: 4 }),
    spoofed: fc.boolean(),
  })
  .map((r) =>
    incident({
      target: r.target,
      bps: r.bps,
      pps: r.bps / 8000,
      attack_family: r.family,
      vector: r.vector,
      spoofing_detected: r.spoofed,
      top_src_ips: r.sources.map((ip, i) => ({ ip, count: 10 - i })),
    }),
  );

/** Active rules as an earlier run of the same planner would have left them, of various ages. */
function activeFrom(policy: Policy, incidents: Incident[], ages: number[]): ActiveRule[] {
  const out = new Map<string, ActiveRule>();
  incidents.forEach((inc, i) => {
    const age = ages[i % ages.length] ?? 0;
    for (const op of plan({ policy, incident: inc, active: [], now: NOW, rpki: testRpki() }).ops) {
      out.set(op.rule.id, {
        rule: op.rule,
        via: op.via,
        incidentId: inc.id,
        appliedAt: NOW.getTime() - age * 1000,
        expiresAt: NOW.getTime() - age * 1000 + op.rule.ttlSeconds * 1000,
      });
    }
  });
  return [...out.values()];
}

const setup = fc.record({
  shape: policyShape,
  inc: incidentArb,
  earlier: fc.array(incidentArb, { maxLength: 4 }),
  ages: fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 4 }),
  sameIncident: fc.boolean(),
});

function liveAfter(p: Plan, active: ActiveRule[], tenant: string): Set<string> {
  const withdrawn = new Set(p.ops.filter((o) => o.type === 'withdraw').map((o) => o.rule.id as string));
  const live = new Set(
    active.filter((a) => a.rule.tenant === tenant && !withdrawn.has(a.rule.id)).map((a) => a.rule.id as string),
  );
  for (const o of p.ops) if (o.type === 'add' && o.rule.tenant === tenant) live.add(o.rule.id);
  return live;
}

describe('planner properties (fast-check over generated policies × incidents × active rules)', () => {
  it('no added or refreshed rule ever targets outside protected space, inside a never-target, or a too-short prefix', () => {
    fc.assert(
      fc.property(setup, ({ shape, inc, earlier, ages }) => {
        const policy = buildPolicy(shape);
        const active = activeFrom(policy, earlier, ages);
        const p = plan({ policy, incident: inc, active, now: NOW, rpki: testRpki() });
        for (const op of p.ops) {
          if (op.type === 'withdraw') continue;
          for (const pre of rulePrefixes(op.rule)) {
            expect(
              policy.protect.some((q) => q.contains(pre)),
              `${pre} outside protect`,
            ).to.equal(true);
            const min = pre.family === 4 ? policy.defaults.minPrefixLength.v4 : policy.defaults.minPrefixLength.v6;
            expect(pre.length).to.be.at.least(min);
            const bad = policy.neverTarget.find((n) => (op.rule.kind === 'divert' ? n.contains(pre) : n.overlaps(pre)));
            expect(bad, `${op.rule.kind} ${pre} hits never-target ${bad}`).to.equal(undefined);
          }
          // Only actions the policy names, in their role, ever receive a rule.
          for (const v of op.via) {
            const named =
              op.rule.kind === 'flowspec' || op.rule.kind === 'rtbh'
                ? policy.speakers.has(v)
                : op.rule.kind === 'divert'
                  ? policy.scrubbers.has(v)
                  : policy.nodeActions.has(v);
            expect(named, `${op.rule.kind} via ${v}`).to.equal(true);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('no plan takes a tenant above its cap (counted over active and new rules)', () => {
    // Busy tenants: many earlier attacks inside protected space, so the cap is really reached.
    const busy = fc.record({
      shape: policyShape.map((s) => ({ ...s, protect: [...new Set(['203.0.113.0/24', ...s.protect])] })),
      inc: incidentArb,
      earlier: fc.array(
        fc
          .tuple(fc.integer({ min: 0, max: 255 }), fc.double({ min: 1e8, max: 1e10, noNaN: true }))
          .map(([h, bps]) => incident({ id: `e${h}`, target: `203.0.113.${h}`, bps, vector: ['dns'] })),
        { minLength: 1, maxLength: 10 },
      ),
      ages: fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(busy, ({ shape, inc, earlier, ages }) => {
        const policy = buildPolicy(shape);
        const active = activeFrom(policy, earlier, ages);
        const p = plan({ policy, incident: inc, active, now: NOW, rpki: testRpki() });
        const before = new Set(active.map((a) => a.rule.id as string));
        const added = p.ops.filter((o) => o.type === 'add' && !before.has(o.rule.id));
        if (added.length > 0) expect(liveAfter(p, active, 't1').size).to.be.at.most(policy.defaults.maxRules);
      }),
      { numRuns: RUNS },
    );
  });

  it('plans are deterministic: same input, same plan, whatever the order of active rules', () => {
    fc.assert(
      fc.property(setup, fc.integer(), ({ shape, inc, earlier, ages }, seed) => {
        const policy = buildPolicy(shape);
        const active = activeFrom(policy, earlier, ages);
        const shuffled = [...active]
          .sort((a, b) => ((a.rule.id.charCodeAt(3) * seed) % 7) - ((b.rule.id.charCodeAt(3) * seed) % 7))
          .reverse();
        const a = plan({ policy, incident: inc, active, now: NOW, rpki: testRpki() });
        const b = plan({ policy, incident: inc, active: shuffled, now: NOW, rpki: testRpki() });
        expect(JSON.stringify(b)).to.equal(JSON.stringify(a));
      }),
      { numRuns: RUNS },
    );
  });

  it('a frozen snapshot (indexed once) gives the very plan an unfrozen one (walked) gives, for incidents and the periodic re-plan', () => {
    // Earlier attacks on the same target (other volumes and families) and on busy neighbours, so that withdraws,
    // cooldowns and the cap all come into play; some entries carry no incident id (matched by target instead).
    const snapshot = fc.record({
      shape: policyShape.map((s) => ({ ...s, protect: [...new Set(['203.0.113.0/24', ...s.protect])] })),
      inc: incidentArb,
      same: fc.array(
        fc.record({
          bps: fc.double({ min: 1e7, max: 1e10, noNaN: true }),
          family: fc.constantFrom(...ATTACK_FAMILIES),
        }),
        { maxLength: 4 },
      ),
      busy: fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.double({ min: 1e8, max: 1e10, noNaN: true })), {
        maxLength: 8,
      }),
      ages: fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 4 }),
      owned: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    });
    let unownedOfTarget = 0;
    let withdrawing = 0;
    let capped = 0;
    fc.assert(
      fc.property(snapshot, ({ shape, inc, same, busy, ages, owned }) => {
        const policy = buildPolicy(shape);
        const earlier = [
          ...same.map((e, i) =>
            incident({
              id: `s${i}`,
              target: String(inc.target),
              bps: e.bps,
              pps: e.bps / 8000,
              attack_family: e.family,
              vector: ['dns'],
            }),
          ),
          ...busy.map(([h, bps]) => incident({ id: `e${h}`, target: `203.0.113.${h}`, bps, vector: ['dns'] })),
        ];
        const active = activeFrom(policy, earlier, ages).map((a, i) => {
          if (owned[i % owned.length]) return a;
          const { incidentId: _drop, ...rest } = a;
          void _drop;
          if (rest.rule.target.overlaps(inc.target)) unownedOfTarget++;
          return rest;
        });
        const frozen = Object.freeze([...active]);
        for (const incident of [inc, undefined]) {
          const input = { policy, ...(incident ? { incident } : {}), now: NOW };
          const walked = plan({ ...input, active, rpki: testRpki() });
          const indexed = plan({ ...input, active: frozen, rpki: testRpki() });
          expect(JSON.stringify(indexed)).to.equal(JSON.stringify(walked));
          // Planned again against the same frozen snapshot (its index reused): still the same plan.
          expect(JSON.stringify(plan({ ...input, active: frozen, rpki: testRpki() }))).to.equal(JSON.stringify(walked));
          if (walked.ops.some((o) => o.type === 'withdraw')) withdrawing++;
          if (walked.refused.some((r) => r.rail === 'cap') || walked.notes.some((n) => n.includes('aggregated')))
            capped++;
        }
      }),
      { numRuns: RUNS },
    );
    // The generator must really reach the paths the index replaces.
    expect(unownedOfTarget, 'entries without incident id on the target').to.be.greaterThan(0);
    expect(withdrawing, 'plans with withdraws').to.be.greaterThan(0);
    expect(capped, 'plans at the cap').to.be.greaterThan(0);
  });

  it('escalation is monotone in attack volume', () => {
    fc.assert(
      fc.property(policyShape, incidentArb, fc.double({ min: 0, max: 1e10, noNaN: true }), (shape, inc, other) => {
        const policy = buildPolicy(shape);
        const level = (bps: number) =>
          Math.max(
            0,
            ...plan({ policy, incident: { ...inc, bps }, active: [], now: NOW, rpki: testRpki() }).ops.map(
              (o) => o.rule.level,
            ),
          );
        const [lo, hi] = inc.bps <= other ? [inc.bps, other] : [other, inc.bps];
        expect(level(lo)).to.be.at.most(level(hi));
      }),
      { numRuns: RUNS },
    );
  });

  it('withdraws exactly the rules of the incident that are no longer wanted (past cooldown)', () => {
    fc.assert(
      fc.property(
        policyShape,
        incidentArb,
        fc.array(fc.double({ min: 0, max: 1e10, noNaN: true }), { maxLength: 4 }),
        (shape, inc, earlierBps) => {
          const policy = buildPolicy({ ...shape, maxRules: 1000 });
          const wanted = new Set(
            plan({ policy, incident: inc, active: [], now: NOW, rpki: testRpki() }).ops.map((o) => o.rule.id as string),
          );
          // Earlier states of the same incident, applied 150 s ago (past the 2 min cooldown), not yet expired.
          const active = activeFrom(
            policy,
            earlierBps.map((bps) => ({ ...inc, bps })),
            [150],
          );
          const p = plan({ policy, incident: inc, active, now: NOW, rpki: testRpki() });
          const withdrawn = p.ops
            .filter((o) => o.type === 'withdraw')
            .map((o) => o.rule.id as string)
            .sort();
          const expected = active
            .map((a) => a.rule.id as string)
            .filter((id) => !wanted.has(id))
            .sort();
          expect(withdrawn).to.deep.equal(expected);
          for (const id of wanted) expect(withdrawn).to.not.include(id);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a target is either planned for or refused whole; the refused plan has no ops', () => {
    fc.assert(
      fc.property(setup, ({ shape, inc }) => {
        const policy = buildPolicy(shape);
        const p = plan({ policy, incident: inc, active: [], now: NOW, rpki: testRpki() });
        const inside = policy.protect.some((q) => q.contains(inc.target));
        if (!inside) {
          expect(p.ops).to.deep.equal([]);
          expect(p.refused[0]?.rail).to.equal('outside-protect');
        }
        if (p.notes.some((n) => n.startsWith('plan refused whole'))) expect(p.ops).to.deep.equal([]);
      }),
      { numRuns: RUNS },
    );
  });
});
