import { expect } from 'chai';
import fc from 'fast-check';
import { Prefix, PrefixError } from '@ft/sdk';

const v4 = fc.tuple(
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
  fc.integer({ min: 0, max: 32 }),
);
const v6 = fc.tuple(
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }),
  fc.integer({ min: 0, max: 128 }),
);
const anyPrefix = fc
  .oneof(v4, v6)
  .map(([bytes, len]) => Prefix.fromBytes(Uint8Array.from(bytes), len, { truncate: true }));

describe('Prefix', () => {
  it('parse ∘ format is the identity on canonical prefixes', () => {
    fc.assert(fc.property(anyPrefix, (p) => Prefix.parse(p.toString()).equals(p)));
  });

  it('formats IPv6 in RFC 5952 form and IPv4 as dotted quad', () => {
    expect(Prefix.parse('2001:DB8:0:0:0:0:0:1').toString()).to.equal('2001:db8::1/128');
    expect(Prefix.parse('2001:db8:0:0:1:0:0:1/128').toString()).to.equal('2001:db8::1:0:0:1/128');
    expect(Prefix.parse('203.0.113.10').toString()).to.equal('203.0.113.10/32');
  });

  it('containment is a partial order: reflexive, antisymmetric, transitive', () => {
    fc.assert(
      fc.property(anyPrefix, anyPrefix, anyPrefix, (a, b, c) => {
        expect(a.contains(a)).to.equal(true);
        if (a.contains(b) && b.contains(a)) expect(a.equals(b)).to.equal(true);
        if (a.contains(b) && b.contains(c)) expect(a.contains(c)).to.equal(true);
      }),
    );
  });

  it('a prefix contains exactly the prefixes whose first bits match', () => {
    const net = Prefix.parse('203.0.113.0/24');
    expect(net.contains(Prefix.parse('203.0.113.10/32'))).to.equal(true);
    expect(net.contains(Prefix.parse('203.0.112.0/23'))).to.equal(false);
    expect(net.contains(Prefix.parse('203.0.114.1'))).to.equal(false);
    expect(Prefix.parse('2001:db8:100::/48').contains(Prefix.parse('2001:db8:100:5::1'))).to.equal(true);
    expect(Prefix.parse('2001:db8:100::/48').contains(Prefix.parse('2001:db8:101::1'))).to.equal(false);
  });

  it('never mixes families: 0.0.0.0/0 does not contain an IPv6 address', () => {
    expect(Prefix.parse('0.0.0.0/0').contains(Prefix.parse('2001:db8::1'))).to.equal(false);
    expect(Prefix.parse('::/0').contains(Prefix.parse('192.0.2.1'))).to.equal(false);
  });

  it('treats IPv4-mapped IPv6 as the IPv4 prefix it maps (deliberately)', () => {
    expect(Prefix.parse('::ffff:192.0.2.1').toString()).to.equal('192.0.2.1/32');
    expect(Prefix.parse('::ffff:198.51.100.0/120').toString()).to.equal('198.51.100.0/24');
    expect(Prefix.parse('::ffff:198.51.100.0/120').family).to.equal(4);
    expect(Prefix.parse('192.0.2.0/24').contains(Prefix.parse('::ffff:192.0.2.77'))).to.equal(true);
    // Shorter than /96 covers non-mapped space too, so it stays IPv6.
    expect(Prefix.parse('::/80').family).to.equal(6);
  });

  it('rejects host bits under the mask, suggesting the network', () => {
    expect(() => Prefix.parse('203.0.113.10/24')).to.throw(PrefixError, 'did you mean 203.0.113.0/24');
    expect(Prefix.parse('203.0.113.10/24', { truncate: true }).toString()).to.equal('203.0.113.0/24');
  });

  it('rejects text routers would not accept', () => {
    for (const bad of [
      '',
      '203.0.113',
      '0x7f.0.0.1',
      '010.0.0.1',
      '203.0.113.1/33',
      '2001:db8::/129',
      '203.0.113.0/-1',
      '203.0.113.0/ 24',
      'fe80::1%eth0',
      '1.2.3.4/08',
      'example.com',
      '2001:db8::g',
    ]) {
      expect(() => Prefix.parse(bad), bad).to.throw(PrefixError);
    }
  });

  it('covering() gives the enclosing prefix', () => {
    expect(Prefix.covering('203.0.113.77', 24).toString()).to.equal('203.0.113.0/24');
    expect(Prefix.covering('2001:db8:100:5::1', 48).toString()).to.equal('2001:db8:100::/48');
    expect(() => Prefix.covering(Prefix.parse('203.0.113.0/24'), 32)).to.throw(PrefixError);
  });

  it('compare() orders v4 before v6 and is consistent with equals', () => {
    fc.assert(
      fc.property(anyPrefix, anyPrefix, (a, b) => {
        expect(a.compare(b) === 0).to.equal(a.equals(b));
        expect(Math.sign(a.compare(b))).to.equal(-Math.sign(b.compare(a)));
      }),
    );
    expect(Prefix.parse('255.255.255.255').compare(Prefix.parse('::'))).to.be.lessThan(0);
  });

  it('serialises to its text in JSON', () => {
    expect(JSON.stringify({ t: Prefix.parse('2001:db8::/32') })).to.equal('{"t":"2001:db8::/32"}');
  });
});
