import fc from 'fast-check';
import {
  makeRule,
  Prefix,
  type FlowSpecAction,
  type FlowSpecMatch,
  type FlowSpecRule,
  type Range,
  type TcpFlagName,
} from '@ft/sdk';
import { mergeRanges } from '../src/flowspec-ops.js';

const FLAGS: TcpFlagName[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'];

const v4Host = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 32 }))
  .map(([b, len]) => Prefix.parse(`203.0.113.${b}/${len}`, { truncate: true }));
const v6Host = fc
  .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 32, max: 128 }))
  .map(([w, len]) => Prefix.parse(`2001:db8:100::${w.toString(16)}/${len}`, { truncate: true }));

/** Sorted, non-overlapping, non-adjacent ranges: the canonical form a decoder gives back. */
export const ranges = (max: number) =>
  fc
    .array(fc.tuple(fc.integer({ min: 0, max }), fc.integer({ min: 0, max: 300 })), { minLength: 1, maxLength: 4 })
    .map((xs) => mergeRanges(xs.map(([a, w]): Range => ({ min: a, max: Math.min(max, a + w) }))));

const values = (max: number) =>
  fc.uniqueArray(fc.integer({ min: 0, max }), { minLength: 1, maxLength: 4 }).map((v) => [...v].sort((a, b) => a - b));

const flags = fc
  .tuple(fc.subarray(FLAGS), fc.subarray(FLAGS))
  .map(([set, unset]) => ({
    set: FLAGS.filter((f) => set.includes(f)),
    unset: FLAGS.filter((f) => unset.includes(f) && !set.includes(f)),
  }))
  .filter((f) => f.set.length + f.unset.length > 0);

export const action: fc.Arbitrary<FlowSpecAction> = fc.oneof(
  fc.constant({ type: 'discard' as const }),
  fc.integer({ min: 1, max: 1_000_000 }).map((n) => ({ type: 'rate-limit' as const, bytesPerSecond: n * 8 })),
  fc.integer({ min: 0, max: 63 }).map((dscp) => ({ type: 'mark' as const, dscp })),
  fc
    .tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 65535 }))
    .map(([a, b]) => ({ type: 'redirect' as const, routeTarget: `${a}:${b}` })),
);

export const match: fc.Arbitrary<FlowSpecMatch> = fc
  .boolean()
  .chain((v6) =>
    fc.record(
      {
        destination: v6 ? v6Host : v4Host,
        source: fc.option(v6 ? v6Host : v4Host, { nil: undefined }),
        // Mostly the protocols attacks use (and ICMPv6, which the gobgp CLI only knows by number), sometimes any.
        protocols: fc.option(
          fc.oneof(
            fc
              .uniqueArray(fc.constantFrom(1, 6, 17, 47, 58), { minLength: 1, maxLength: 3 })
              .map((v) => [...v].sort((a, b) => a - b)),
            values(255),
          ),
          { nil: undefined },
        ),
        sourcePorts: fc.option(ranges(65535), { nil: undefined }),
        destinationPorts: fc.option(ranges(65535), { nil: undefined }),
        tcpFlags: fc.option(flags, { nil: undefined }),
        packetLength: fc.option(ranges(65535), { nil: undefined }),
        icmpType: fc.option(values(255), { nil: undefined }),
        icmpCode: fc.option(values(255), { nil: undefined }),
        dscp: fc.option(values(63), { nil: undefined }),
        fragment: fc.option(
          fc
            .constantFrom(
              ...(v6
                ? (['is-fragment', 'first-fragment', 'last-fragment'] as const)
                : (['dont-fragment', 'is-fragment', 'first-fragment', 'last-fragment'] as const)),
            )
            .map((f) => [f]),
          { nil: undefined },
        ),
      },
      { requiredKeys: ['destination'] },
    ),
  )
  .map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as unknown as FlowSpecMatch);

export const flowspecRule: fc.Arbitrary<FlowSpecRule> = fc.tuple(match, action).map(([m, a]) =>
  makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant: 'prop',
    target: m.destination,
    level: 1,
    ttlSeconds: 60,
    match: m,
    action: a,
  }),
);
