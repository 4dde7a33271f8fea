import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefix } from '@ft/sdk';
import { VrpConflictError, VrpTable, formatVrp, loadVrpFile, parseVrpJson, type Vrp } from '../../core/rpki/index.js';

const P = (s: string) => Prefix.parse(s);
const vrp = (prefix: string, maxLength: number, asn: number): Vrp => ({ prefix: P(prefix), maxLength, asn });

// Prefixes drawn from a small corner of the address space so random VRPs and routes really overlap.
const v4Prefix = fc
  .tuple(
    fc.constantFrom(0, 1),
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 14, max: 32 }),
  )
  .map(([b, c, d, len]) => Prefix.fromBytes(Uint8Array.from([198, 50 + b, c, d]), len, { truncate: true }));
const v6Prefix = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 28, max: 64 }))
  .map(([a, b, len]) =>
    Prefix.fromBytes(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, a, b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), len, {
      truncate: true,
    }),
  );
const asn = fc.constantFrom(0, 64500, 64501, 64502, 4200000000);
const anyPrefix = fc.oneof(v4Prefix, v6Prefix);
const anyVrp = fc.tuple(anyPrefix, fc.integer({ min: 0, max: 20 }), asn).map(([prefix, extra, a]) => ({
  prefix,
  maxLength: Math.min(prefix.family === 4 ? 32 : 128, prefix.length + extra),
  asn: a,
}));

/** RFC 6811 §2 written out as plainly as possible, over a list. */
function reference(vrps: Vrp[], route: Prefix, origin: number, loose = false): string {
  const covering = vrps.filter((v) => v.prefix.contains(route));
  if (covering.length === 0) return 'not-found';
  if (covering.some((v) => v.asn !== 0 && v.asn === origin && (loose || route.length <= v.maxLength))) return 'valid';
  return covering.some((v) => v.asn !== 0 && v.asn === origin) && !loose ? 'invalid:length' : 'invalid:as';
}
const stateOf = (v: ReturnType<VrpTable['validate']>) => (v.state === 'invalid' ? `invalid:${v.reason}` : v.state);

describe('VrpTable (RFC 6811 origin validation)', () => {
  it('agrees with a plain reading of RFC 6811 on random VRP sets, strict and loose', () => {
    fc.assert(
      fc.property(
        fc.array(anyVrp, { maxLength: 40 }),
        fc.array(fc.tuple(anyPrefix, asn), { minLength: 1, maxLength: 30 }),
        (vrps, routes) => {
          const t = VrpTable.from(vrps);
          for (const [route, origin] of routes) {
            expect(stateOf(t.validate(route, origin)), `strict ${route} AS${origin}`).to.equal(
              reference(vrps, route, origin),
            );
            expect(stateOf(t.validateLoose(route, origin)), `loose ${route} AS${origin}`).to.equal(
              reference(vrps, route, origin, true),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('classifies the textbook cases: Valid, Invalid (length), Invalid (as), NotFound, AS0', () => {
    const t = VrpTable.from([
      vrp('203.0.113.0/24', 24, 64500),
      vrp('198.51.100.0/24', 24, 0),
      vrp('2001:db8:100::/48', 56, 64500),
    ]);
    expect(t.validate(P('203.0.113.0/24'), 64500).state).to.equal('valid');
    expect(t.validate(P('203.0.113.10/32'), 64500)).to.deep.equal({ state: 'invalid', reason: 'length' });
    expect(t.validateLoose(P('203.0.113.10/32'), 64500).state).to.equal('valid');
    expect(t.validate(P('203.0.113.0/24'), 64501)).to.deep.equal({ state: 'invalid', reason: 'as' });
    expect(t.validate(P('192.0.2.0/24'), 64500).state).to.equal('not-found');
    // AS0 ROA: the space must not be originated by anyone, not even "AS0".
    expect(t.validate(P('198.51.100.0/24'), 0)).to.deep.equal({ state: 'invalid', reason: 'as' });
    expect(t.validate(P('2001:db8:100:ff00::/56'), 64500).state).to.equal('valid');
    expect(t.validate(P('2001:db8:100::1/128'), 64500)).to.deep.equal({ state: 'invalid', reason: 'length' });
    expect(t.validate(P('2001:db8:200::/48'), 64500).state).to.equal('not-found');
    expect(t.sizeV4).to.equal(2);
    expect(t.sizeV6).to.equal(1);
  });

  it('diff then apply turns one table into the other, for random pairs', () => {
    fc.assert(
      fc.property(fc.array(anyVrp, { maxLength: 30 }), fc.array(anyVrp, { maxLength: 30 }), (a, b) => {
        const ta = VrpTable.from(a);
        const tb = VrpTable.from(b);
        const delta = ta.diff(tb);
        ta.apply(delta);
        const keys = (t: VrpTable) =>
          t
            .toArray()
            .map((v) => `${v.prefix}-${v.maxLength}-${v.asn}`)
            .sort();
        expect(keys(ta)).to.deep.equal(keys(tb));
        expect(ta.diff(tb)).to.deep.equal({ announced: [], withdrawn: [] });
      }),
      { numRuns: 200 },
    );
  });

  it('compacting the layout changes no answer, before or after further changes', () => {
    fc.assert(
      fc.property(
        fc.array(anyVrp, { maxLength: 40 }),
        fc.array(anyVrp, { maxLength: 10 }),
        fc.array(fc.tuple(anyPrefix, asn), { minLength: 1, maxLength: 20 }),
        (vrps, later, routes) => {
          const t = new VrpTable();
          for (const v of vrps) t.add(v);
          const check = (all: Vrp[]) => {
            for (const [route, origin] of routes) {
              expect(stateOf(t.validate(route, origin)), `${route} AS${origin}`).to.equal(
                reference(all, route, origin),
              );
              expect(stateOf(t.validateLoose(route, origin))).to.equal(reference(all, route, origin, true));
            }
          };
          check(vrps); // binary trie
          t.compact();
          check(vrps); // compressed view
          for (const v of later) t.add(v);
          const all = [...vrps, ...later];
          check(all); // changes drop the view: binary trie again
          t.compact();
          check(all);
          // Withdrawals after a compaction leave dead branches behind; the rebuilt view must ignore them.
          for (const v of vrps) t.remove(v);
          const left = later.filter(
            (l) => !vrps.some((v) => v.prefix.equals(l.prefix) && v.maxLength === l.maxLength && v.asn === l.asn),
          );
          check(left);
          t.compact();
          check(left);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a change list with an unknown withdrawal or a duplicate announcement changes nothing', () => {
    const t = VrpTable.from([vrp('203.0.113.0/24', 24, 64500)]);
    const before = t.toArray().map(formatVrp);
    expect(() =>
      t.applyChanges([
        { announce: true, vrp: vrp('198.51.100.0/24', 24, 64500) },
        { announce: false, vrp: vrp('192.0.2.0/24', 24, 64500) },
      ]),
    ).to.throw(VrpConflictError, /withdrawal of unknown 192.0.2.0\/24-24 AS64500/);
    expect(() => t.applyChanges([{ announce: true, vrp: vrp('203.0.113.0/24', 24, 64500) }])).to.throw(
      VrpConflictError,
      /duplicate/,
    );
    expect(t.size).to.equal(1);
    expect(t.validate(P('198.51.100.0/24'), 64500).state).to.equal('not-found');
    expect(t.toArray().map(formatVrp)).to.deep.equal(before);
    // Withdraw then re-announce in one delta is legal.
    t.applyChanges([
      { announce: false, vrp: vrp('203.0.113.0/24', 24, 64500) },
      { announce: true, vrp: vrp('203.0.113.0/24', 24, 64500) },
    ]);
    expect(t.size).to.equal(1);
  });

  it('lists the VRPs covering a prefix, shortest first, for the reason an operator reads', () => {
    const t = VrpTable.from([
      vrp('203.0.113.0/24', 24, 64500),
      vrp('203.0.0.0/16', 24, 64501),
      vrp('203.0.113.128/25', 32, 64502),
    ]);
    expect(t.covering(P('203.0.113.10/32')).map((v) => `${v.prefix} ${v.maxLength} AS${v.asn}`)).to.deep.equal([
      '203.0.0.0/16 24 AS64501',
      '203.0.113.0/24 24 AS64500',
    ]);
  });
});

describe('VRP JSON file (stayrtr -cache format)', () => {
  it('reads numeric and "AS" ASNs, defaults maxLength to the prefix length, counts duplicates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-vrp-'));
    const path = join(dir, 'vrps.json');
    writeFileSync(
      path,
      JSON.stringify({
        metadata: { buildtime: '2026-01-02T03:04:05Z' },
        roas: [
          { prefix: '203.0.113.0/24', maxLength: 24, asn: 'AS64500' },
          { prefix: '2001:db8::/32', maxLength: 48, asn: 64501 },
          { prefix: '198.51.100.0/24', asn: 64502 },
          { prefix: '203.0.113.0/24', maxLength: 24, asn: 64500 },
        ],
      }),
    );
    const table = await loadVrpFile(path);
    expect(table.size).to.equal(3);
    expect(table.validate(P('2001:db8:1::/48'), 64501).state).to.equal('valid');
    expect(table.validate(P('198.51.100.0/25'), 64502)).to.deep.equal({ state: 'invalid', reason: 'length' });
    expect(
      parseVrpJson(
        JSON.stringify({
          roas: [
            { prefix: '203.0.113.0/24', maxLength: 24, asn: 1 },
            { prefix: '203.0.113.0/24', maxLength: 24, asn: 1 },
          ],
        }),
      ).duplicates,
    ).to.equal(1);
  });

  it('names the entry and the field of a broken file', () => {
    expect(() =>
      parseVrpJson(
        '{"roas":[{"prefix":"203.0.113.0/24","maxLength":24,"asn":1},{"prefix":"203.0.113.0/24","maxLength":16,"asn":1}]}',
        'x.json',
      ),
    ).to.throw(/x.json: roas\[1\]\.maxLength must be an integer from 24 to 32/);
    expect(() => parseVrpJson('{"roas":[{"prefix":"203.0.113.1/24","maxLength":24,"asn":1}]}', 'x.json')).to.throw(
      /roas\[0\]\.prefix: .*host bits/,
    );
    expect(() => parseVrpJson('{"roas":[{"prefix":"203.0.113.0/24","maxLength":24,"asn":"ASX"}]}', 'x.json')).to.throw(
      /roas\[0\]\.asn/,
    );
    expect(() => parseVrpJson('{"vrps":[]}', 'x.json')).to.throw(/"roas" array/);
    expect(() => parseVrpJson('{', 'x.json')).to.throw(/x.json: not JSON/);
  });
});
