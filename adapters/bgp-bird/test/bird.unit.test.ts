import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefix, type Range, type TcpFlagName } from '@ft/sdk';
import { requireLab } from '../../../test/helpers/env.js';
import { run } from '../../../test/helpers/net.js';
import { context, expectedTags, flow, rtbh } from '../../bgp-exabgp/test/rules.js';
import { BirdAction } from '../src/action.js';
import { birdConfigSchema } from '../src/config.js';
import {
  float32Bits,
  parseIncludeFile,
  renderFlowSpec,
  renderIncludeFile,
  renderRtbh,
  type BirdRoute,
  type RenderOptions,
} from '../src/render.js';
import { parseBgpSessions, parseShowRouteAll } from '../src/rib.js';

const opts: RenderOptions = {
  tagAsn: 65000,
  nextHops: { ipv4: Prefix.parse('192.0.2.1'), ipv6: Prefix.parse('100::1') },
};
const fileOpts = {
  protocolPrefix: 'ft',
  tables: { flow4: 'flowtab4', flow6: 'flowtab6', ipv4: 'master4', ipv6: 'master6' },
};

function tags(id: string): string {
  return expectedTags(65000, id)
    .map((t) => `bgp_large_community.add((${t.split(':').join(', ')}));`)
    .join(' ');
}

describe('bgp-bird rendering and parsing', () => {
  it('encodes traffic-rate as IEEE-754 single precision (RFC 8955)', () => {
    expect(float32Bits(125000)).to.equal(0x47f42400);
    expect(float32Bits(0)).to.equal(0);
  });

  it('renders a SYN-flood rate-limit as a BIRD flow4 static route', () => {
    const rule = flow(
      {
        destination: '203.0.113.10/32',
        protocols: [6],
        destinationPorts: [
          { min: 443, max: 443 },
          { min: 8000, max: 8080 },
        ],
        tcpFlags: { set: ['syn'], unset: ['ack'] },
        fragment: ['is-fragment', 'first-fragment'],
      },
      { type: 'rate-limit', bytesPerSecond: 125000 },
    );
    expect(renderFlowSpec(rule, opts)).to.deep.equal({
      slot: 'flow4',
      line:
        'route flow4 { dst 203.0.113.10/32; proto 6; dport 443, 8000..8080; tcp flags 0x2/0x12; fragment is_fragment || first_fragment; } ' +
        `{ bgp_ext_community.add((generic, 0x80060000, 0x47f42400)); ${tags(rule.id)} }; # ft-rule ${rule.id}`,
    });
  });

  it('encodes redirect for 2- and 4-octet AS route targets and DSCP marks', () => {
    const two = flow({ destination: '203.0.113.1/32' }, { type: 'redirect', routeTarget: '65000:999' });
    expect(renderFlowSpec(two, opts).line).to.include('(generic, 0x8008fde8, 0x3e7)');
    const four = flow({ destination: '203.0.113.1/32' }, { type: 'redirect', routeTarget: '4200000000:10' });
    // 4200000000 = 0xFA56EA00: high half into the type word, low half and the value into the second word.
    expect(renderFlowSpec(four, opts).line).to.include('(generic, 0x8208fa56, 0xea00000a)');
    const mark = flow({ destination: '2001:db8::1/128', protocols: [17] }, { type: 'mark', dscp: 46 });
    expect(renderFlowSpec(mark, opts)).to.deep.include({ slot: 'flow6' });
    expect(renderFlowSpec(mark, opts).line).to.match(
      /^route flow6 \{ dst 2001:db8::1\/128; next header 17; \} \{ bgp_ext_community.add\(\(generic, 0x80090000, 0x2e\)\);/,
    );
  });

  it('renders RTBH with BLACKHOLE, NO_EXPORT as (65535, 65281) and the next hop', () => {
    const r = rtbh('203.0.113.66/32', { communities: ['64500:666'], nextHop: '192.0.2.66' });
    expect(renderRtbh(r, opts).line).to.equal(
      `route 203.0.113.66/32 blackhole { bgp_community.add((65535, 666)); bgp_community.add((64500, 666)); bgp_community.add((65535, 65281)); ${tags(r.id)} bgp_next_hop = 192.0.2.66; }; # ft-rule ${r.id}`,
    );
  });

  it('reads its own include file back, route for route', () => {
    const routes = [
      renderRtbh(rtbh('203.0.113.7/32'), opts),
      renderFlowSpec(flow({ destination: '2001:db8::7/128' }, { type: 'discard' }), opts),
    ];
    const text = renderIncludeFile(routes, fileOpts);
    const back = parseIncludeFile(text);
    expect([...back.values()].sort((a, b) => a.slot.localeCompare(b.slot))).to.deep.equal(
      [...routes].sort((a, b) => a.slot.localeCompare(b.slot)),
    );
  });

  it('reads tagged routes and BGP session states from birdc output (recorded from BIRD 2.0.12)', () => {
    const r = rtbh('203.0.113.10/32');
    const hex = r.id.slice(3);
    const out = [
      'BIRD 2.0.12 ready.',
      'Table master4:',
      '203.0.113.10/32      blackhole [ft_rtbh4 00:00:19.573] * (200)',
      '\tType: static univ',
      '\tBGP.next_hop: 192.0.2.66',
      '\tBGP.community: (65535,666) (65535,65281)',
      `\tBGP.large_community: (65000, 1718878208, 2) (65000, ${parseInt(hex.slice(0, 8), 16)}, ${parseInt(hex.slice(8), 16)})`,
      'flow4 { dst 203.0.113.11/32; src 198.51.100.0/24; }  [ft_flow4 00:00:19.573] * (200)',
      '\tType: static univ',
      '\tBGP.ext_community: (generic, 0x80060000, 0x47f42400)',
    ].join('\n');
    expect(parseShowRouteAll(out, 65000).map((x) => [x.net, x.protocol, x.ruleId])).to.deep.equal([
      ['203.0.113.10/32', 'ft_rtbh4', r.id],
      ['flow4 { dst 203.0.113.11/32; src 198.51.100.0/24; }', 'ft_flow4', undefined],
    ]);
    const protos = [
      'BIRD 2.0.12 ready.',
      'Name       Proto      Table      State  Since         Info',
      'ft_flow4   Static     flowtab4   up     00:00:19.573',
      'edge       BGP        ---        up     00:00:23.693  Established',
      '  BGP state:          Established',
      'backup     BGP        ---        start  2026-11-21    Active        Socket: Connection refused',
      '  BGP state:          Active',
    ].join('\n');
    expect(parseBgpSessions(protos)).to.deep.equal([
      { name: 'edge', state: 'Established' },
      { name: 'backup', state: 'Active' },
    ]);
  });

  it('parses any birdc output without throwing, claiming only routes with both ft tags', () => {
    const piece = fc.constantFrom(
      '203.0.113.1/32',
      'flow4 { dst 203.0.113.1/32; }',
      ' blackhole',
      ' [ft_rtbh4 00:00:01]',
      ' * (200)',
      '\n',
      '\t',
      'BGP.large_community: ',
      '(65000, 1718878208, 2)',
      '(65000, 1, 2)',
      '(65000, 1, 3)',
      'BGP state: Established',
      'edge BGP --- up 00:00 Established',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 20 })), { maxLength: 30 }), (parts) => {
        const text = parts.join('');
        parseBgpSessions(text);
        parseIncludeFile(text);
        for (const r of parseShowRouteAll(text, 65000)) {
          if (r.ruleId)
            expect(r.largeCommunities.some((c) => c.asn === 65000 && c.data1 === 1718878208)).to.equal(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('create() touches nothing and the config refuses names that are not BIRD identifiers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-bird-unit-'));
    try {
      const include = join(dir, 'ft.conf');
      const a = new BirdAction(
        birdConfigSchema.parse({ includeFile: include, tagAsn: 65000 }),
        context('preview', dir),
      );
      expect(a.render(rtbh('203.0.113.5/32'))[0]?.text).to.match(
        /^protocol static ft_rtbh4 \{ \.\.\. route 203\.0\.113\.5\/32 blackhole/,
      );
      // Preview of a withdrawal: the same protocol without the route, then a reconfigure.
      expect(a.renderWithdraw(rtbh('203.0.113.5/32'))[0]?.text).to.match(
        new RegExp(
          `^protocol static ft_rtbh4 \\{ \\.\\.\\. without route 203\\.0\\.113\\.5/32 blackhole.*rewrite ${include}, then birdc configure$`,
        ),
      );
      expect(run(['ls', dir]).stdout.trim()).to.equal('');
      expect(() => birdConfigSchema.parse({ includeFile: include, tagAsn: 65000, tables: { flow4: 'x; }' } })).to.throw(
        /identifier/,
      );
      expect(() => birdConfigSchema.parse({ includeFile: 'relative.conf', tagAsn: 65000 })).to.throw(/absolute/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("BIRD's own parser accepts every rendered include file", function () {
    this.timeout(60_000);
    before(function () {
      requireLab(this, { commands: ['bird'] });
    });

    it('for random valid rules, including tag values above 2^31', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ft-bird-parse-'));
      try {
        const range = fc
          .tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }))
          .map(([a, b]): Range => ({ min: Math.min(a, b), max: Math.max(a, b) }));
        const flags = fc.subarray(['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] as TcpFlagName[], {
          minLength: 1,
        });
        const arb = fc.record({
          v6: fc.boolean(),
          host: fc.integer({ min: 1, max: 254 }),
          source: fc.boolean(),
          protocols: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 3 }), {
            nil: undefined,
          }),
          sport: fc.option(fc.array(range, { minLength: 1, maxLength: 3 }), { nil: undefined }),
          dport: fc.option(fc.array(range, { minLength: 1, maxLength: 3 }), { nil: undefined }),
          length: fc.option(fc.array(range, { minLength: 1, maxLength: 2 }), { nil: undefined }),
          flags: fc.option(flags, { nil: undefined }),
          icmp: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
          dscp: fc.option(fc.integer({ min: 0, max: 63 }), { nil: undefined }),
          fragment: fc.option(
            fc.subarray(['dont-fragment', 'is-fragment', 'first-fragment', 'last-fragment'] as const, { minLength: 1 }),
            { nil: undefined },
          ),
          action: fc.oneof(
            fc.constant({ type: 'discard' as const }),
            fc
              .double({ min: 1, max: 1e12, noNaN: true })
              .map((n) => ({ type: 'rate-limit' as const, bytesPerSecond: n })),
            fc
              .tuple(fc.integer({ min: 1, max: 4294967295 }), fc.integer({ min: 0, max: 65535 }))
              .map(([as, v]) => ({ type: 'redirect' as const, routeTarget: `${as}:${v}` })),
            fc.integer({ min: 0, max: 63 }).map((d) => ({ type: 'mark' as const, dscp: d })),
          ),
          tenant: fc.string({ minLength: 1, maxLength: 8 }),
        });
        fc.assert(
          fc.property(fc.array(arb, { minLength: 1, maxLength: 8 }), fc.boolean(), (rules, withRtbh) => {
            const routes: BirdRoute[] = rules.map((r) =>
              renderFlowSpec(
                flow(
                  {
                    destination: r.v6 ? `2001:db8::${r.host.toString(16)}/128` : `203.0.113.${r.host}/32`,
                    source: r.source ? Prefix.parse(r.v6 ? '2001:db8:1::/48' : '198.51.100.0/24') : undefined,
                    protocols: r.protocols,
                    sourcePorts: r.sport,
                    destinationPorts: r.dport,
                    packetLength: r.length,
                    tcpFlags: r.flags ? { set: r.flags.slice(0, 1), unset: r.flags.slice(1) } : undefined,
                    icmpType: r.icmp === undefined ? undefined : [r.icmp],
                    icmpCode: r.icmp === undefined ? undefined : [0],
                    dscp: r.dscp === undefined ? undefined : [r.dscp],
                    fragment:
                      r.fragment && (!r.v6 || r.fragment.some((f) => f !== 'dont-fragment'))
                        ? r.fragment.filter((f) => !r.v6 || f !== 'dont-fragment')
                        : undefined,
                  },
                  r.action,
                  r.tenant,
                ),
                opts,
              ),
            );
            if (withRtbh)
              routes.push(
                renderRtbh(rtbh('203.0.113.99/32', { communities: ['64500:666'] }), opts),
                renderRtbh(rtbh('2001:db8::99/128'), opts),
              );
            // A tag at the top of the 32-bit range, which a signed parser would refuse.
            routes.push({
              slot: 'rtbh4',
              line: 'route 203.0.113.98/32 blackhole { bgp_large_community.add((4294967295, 1718878208, 2)); bgp_large_community.add((4294967295, 4294967295, 4294967295)); }; # ft-rule bh-ffffffffffffffff',
            });
            const include = join(dir, 'ft.conf');
            writeFileSync(include, renderIncludeFile(routes, fileOpts));
            const conf = join(dir, 'bird.conf');
            writeFileSync(
              conf,
              `router id 192.0.2.1;\nflow4 table flowtab4;\nflow6 table flowtab6;\ninclude "${include}";\n`,
            );
            const r = run(['bird', '-p', '-c', conf], { allowFail: true });
            expect(r.status, `${r.stderr}\n${renderIncludeFile(routes, fileOpts)}`).to.equal(0);
          }),
          { numRuns: 40 },
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
