import { expect } from 'chai';
import fc from 'fast-check';
import { collect, Prefix } from '@ft/sdk';
import { context, expectedTags, rtbh } from '../../bgp-exabgp/test/rules.js';
import plugin from '../src/plugin.js';
import { renderRtbh, type RenderOptions } from '../src/render.js';
import { localBlackholePrefixes, parsePrefixDetail, parseSummary } from '../src/rib.js';
import { splitJsonDocuments } from '../src/vtysh.js';

const opts: RenderOptions = {
  asn: 65000,
  tagAsn: 65000,
  staticTag: 666,
  routeMapPrefix: 'FT_RTBH',
  nextHops: { ipv4: Prefix.parse('192.0.2.1'), ipv6: Prefix.parse('100::1') },
};

describe('bgp-frr rendering and parsing', () => {
  it('renders an IPv4 RTBH as a per-rule route-map, a tagged Null0 trigger and a network statement', () => {
    const r = rtbh('203.0.113.77/32', { communities: ['65535:666', '64500:666'], nextHop: '192.0.2.66' });
    const hex = r.id.slice(3);
    const c = renderRtbh(r, opts);
    expect(c.announce).to.deep.equal([
      'configure terminal',
      `route-map FT_RTBH-${hex} permit 10`,
      'set community 65535:666 64500:666 no-export',
      `set large-community ${expectedTags(65000, r.id).join(' ')}`,
      'set ip next-hop 192.0.2.66',
      'exit',
      'ip route 203.0.113.77/32 Null0 tag 666',
      'router bgp 65000',
      'address-family ipv4 unicast',
      `network 203.0.113.77/32 route-map FT_RTBH-${hex}`,
      'end',
    ]);
    expect(c.withdraw)
      .to.include('no network 203.0.113.77/32')
      .and.to.include('no ip route 203.0.113.77/32 Null0 tag 666')
      .and.to.include(`no route-map FT_RTBH-${hex}`);
  });

  it('uses the IPv6 forms for IPv6 targets', () => {
    const c = renderRtbh(rtbh('2001:db8::77/128', { noExport: false }), opts);
    expect(c.announce)
      .to.include('set ipv6 next-hop global 100::1')
      .and.to.include('ipv6 route 2001:db8::77/128 Null0 tag 666')
      .and.to.include('address-family ipv6 unicast');
    expect(c.announce).to.include('set community 65535:666');
  });

  it('splits the back-to-back JSON documents vtysh prints, even with braces inside strings', () => {
    const text = '{\n "a": "x } {",\n "b": [1, {"c": "\\"}"}]\n}\n{ "routes": {  }  } \n{}';
    expect(splitJsonDocuments(text)).to.deep.equal([{ a: 'x } {', b: [1, { c: '"}' }] }, { routes: {} }, {}]);
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), { maxLength: 5 }),
        (docs) => {
          expect(splitJsonDocuments(docs.map((d) => JSON.stringify(d, null, 1)).join('\n'))).to.deep.equal(docs);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reads FRR 8.4 JSON: locally originated blackhole prefixes, their tags, and peer states', () => {
    const table = {
      routes: {
        '203.0.113.9/32': [{ peerId: '(unspec)', weight: 32768 }],
        '203.0.113.8/32': [{ peerId: '192.0.2.2' }],
      },
    };
    expect(localBlackholePrefixes(table)).to.deep.equal(['203.0.113.9/32']);
    const r = rtbh('203.0.113.9/32');
    const hex = r.id.slice(3);
    const detail = {
      prefix: '203.0.113.9/32',
      paths: [
        {
          origin: 'IGP',
          local: true,
          community: { string: 'blackhole no-export', list: ['blackhole', 'noExport'] },
          largeCommunity: {
            list: ['65000:1718878208:2', `65000:${parseInt(hex.slice(0, 8), 16)}:${parseInt(hex.slice(8), 16)}`],
          },
          nexthops: [{ ip: '192.0.2.66' }],
        },
      ],
    };
    expect(parsePrefixDetail(detail, 65000)).to.deep.equal([
      {
        prefix: '203.0.113.9/32',
        local: true,
        communities: ['blackhole', 'noExport'],
        largeCommunities: [
          { asn: 65000, data1: 1718878208, data2: 2 },
          { asn: 65000, data1: parseInt(hex.slice(0, 8), 16), data2: parseInt(hex.slice(8), 16) },
        ],
        nextHop: '192.0.2.66',
        ruleId: r.id,
      },
    ]);
    expect(parsePrefixDetail({}, 65000)).to.deep.equal([]);
    const summary = {
      ipv4Unicast: { peers: { '192.0.2.2': { state: 'Established' } } },
      ipv6Unicast: { peers: { '192.0.2.2': { state: 'Established' }, '192.0.2.3': { state: 'Active' } } },
    };
    expect(parseSummary(summary)).to.deep.equal([
      { address: '192.0.2.2', state: 'Established' },
      { address: '192.0.2.3', state: 'Active' },
    ]);
  });

  it('reads arbitrary JSON shapes without throwing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({ prefix: fc.string(), paths: fc.array(fc.anything()) }),
          fc.record({ routes: fc.dictionary(fc.string(), fc.array(fc.anything())) }),
          fc.dictionary(fc.string(), fc.record({ peers: fc.anything() })),
        ),
        (doc) => {
          localBlackholePrefixes(doc);
          parsePrefixDetail(doc, 65000);
          parseSummary(doc);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('registers kind frr with RTBH only, and create() runs nothing', async () => {
    const f = collect(plugin).actions[0];
    expect(f?.kind).to.equal('frr');
    expect(f?.capabilities).to.deep.equal(['rtbh']);
    const cfg = f?.configSchema.parse({ asn: 65000, vtysh: '/nonexistent/vtysh' });
    const a = await f!.create(cfg, context('preview', '/nonexistent'));
    expect(a.render(rtbh('203.0.113.5/32'))[0]?.argv?.[0]).to.equal('/nonexistent/vtysh');
    expect(() => f?.configSchema.parse({ asn: 65000, routeMapPrefix: 'X permit 10' })).to.throw();
    await a.close?.();
  });
});
