import { expect } from 'chai';
import fc from 'fast-check';
import { Prefix } from '@ft/sdk';
import { requireLab } from '../../../test/helpers/env.js';
import { Netns } from '../../../test/helpers/net.js';
import { match as anyMatch, action as anyAction } from '../../../adapters/bgp-gobgp/test/arbitraries.js';
import { routeRules, tableScript, type FlowRoute } from '../src/nft.js';

const route = (m: Partial<FlowRoute['match']>, actions: FlowRoute['actions'], dst = '203.0.113.10/32'): FlowRoute => ({
  nlri: `[destination: ${dst}]`,
  match: { destination: Prefix.parse(dst), ...m },
  actions,
});

describe('flowspec-enforcer nftables translation', () => {
  it('turns a DNS-amplification discard into one drop rule naming the ft rule', () => {
    const r = {
      ...route({ protocols: [17], sourcePorts: [{ min: 53, max: 53 }] }, [{ type: 'discard' }]),
      ruleId: 'fs-0123456789abcdef',
    };
    expect(routeRules(r)).to.deep.equal([
      'meta nfproto ipv4 ip daddr 203.0.113.10/32 meta l4proto 17 th sport 53 counter drop comment "ft fs-0123456789abcdef"',
    ]);
  });

  it('rate-limit drops only above the rate and accepts the rest; mark sets DSCP on what passes', () => {
    const [limit, pass] = routeRules(
      route(
        {
          destinationPorts: [
            { min: 80, max: 80 },
            { min: 8000, max: 8080 },
          ],
        },
        [
          { type: 'rate-limit', bytesPerSecond: 125000 },
          { type: 'mark', dscp: 10 },
        ],
        '2001:db8:100::1/128',
      ),
    );
    expect(limit).to.equal(
      'meta nfproto ipv6 ip6 daddr 2001:db8:100::1/128 meta l4proto { 6, 17 } th dport { 80, 8000-8080 } limit rate over 125000 bytes/second counter drop comment "flowspec [destination: 2001:db8:100::1/128]"',
    );
    expect(pass).to.match(/ ip6 dscp set 10 counter accept /);
  });

  it('skips what Linux cannot enforce and says why, installing the rest', () => {
    const { installed, skipped } = tableScript('ft_flowspec', [
      route({}, [{ type: 'redirect', routeTarget: '64500:1' }]),
      route({ fragment: ['is-fragment', 'first-fragment'] }, [{ type: 'discard' }], '203.0.113.11/32'),
      route({ protocols: [1], sourcePorts: [{ min: 1, max: 1 }] }, [{ type: 'discard' }], '203.0.113.12/32'),
      route({}, [{ type: 'discard' }], '203.0.113.13/32'),
    ]);
    expect(installed.map((r) => r.nlri)).to.deep.equal(['[destination: 203.0.113.13/32]']);
    expect(skipped.map((s) => s.reason)).to.have.members([
      'redirect to a VRF has no Linux equivalent here',
      'several fragment states (is-fragment, first-fragment) in one route',
      'a port match (TCP/UDP only) contradicts the other components: the route matches no packet',
    ]);
  });

  it('puts more specific routes first (RFC 8955 §5.1 order, approximated)', () => {
    const { installed } = tableScript('ft_flowspec', [
      route({}, [{ type: 'discard' }], '203.0.113.0/24'),
      route({ protocols: [17] }, [{ type: 'discard' }], '203.0.113.5/32'),
      route({}, [{ type: 'discard' }], '203.0.113.5/32'),
    ]);
    expect(
      installed.map((r) => `${r.match.destination.toString()} ${r.match.protocols?.join(',') ?? '-'}`),
    ).to.deep.equal(['203.0.113.5/32 17', '203.0.113.5/32 -', '203.0.113.0/24 -']);
  });

  it('caps the number of enforced routes, keeping the most specific and saying what it left out', () => {
    const routes = [
      route({}, [{ type: 'discard' }], '203.0.113.0/24'),
      route({}, [{ type: 'discard' }], '203.0.113.7/32'),
    ];
    const { installed, skipped } = tableScript('ft_flowspec', routes, 1);
    expect(installed.map((r) => r.match.destination.toString())).to.deep.equal(['203.0.113.7/32']);
    expect(skipped).to.deep.equal([
      { nlri: '[destination: 203.0.113.0/24]', reason: 'over the limit of 1 enforced routes' },
    ]);
  });

  it('refuses a table name that could inject nft syntax', () => {
    expect(() => tableScript('ft; flush ruleset', [])).to.throw(/table name/);
  });

  describe('against the real nft parser (nft -c, in a scratch namespace)', function () {
    let ns: Netns;
    before(function () {
      requireLab(this, { root: true, commands: ['nft', 'ip'] });
      ns = Netns.create('nftc');
    });
    after(() => ns?.delete());

    it('every script built from any FlowSpec route is accepted by nft', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(anyMatch, anyAction), { minLength: 1, maxLength: 5 }), (pairs) => {
          const { script } = tableScript(
            'ft_flowspec',
            pairs.map(([m, a], i) => ({ nlri: `r${i}`, match: m, actions: [a] })),
          );
          const r = ns.exec(['nft', '-c', '-f', '-'], { input: script, allowFail: true });
          expect(r.status, `${r.stderr}\n${script}`).to.equal(0);
        }),
        { numRuns: 40 },
      );
    });
  });
});
