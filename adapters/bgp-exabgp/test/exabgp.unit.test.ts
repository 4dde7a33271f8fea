import { expect } from 'chai';
import fc from 'fast-check';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, Prefix, type FlowSpecRule, type Range, type TcpFlagName } from '@ft/sdk';
import plugin from '../src/plugin.js';
import { renderFlowSpec, renderRtbh, type RenderOptions } from '../src/render.js';
import { parseNeighborSummary, parseRib, parseRibLine, withdrawForNativeId } from '../src/rib.js';
import { ownerHash, ruleIdFromTags, ruleTags } from '../src/tag.js';
import { context, expectedTags, flow, rtbh } from './rules.js';

const opts: RenderOptions = {
  tagAsn: 65000,
  neighbors: [],
  nextHops: { ipv4: Prefix.parse('192.0.2.1'), ipv6: Prefix.parse('100::1') },
};

function tagsText(id: string): string {
  return `[ ${expectedTags(65000, id).join(' ')} ]`;
}

describe('bgp-exabgp rendering and parsing', () => {
  it('renders a SYN-flood rate-limit as the ExaBGP 4.2 flow syntax', () => {
    const rule = flow(
      {
        destination: '203.0.113.10/32',
        protocols: [6],
        destinationPorts: [
          { min: 443, max: 443 },
          { min: 8000, max: 8080 },
        ],
        tcpFlags: { set: ['syn'], unset: ['ack', 'psh'] },
      },
      { type: 'rate-limit', bytesPerSecond: 125000.4 },
    );
    const c = renderFlowSpec(rule, opts);
    expect(c.announce).to.equal(
      'announce flow route { match { destination 203.0.113.10/32; protocol [ =6 ]; destination-port [ =443 >=8000&<=8080 ]; tcp-flags [ =syn&!ack+push ]; } ' +
        `then { rate-limit 125000; large-community ${tagsText(rule.id)}; } }`,
    );
    expect(c.withdraw).to.equal(
      'withdraw flow route { match { destination 203.0.113.10/32; protocol [ =6 ]; destination-port [ =443 >=8000&<=8080 ]; tcp-flags [ =syn&!ack+push ]; } }',
    );
  });

  it('uses next-header for IPv6 and names the neighbors when limited to some', () => {
    const rule = flow(
      { destination: '2001:db8::10/128', protocols: [17], sourcePorts: [{ min: 123, max: 123 }] },
      { type: 'discard' },
    );
    const c = renderFlowSpec(rule, { ...opts, neighbors: ['192.0.2.2', '2001:db8::2'] });
    expect(c.announce).to.match(
      /^neighbor 192\.0\.2\.2, neighbor 2001:db8::2 announce flow route \{ match \{ destination 2001:db8::10\/128; next-header \[ =17 \]; source-port \[ =123 \]; \}/,
    );
  });

  it("renders RTBH with BLACKHOLE first, extra communities, NO_EXPORT and the family's discard next hop", () => {
    const r = rtbh('2001:db8::66/128', { communities: ['64500:666', '65535:666'], noExport: true });
    expect(renderRtbh(r, opts).announce).to.equal(
      `announce route 2001:db8::66/128 next-hop 100::1 community [ 65535:666 64500:666 no-export ] large-community ${tagsText(r.id)}`,
    );
    expect(() => renderRtbh(rtbh('203.0.113.1/32', { nextHop: '100::1' }), opts)).to.throw(/not an IPv4 address/);
  });

  it('refuses values that do not fit their field, naming the rule', () => {
    const cases: [Partial<FlowSpecRule['match']>, FlowSpecRule['action'], RegExp][] = [
      [{ protocols: [256] }, { type: 'discard' }, /protocols/],
      [{ sourcePorts: [{ min: 10, max: 5 }] }, { type: 'discard' }, /source ports/],
      [{ dscp: [64] }, { type: 'discard' }, /DSCP/],
      [{ tcpFlags: { set: ['syn'], unset: ['syn'] } }, { type: 'discard' }, /both set and unset/],
      [{}, { type: 'redirect', routeTarget: '4200000000:70000' }, /0\.\.65535/],
      [{}, { type: 'rate-limit', bytesPerSecond: Number.NaN }, /rate-limit/],
      [{}, { type: 'mark', dscp: 1.5 }, /mark/],
    ];
    for (const [match, action, re] of cases) {
      const r = flow({ destination: '203.0.113.9/32', ...match } as never, action);
      expect(() => renderFlowSpec(r, opts), JSON.stringify(match)).to.throw(re);
      expect(() => renderFlowSpec(r, opts)).to.throw(r.id);
    }
  });

  it("reads ft's routes back from `show adj-rib out extensive` (recorded from ExaBGP 4.2.21)", () => {
    const r = rtbh('203.0.113.10/32');
    const hex = r.id.slice(3);
    const hi = parseInt(hex.slice(0, 8), 16);
    const lo = parseInt(hex.slice(8), 16);
    const head =
      'neighbor 192.0.2.2 local-ip 192.0.2.1 local-as 65000 peer-as 65001 router-id 192.0.2.1 family-allowed in-open';
    const lines = [
      `${head} ipv4 unicast 203.0.113.10/32 next-hop 192.0.2.66 community [ blackhole no-export ] large-community [ 65000:1718878208:2 65000:${hi}:${lo} ]`,
      `${head} ipv4 flow flow destination-ipv4 203.0.113.11/32 protocol [ =tcp =udp ] destination-port [ =80 >=1024&<=2048 ] tcp-flags [ syn&!ack ] fragment is-fragment extended-community [ redirect:65000:999 mark 10 ]`,
      `${head} ipv6 flow flow destination-ipv6 2001:db8::2/128/0 next-header =udp dscp =10 extended-community rate-limit:0 large-community 65000:1718878208:1`,
      'neighbor 192.0.2.2 up',
    ];
    const rib = parseRib([...lines, lines[0] as string], 65000);
    expect(rib.map((x) => x.nativeId)).to.deep.equal([
      'ipv4 unicast 203.0.113.10/32',
      'ipv4 flow destination-ipv4 203.0.113.11/32 protocol [ =tcp =udp ] destination-port [ =80 >=1024&<=2048 ] tcp-flags [ syn&!ack ] fragment is-fragment',
      'ipv6 flow destination-ipv6 2001:db8::2/128/0 next-header =udp dscp =10',
    ]);
    expect(rib.map((x) => x.ruleId)).to.deep.equal([r.id, undefined, undefined]);
    expect(withdrawForNativeId(rib[1]?.nativeId as string)).to.equal(
      'withdraw flow route destination-ipv4 203.0.113.11/32 protocol [ =tcp =udp ] destination-port [ =80 >=1024&<=2048 ] tcp-flags [ syn&!ack ] fragment is-fragment',
    );
    expect(() => withdrawForNativeId('ipv4 unicast 203.0.113.1/32; announce route 0.0.0.0/0')).to.throw(/refusing/);
    expect(parseRibLine('neighbor 192.0.2.2 down - peer reset', 65000)).to.equal(undefined);
  });

  it('reads neighbor states from `show neighbor summary`', () => {
    const out = [
      'Peer            AS        up/down state       |     #sent     #recvd',
      '192.0.2.2       65001     0:00:03 established           9          0',
      '2001:db8::2     65001        down active               0          0',
    ];
    expect(parseNeighborSummary(out)).to.deep.equal([
      { address: '192.0.2.2', state: 'established' },
      { address: '2001:db8::2', state: 'active' },
    ]);
  });

  it("tags round-trip every rule id, and a foreign AS never reads as ft's", () => {
    fc.assert(
      fc.property(
        fc.constantFrom('fs', 'bh'),
        fc.stringMatching(/^[0-9a-f]{16}$/),
        fc.integer({ min: 1, max: 0xffffffff }),
        (kind, hex, asn) => {
          const id = `${kind}-${hex}` as never;
          const tags = ruleTags(id, asn, { tenant: 'example-isp' });
          expect(tags[0]).to.deep.equal({
            asn,
            data1: 0x66740000 + (kind === 'fs' ? 1 : 2),
            data2: ownerHash('example-isp'),
          });
          expect(ruleIdFromTags([...tags].reverse(), asn)).to.equal(id);
          expect(ruleIdFromTags(tags, asn === 1 ? 2 : asn - 1)).to.equal(undefined);
          // A second community under our ASN besides the marker makes the route ambiguous: not claimed.
          expect(ruleIdFromTags([...tags, { asn, data1: 7, data2: 7 }], asn)).to.equal(undefined);
          expect(ruleIdFromTags([tags[1]], asn)).to.equal(undefined);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('renders every valid rule as one line with balanced braces, and its withdraw as the same match', () => {
    const range = fc
      .tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }))
      .map(([a, b]): Range => ({ min: Math.min(a, b), max: Math.max(a, b) }));
    const flags = fc.subarray(['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] as TcpFlagName[], {
      minLength: 1,
    });
    const rule = fc.record({
      v6: fc.boolean(),
      host: fc.integer({ min: 1, max: 254 }),
      protocols: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 3 }), {
        nil: undefined,
      }),
      ports: fc.option(fc.array(range, { minLength: 1, maxLength: 3 }), { nil: undefined }),
      flags: fc.option(flags, { nil: undefined }),
      action: fc.oneof(
        fc.constant({ type: 'discard' as const }),
        fc.integer({ min: 1, max: 1e9 }).map((n) => ({ type: 'rate-limit' as const, bytesPerSecond: n })),
        fc.integer({ min: 0, max: 63 }).map((d) => ({ type: 'mark' as const, dscp: d })),
      ),
    });
    fc.assert(
      fc.property(rule, (r) => {
        const built = flow(
          {
            destination: r.v6 ? `2001:db8::${r.host.toString(16)}/128` : `203.0.113.${r.host}/32`,
            protocols: r.protocols,
            destinationPorts: r.ports,
            tcpFlags: r.flags ? { set: r.flags.slice(0, 1), unset: r.flags.slice(1) } : undefined,
          },
          r.action,
        );
        const c = renderFlowSpec(built, opts);
        for (const line of [c.announce, c.withdraw]) {
          expect(line).not.to.match(/[\n\r]/);
          expect(line.split('{').length).to.equal(line.split('}').length);
        }
        const match = /\{ (match \{.*?\}) /.exec(c.announce)?.[1];
        expect(c.withdraw).to.equal(`withdraw flow route { ${match} }`);
      }),
      { numRuns: 150 },
    );
  });

  it('parses any text without throwing, and no parsed route id can turn into more than one withdraw command', () => {
    const head =
      'neighbor 192.0.2.2 local-ip 192.0.2.1 local-as 65000 peer-as 65001 router-id 192.0.2.1 family-allowed in-open';
    const tail = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc
        .array(
          fc.constantFrom(
            'ipv4',
            'ipv6',
            'unicast',
            'flow',
            'destination-ipv4',
            '203.0.113.1/32',
            '[',
            ']',
            ';',
            '{',
            '}',
            '=53',
            'large-community',
            '65000:1718878208:1',
            '\n',
            'announce',
            'route',
          ),
          { maxLength: 20 },
        )
        .map((t) => t.join(' ')),
    );
    fc.assert(
      fc.property(fc.boolean(), tail, (withHead, text) => {
        const line = withHead ? `${head} ${text}` : text;
        const route = parseRibLine(line, 65000);
        parseNeighborSummary([line]);
        if (!route) return;
        let cmd: string | undefined;
        try {
          cmd = withdrawForNativeId(route.nativeId);
        } catch {
          return;
        }
        expect(cmd).to.match(/^withdraw (flow )?route /);
        expect(cmd).not.to.match(/[\n\r;{}]/);
      }),
      { numRuns: 300 },
    );
  });

  it('create() binds nothing: preview can render without ExaBGP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-exa-unit-'));
    try {
      const factory = collect(plugin).actions[0];
      expect(factory?.kind).to.equal('exabgp');
      expect(factory?.capabilities).to.deep.equal(['flowspec', 'rtbh']);
      expect(factory?.reach).to.equal('network');
      const cfg = factory?.configSchema.parse({ tagAsn: 65000 });
      const action = await factory!.create(cfg, context('preview', dir));
      expect(action.render(rtbh('203.0.113.5/32'))[0]?.text).to.match(
        /^announce route 203\.0\.113\.5\/32 next-hop 192\.0\.2\.1 /,
      );
      // Preview shows the withdrawal too: the prefix alone for RTBH, the match alone for FlowSpec.
      expect(action.renderWithdraw?.(rtbh('203.0.113.5/32'))[0]?.text).to.match(
        /^withdraw route 203\.0\.113\.5\/32( |$)/,
      );
      const fs = flow({ destination: '203.0.113.6/32', protocols: [17] }, { type: 'discard' });
      expect(action.renderWithdraw?.(fs)[0]?.text).to.equal(
        'withdraw flow route { match { destination 203.0.113.6/32; protocol [ =17 ]; } }',
      );
      expect(existsSync(join(dir, 'exabgp.sock'))).to.equal(false);
      expect(() => factory?.configSchema.parse({ tagAsn: 65000, peers: ['192.0.2.2; announce'] })).to.throw();
      await action.close?.();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
