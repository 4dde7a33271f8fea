import { expect } from 'chai';
import { Prefix, makeRule } from '@ft/sdk';
import type { ActiveRule, AnnouncementCheck } from '../../core/model/index.js';
import { VrpTable, createVerdictProvider, recheck, type Vrp } from '../../core/rpki/index.js';

const P = (s: string) => Prefix.parse(s);
const vrp = (prefix: string, maxLength: number, asn: number): Vrp => ({ prefix: P(prefix), maxLength, asn });
const OUR_AS = 64500;

// Protected space: 203.0.113.0/24 signed for us; 198.51.100.0/24 unsigned; 2001:db8:100::/48 signed for another AS.
const table = () =>
  VrpTable.from([
    vrp('203.0.113.0/24', 24, OUR_AS),
    vrp('2001:db8:100::/48', 48, 64999),
    vrp('192.0.2.0/28', 32, OUR_AS),
  ]);
const check = (
  kind: AnnouncementCheck['kind'],
  announced: string,
  covering: string,
  mode: AnnouncementCheck['mode'] = 'enforce',
  originAs = OUR_AS,
): AnnouncementCheck => ({
  kind,
  announced: P(announced),
  covering: P(covering),
  originAs,
  mode,
});

describe('RPKI verdict before an announcement (docs/rpki.md)', () => {
  // A frozen clock: the data stays exactly 30 s old however long the suite takes.
  const provider = createVerdictProvider({
    table: table(),
    sessionId: 4242,
    serial: 17,
    dataAgeSeconds: 30,
    now: () => 0,
  });

  it('RTBH /32 under a normal /24 ROA: allowed by the loose check, strict Invalid (length) recorded', () => {
    const v = provider.verdict(check('rtbh', '203.0.113.10/32', '203.0.113.0/24'));
    expect(v.allowed).to.equal(true);
    expect(v.state).to.equal('invalid');
    expect(v.loose).to.equal('valid');
    expect(v.reason).to.match(/loosely Valid for AS64500 \(strictly Invalid \(length/);
    expect(v.reason).to.match(/covering route 203.0.113.0\/24 is Valid/);
    expect(v).to.include({ sessionId: 4242, serial: 17 });
    expect(v.dataAgeSeconds).to.equal(30);
  });

  it('RTBH refused when the ROA is for another AS, whatever the mode', () => {
    for (const mode of ['enforce', 'warn'] as const) {
      const v = provider.verdict(check('rtbh', '2001:db8:100::1/128', '2001:db8:100::/48', mode));
      expect(v.allowed, mode).to.equal(false);
      expect(v.loose).to.equal('invalid');
      expect(v.reason).to.contain('2001:db8:100::/48-48 AS64999');
    }
  });

  it('RTBH in unsigned space: refused under enforce, allowed under warn', () => {
    expect(provider.verdict(check('rtbh', '198.51.100.7/32', '198.51.100.0/24', 'enforce')).allowed).to.equal(false);
    const warn = provider.verdict(check('rtbh', '198.51.100.7/32', '198.51.100.0/24', 'warn'));
    expect(warn.allowed).to.equal(true);
    expect(warn.state).to.equal('not-found');
    expect(warn.reason).to.contain('allowed because rpki: warn');
  });

  it('RTBH where only a more-specific ROA covers the /32: the covering route is NotFound, so only warn allows it', () => {
    expect(provider.verdict(check('rtbh', '192.0.2.5/32', '192.0.2.0/24', 'enforce')).allowed).to.equal(false);
    expect(provider.verdict(check('rtbh', '192.0.2.5/32', '192.0.2.0/24', 'warn')).allowed).to.equal(true);
  });

  it('refuses a /32 that is not inside the covering route it was planned under', () => {
    const v = provider.verdict(check('rtbh', '198.51.100.7/32', '203.0.113.0/24'));
    expect(v.allowed).to.equal(false);
    expect(v.reason).to.contain('is not inside its covering route');
  });

  it('FlowSpec: covering route strictly Valid → allowed; NotFound only under warn; Invalid never', () => {
    expect(provider.verdict(check('flowspec', '203.0.113.10/32', '203.0.113.0/24')).allowed).to.equal(true);
    expect(provider.verdict(check('flowspec', '198.51.100.10/32', '198.51.100.0/24')).allowed).to.equal(false);
    expect(provider.verdict(check('flowspec', '198.51.100.10/32', '198.51.100.0/24', 'warn')).allowed).to.equal(true);
    const bad = provider.verdict(check('flowspec', '2001:db8:100::1/128', '2001:db8:100::/48', 'warn'));
    expect(bad.allowed).to.equal(false);
    expect(bad.state).to.equal('invalid');
  });

  it('diversion: strictly Valid for the originating AS, otherwise refused naming the missing ROA (even under warn)', () => {
    expect(provider.verdict(check('divert', '203.0.113.0/24', '203.0.113.0/24')).allowed).to.equal(true);
    const scrubberAs = provider.verdict(check('divert', '203.0.113.0/24', '203.0.113.0/24', 'warn', 64777));
    expect(scrubberAs.allowed).to.equal(false);
    expect(scrubberAs.reason).to.match(
      /missing ROA: .*needs a ROA for 203.0.113.0\/24 \(maxLength ≥ 24\) authorising AS64777/,
    );
    expect(provider.verdict(check('divert', '198.51.100.0/24', '198.51.100.0/24', 'warn')).allowed).to.equal(false);
  });

  it('off: skipped and allowed, without looking at the data', () => {
    const v = createVerdictProvider({ table: new VrpTable(), dataAgeSeconds: 1e9 }).verdict(
      check('divert', '198.51.100.0/24', '198.51.100.0/24', 'off'),
    );
    expect(v).to.include({ state: 'skipped', allowed: true });
  });

  it('stale data: RTBH/FlowSpec follow the mode, diversion fails closed; the age is in the verdict', () => {
    let now = 1_000_000;
    const p = createVerdictProvider({
      table: table(),
      dataAgeSeconds: 100,
      expireSeconds: 600,
      sessionId: 1,
      serial: 2,
      now: () => now,
    });
    expect(p.verdict(check('rtbh', '203.0.113.10/32', '203.0.113.0/24')).allowed).to.equal(true);
    now += 501_000; // data is now 601 s old
    const enforce = p.verdict(check('rtbh', '203.0.113.10/32', '203.0.113.0/24'));
    expect(enforce).to.include({ state: 'unknown', allowed: false, sessionId: 1, serial: 2 });
    expect(enforce.reason).to.match(/stale .*601 s ago.*refused because rpki: enforce/);
    expect(p.verdict(check('flowspec', '203.0.113.10/32', '203.0.113.0/24', 'warn'))).to.include({
      state: 'unknown',
      allowed: true,
    });
    expect(p.verdict(check('divert', '203.0.113.0/24', '203.0.113.0/24', 'warn'))).to.include({
      state: 'unknown',
      allowed: false,
    });
  });

  it('no data at all (a client that never synced) refuses under enforce', () => {
    const p = createVerdictProvider({ client: { snapshot: () => undefined, lastKnown: () => undefined } });
    const v = p.verdict(check('flowspec', '203.0.113.10/32', '203.0.113.0/24'));
    expect(v).to.include({ state: 'unknown', allowed: false });
    expect(v.reason).to.contain('no RPKI data');
  });
});

describe('re-checking active announcements after a VRP change', () => {
  it('reports the announcements that a changed VRP set now refuses, and leaves host rules alone', () => {
    const t = table();
    const provider = createVerdictProvider({ table: t, sessionId: 1, serial: 1 });
    const base = { tenant: 't', level: 3, ttlSeconds: 300 };
    const active = (rule: ActiveRule['rule']): ActiveRule => ({
      rule,
      via: ['pop1'],
      appliedAt: Date.now(),
      expiresAt: Date.now() + 300_000,
    });
    const rtbh = makeRule({
      ...base,
      kind: 'rtbh',
      target: P('203.0.113.10/32'),
      communities: ['65535:666'],
      noExport: true,
    });
    const divert = makeRule({ ...base, kind: 'divert', target: P('203.0.113.0/24'), provider: 'cf' });
    const host = makeRule({
      ...base,
      kind: 'host-filter',
      target: P('203.0.113.10/32'),
      match: { destination: P('203.0.113.10/32') },
      action: { type: 'drop' },
    });
    const rules = [active(rtbh), active(divert), active(host)];
    const ctx = { protect: [P('203.0.113.0/24'), P('198.51.100.0/24')], originAs: OUR_AS, mode: 'enforce' as const };
    expect(recheck(rules, provider, ctx)).to.deep.include({ checked: 2, refused: [] });
    // A blackhole outside protected space is refused even where a permissive ROA (192.0.2.0/28-32) would validate it.
    const stray = makeRule({
      ...base,
      kind: 'rtbh',
      target: P('192.0.2.10/32'),
      communities: ['65535:666'],
      noExport: true,
    });
    const strayResult = recheck([active(stray)], provider, ctx);
    expect(strayResult.refused.map((f) => f.verdict.reason)).to.deep.equal([
      '192.0.2.10/32 is outside the protected space',
    ]);
    // The ROA moves to another AS: both announcements are now Invalid.
    t.applyChanges([
      { announce: false, vrp: vrp('203.0.113.0/24', 24, OUR_AS) },
      { announce: true, vrp: vrp('203.0.113.0/24', 24, 64666) },
    ]);
    const after = recheck(rules, provider, ctx);
    expect(after.invalid.map((f) => f.active.rule.kind).sort()).to.deep.equal(['divert', 'rtbh']);
    expect(after.invalid[0]?.verdict.reason).to.contain('AS64666');
  });
});
