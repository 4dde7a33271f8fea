// Prefix-level detection (issue 20 §2): a protected prefix and a policy host group are judged as a whole, by
// their own thresholds and baseline. A carpet bomb spreads over a /24 so that no host crosses its own threshold.
import { expect } from 'chai';
import { Prefix, type Sample } from '@ft/sdk';
import { DEFAULT_DETECTION, type DetectionSettings } from '../../core/model/detection.js';
import { DetectionEngine, type DetectionEvent } from '../../core/detect/index.js';
import { parsePolicy } from '../../core/policy/index.js';

const START = Date.UTC(2026, 0, 1, 12);

/** An engine on a virtual clock fed flow-style Samples: every target's reading of the last 100 ms, every tick. */
class Flows {
  now = START;
  readonly engine: DetectionEngine;
  readonly events: DetectionEvent[] = [];

  constructor(settings: Partial<DetectionSettings>) {
    this.engine = new DetectionEngine({ settings: { ...DEFAULT_DETECTION, ...settings }, clock: () => this.now });
  }

  /** `seconds` of traffic: pps per target (hosts and prefixes as Prefix text, groups as group:NAME). */
  run(seconds: number, rates: Record<string, number>): DetectionEvent[] {
    const out: DetectionEvent[] = [];
    for (let t = 0; t < seconds * 10; t++) {
      this.now += 100;
      for (const [target, pps] of Object.entries(rates)) {
        const s: Sample = {
          source: 'edge',
          sourceKind: 'flow',
          target,
          at: this.now,
          windowMs: 100,
          direction: 'in',
          pps,
          bps: pps * 8000,
          protocols: { tcp: 0, udp: pps, icmp: 0, other: 0 },
          topSrcPorts: [{ key: 123, count: pps }],
        };
        if (!target.startsWith('group:')) s.prefix = Prefix.parse(target);
        this.engine.ingest(s);
      }
      const evs = this.engine.tick(this.now);
      out.push(...evs);
      this.events.push(...evs);
    }
    return out;
  }
}

/** 32 hosts of 203.0.113.0/24 at `each` pps, and the /24's own Sample (their sum, as the flow detector sends it). */
function carpet(each: number): Record<string, number> {
  const r: Record<string, number> = {};
  for (let h = 1; h <= 32; h++) r[`203.0.113.${h}/32`] = each;
  r['203.0.113.0/24'] = each * 32;
  return r;
}

const opened = (events: DetectionEvent[]) =>
  events.filter((e) => e.type === 'open').map((e) => e.incident.target.toString());

describe('prefix-level detection: carpet bombing and host groups', () => {
  it('a carpet bomb under every host threshold opens one incident, for the prefix, by the aggregate threshold', () => {
    const f = new Flows({ static: { pps: 1000 }, aggregate: { static: { pps: 10_000 } } });
    // Normal: 32 hosts at 200 pps (6,400 pps over the /24, under its 10 kpps).
    expect(f.run(3, carpet(200))).to.deep.equal([]);
    // Carpet bomb: each host at 600 pps, under its 1 kpps; the /24 at 19.2 kpps.
    const events = f.run(2, carpet(600));
    expect(opened(events)).to.deep.equal(['203.0.113.0/24']);
    const inc = events.find((e) => e.type === 'open')!.incident;
    expect(inc.family).to.equal('udp_flood');
    expect(inc.vectors).to.deep.equal(['ntp']);
    // A single host over its own threshold is still a host incident.
    expect(opened(f.run(1, { ...carpet(600), '203.0.113.7/32': 1500 }))).to.deep.equal(['203.0.113.7/32']);
  });

  it('without aggregate thresholds a prefix is judged like a host (as before): its normal sum fires', () => {
    const f = new Flows({ static: { pps: 1000 } });
    expect(opened(f.run(2, carpet(200)))).to.deep.equal(['203.0.113.0/24']);
  });

  it('a target override’s aggregate thresholds apply to its prefix as a whole, not its host thresholds', () => {
    const policy = parsePolicy(
      [
        'version: 1',
        'tenant: t',
        'protect: [203.0.113.0/24]',
        'detection:',
        '  static: { pps: 1kpps }',
        '  aggregate: { static: { pps: 10kpps } }',
        'targets:',
        '  - prefix: 203.0.113.0/24',
        '    detection: { static: { pps: 500pps }, aggregate: { static: { pps: 30kpps } } }',
        '',
      ].join('\n'),
      'p.yaml',
    );
    const f = new Flows(policy.detection);
    // 14.4 kpps over the /24: above the global aggregate 10 kpps, under this /24's own 30 kpps. Hosts at 450 pps
    // are under the override's 500 pps.
    expect(f.run(2, carpet(450))).to.deep.equal([]);
    expect(opened(f.run(2, carpet(1000)))).to.include('203.0.113.0/24');
  });

  it('a host group is judged as one target; its incident names every member and the group, and resolves whole', () => {
    const policy = parsePolicy(
      [
        'version: 1',
        'tenant: t',
        'protect: [203.0.113.0/24, 2001:db8:100::/48]',
        'detection:',
        '  static: { pps: 50kpps }',
        '  resolve: { after: 2s }',
        'groups:',
        '  web:',
        '    prefixes: [203.0.113.16/28, 203.0.113.40/32, 2001:db8:100::80/128]',
        '    detection: { static: { pps: 5kpps } }',
        '',
      ].join('\n'),
      'p.yaml',
    );
    expect(policy.groups.map((g) => [g.name, g.prefixes.map(String)])).to.deep.equal([
      ['web', ['203.0.113.16/28', '203.0.113.40/32', '2001:db8:100::80/128']],
    ]);
    const f = new Flows(policy.detection);
    expect(f.run(2, { 'group:web': 3000 })).to.deep.equal([]);
    const events = f.run(2, { 'group:web': 8000 });
    const opens = events.filter((e) => e.type === 'open').map((e) => e.incident);
    expect(opens.map((i) => [i.target.toString(), i.group])).to.deep.equal([
      ['203.0.113.16/28', 'web'],
      ['203.0.113.40/32', 'web'],
      ['2001:db8:100::80/128', 'web'],
    ]);
    expect(new Set(opens.map((i) => i.id)).size).to.equal(3);
    const updates = f.run(2, { 'group:web': 9000 }).filter((e) => e.type === 'update');
    expect(new Set(updates.map((e) => e.incident.id))).to.deep.equal(new Set(opens.map((i) => i.id)));
    expect(
      f.engine
        .openIncidents()
        .map((i) => i.id)
        .sort(),
    ).to.deep.equal(opens.map((i) => i.id).sort());
    const resolved = f.run(4, { 'group:web': 100 }).filter((e) => e.type === 'resolve');
    expect(resolved.map((e) => e.incident.id).sort()).to.deep.equal(opens.map((i) => i.id).sort());
  });

  it('refuses a host group prefix outside protect, or overlapping another of the same group', () => {
    const text = [
      'version: 1',
      'tenant: t',
      'protect: [203.0.113.0/24]',
      'groups:',
      '  web: { prefixes: [198.51.100.7/32, 203.0.113.0/28, 203.0.113.8/29] }',
      '',
    ].join('\n');
    expect(() => parsePolicy(text, 'p.yaml')).to.throw(
      /p\.yaml:5:\d+: groups\.web\.prefixes\[0\]: 198\.51\.100\.7\/32 is outside every protected prefix[^]*groups\.web\.prefixes\[2\]: 203\.0\.113\.8\/29 overlaps prefixes\[1\]/,
    );
  });
});
