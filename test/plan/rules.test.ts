import { expect } from 'chai';
import fc from 'fast-check';
import { Prefix, makeRule, type Rule } from '@ft/sdk';
import { buildRule } from '../../core/plan/rules.js';

const RUNS = Number(process.env.FT_PROPERTY_RUNS ?? 300);

const prefix = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.constantFrom(24, 28, 32))
    .map(([h, l]) => Prefix.covering(Prefix.parse(`203.0.113.${h}`), l)),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(48, 64, 128))
    .map(([h, l]) => Prefix.covering(Prefix.parse(`2001:db8:100::${h.toString(16)}`), l)),
);
const ranges = fc.array(
  fc.integer({ min: 0, max: 65535 }).map((p) => ({ min: p, max: p })),
  { maxLength: 3 },
);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const flags = fc
  .record({ set: fc.subarray(['syn', 'ack', 'rst'] as const), unset: fc.subarray(['ack', 'fin'] as const) })
  .map((f) => ({ set: [...f.set], unset: [...f.unset] }));
const common = {
  tenant: fc.constantFrom('a', 'b'),
  target: prefix,
  level: fc.integer({ min: 0, max: 4 }),
  ttlSeconds: fc.constantFrom(60, 300),
};

const content: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({
    kind: fc.constant('flowspec'),
    ...common,
    match: fc.record({
      destination: prefix,
      source: opt(prefix),
      protocols: opt(fc.subarray([1, 6, 17])),
      sourcePorts: opt(ranges),
      destinationPorts: opt(ranges),
      tcpFlags: opt(flags),
      packetLength: opt(ranges),
    }),
    action: fc.oneof(
      fc.constant({ type: 'discard' }),
      fc.integer({ min: 1, max: 1e9 }).map((b) => ({ type: 'rate-limit', bytesPerSecond: b })),
      fc.constant({ type: 'redirect', routeTarget: '65000:1' }),
    ),
  }),
  fc.record({
    kind: fc.constant('rtbh'),
    ...common,
    communities: fc.subarray(['65535:666', '64500:666', '64496:9999']),
    noExport: fc.boolean(),
    nextHop: opt(fc.constantFrom('192.0.2.1', '100::1')),
  }),
  fc.record({ kind: fc.constant('divert'), ...common, provider: fc.constantFrom('cf', 'ovh') }),
  fc.record({
    kind: fc.constant('host-filter'),
    ...common,
    match: fc.record({
      destination: prefix,
      sources: opt(fc.array(prefix, { maxLength: 3 })),
      protocol: opt(fc.constantFrom('tcp', 'udp')),
      sourcePorts: opt(ranges),
      tcpFlags: opt(flags),
    }),
    action: fc.oneof(
      fc.constant({ type: 'drop' }),
      fc.constant({ type: 'syn-cookies' }),
      fc
        .integer({ min: 1, max: 1e5 })
        .map((p) => ({ type: 'hashlimit', packetsPerSecond: p, burst: p, per: 'source' })),
    ),
  }),
  fc.record({
    kind: fc.constant('shape'),
    ...common,
    match: fc.record({ destination: prefix, protocol: opt(fc.constantFrom('tcp', 'udp')) }),
    bitsPerSecond: fc.integer({ min: 1, max: 1e10 }),
  }),
);

/** Drops undefined fields, as the planner never sets them. */
function clean(c: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (v === undefined) continue;
    const plain = v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Prefix);
    out[k] = plain ? clean(v as Record<string, unknown>) : v;
  }
  return out;
}

describe('rule memo (ids hashed once per content)', () => {
  it('gives exactly the rule makeRule gives', () => {
    fc.assert(
      fc.property(content, (c) => {
        const built = buildRule<Rule>(clean(c) as never);
        expect(JSON.stringify(built)).to.equal(JSON.stringify(makeRule(clean(c) as never)));
      }),
      { numRuns: RUNS },
    );
  });

  it('two different contents never share a memo entry (a wrong rule is never handed out)', () => {
    fc.assert(
      fc.property(content, content, (a, b) => {
        const ra = buildRule<Rule>(clean(a) as never);
        const rb = buildRule<Rule>(clean(b) as never);
        const same = JSON.stringify(makeRule(clean(a) as never)) === JSON.stringify(makeRule(clean(b) as never));
        expect(ra === rb).to.equal(same);
      }),
      { numRuns: RUNS },
    );
  });

  it('contents that differ in a single field (top level or inside match/action) get different rules', () => {
    fc.assert(
      fc.property(content, content, fc.nat(), fc.nat(), (a, b, i, j) => {
        if (a.kind !== b.kind) return;
        const keys = Object.keys(a).filter((k) => k !== 'kind');
        const k = keys[i % keys.length] as string;
        const inner =
          a[k] && typeof a[k] === 'object' && !Array.isArray(a[k]) && !(a[k] instanceof Prefix)
            ? (a[k] as Record<string, unknown>)
            : undefined;
        let variant: Record<string, unknown>;
        if (inner) {
          const innerKeys = [...new Set([...Object.keys(inner), ...Object.keys(b[k] as object)])];
          const ik = innerKeys[j % innerKeys.length] as string;
          variant = { ...a, [k]: { ...inner, [ik]: (b[k] as Record<string, unknown>)[ik] } };
        } else variant = { ...a, [k]: b[k] };
        const same = JSON.stringify(makeRule(clean(a) as never)) === JSON.stringify(makeRule(clean(variant) as never));
        expect(buildRule(clean(a) as never) === buildRule(clean(variant) as never), `${k}`).to.equal(same);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('memoised rules are frozen, so no consumer can change a rule another plan holds', () => {
    const dst = Prefix.parse('203.0.113.10/32');
    const r = buildRule<Rule>({
      kind: 'flowspec',
      tenant: 't',
      target: dst,
      level: 1,
      ttlSeconds: 300,
      match: { destination: dst, protocols: [17] },
      action: { type: 'discard' },
    } as never);
    expect(Object.isFrozen(r)).to.equal(true);
    expect(() => {
      (r as { match: { protocols: number[] } }).match.protocols.push(6);
    }).to.throw(TypeError);
  });
});
