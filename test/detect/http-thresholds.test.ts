import { expect } from 'chai';
import { Prefix, UnitError, formatRequestRate, parseRequestRate, type Sample } from '@ft/sdk';
import { PolicyError, parsePolicy } from '../../core/policy/index.js';
import { Replay, first } from './harness.js';

const SITE = 'site:shop.example';
const SITE_ADDR = '203.0.113.80';

/** What the l7 detector sends for a site each 100 ms: pps is requests/s, bps 0, with the HTTP breakdown. */
function l7(rps: number): Partial<Sample> {
  return {
    source: 'nginx-logs',
    sourceKind: 'l7',
    target: SITE,
    prefix: Prefix.parse(SITE_ADDR),
    pps: rps,
    bps: 0,
    topSrcIps: [
      { key: '198.51.100.7', count: rps * 0.6 },
      { key: '192.0.2.44', count: rps * 0.4 },
    ],
    http: {
      site: 'shop.example',
      rps,
      statuses: { '1xx': 0, '2xx': rps, '3xx': 0, '4xx': 0, '5xx': 0 },
      uniqueClients: 40,
    },
  };
}

function settingsFrom(detection: string) {
  return parsePolicy(`version: 1\ntenant: t\nprotect: [203.0.113.0/24]\ndetection:\n${detection}`, 'p.yaml').detection;
}

/** A site at `quiet` req/s for the 300 s baseline window, then `burst` req/s for 3 s: the events of the burst. */
function replay(settings: ReturnType<typeof settingsFrom>, quiet: number, burst: number, make = l7) {
  const r = new Replay(settings);
  r.run(300_000, () => make(quiet), SITE_ADDR);
  return r.run(3000, () => make(burst), SITE_ADDR);
}

describe('detection: HTTP targets use request-rate thresholds, not the packet ones', () => {
  // A network policy: a 20 kpps floor, right for packets, and no word about HTTP.
  const packetFloor = settingsFrom('  floor: { pps: 20kpps }\n');

  it('a 3000 req/s HTTP flood under a 20 kpps packet floor opens an http_flood incident', () => {
    const events = replay(packetFloor, 20, 3000);
    const open = first(events, 'open');
    expect(open, 'no incident opened').to.not.equal(undefined);
    expect(open?.incident.family).to.equal('http_flood');
    expect(open?.incident.target.toString()).to.equal(`${SITE_ADDR}/32`);
    expect(open?.incident.http?.site).to.equal('shop.example');
  });

  it('the same rate in packets stays under the packet floor (which still applies to packet targets)', () => {
    const packets = (pps: number): Partial<Sample> => ({ source: 'proc-a', sourceKind: 'proc', pps, bps: 0 });
    expect(first(replay(packetFloor, 20, 3000, packets), 'open')).to.equal(undefined);
  });

  it('the default request floor (100 req/s) suppresses a small burst, well above 3x its baseline', () => {
    expect(first(replay(packetFloor, 20, 80), 'open')).to.equal(undefined);
    expect(first(replay(packetFloor, 20, 150), 'open')).to.not.equal(undefined);
  });

  it('detection.http.floor and a per-target http floor set the request floor', () => {
    const lower = settingsFrom('  http: { floor: { rps: 50rps } }\n');
    expect(first(replay(lower, 10, 80), 'open')).to.not.equal(undefined);
    const s = parsePolicy(
      `version: 1\ntenant: t\nprotect: [203.0.113.0/24]\ndetection: { http: { floor: { rps: 50 } } }\ntargets:\n  - { prefix: ${SITE_ADDR}/32, detection: { http: { floor: { rps: 2krps } } } }\n`,
      'p.yaml',
    ).detection;
    expect(first(replay(s, 10, 1500), 'open')).to.equal(undefined);
    expect(first(replay(s, 10, 2500), 'open')).to.not.equal(undefined);
  });

  it('a static request threshold fires while the baseline is still learning; the packet static does not apply to sites', () => {
    const s = settingsFrom('  static: { pps: 100pps }\n  http: { static: { rps: 500rps } }\n');
    const r = new Replay(s);
    expect(
      first(
        r.run(3000, () => l7(400), SITE_ADDR),
        'open',
      ),
      '400 req/s is above static.pps but below http.static',
    ).to.equal(undefined);
    expect(
      first(
        r.run(2000, () => l7(600), SITE_ADDR),
        'open',
      )?.incident.family,
    ).to.equal('http_flood');
  });

  it('request-rate units are strict: a typo is an error at its line, never a zero', () => {
    expect(parseRequestRate('500rps')).to.equal(500);
    expect(parseRequestRate('2krps')).to.equal(2000);
    expect(parseRequestRate('1.5 kRPS')).to.equal(1500);
    expect(parseRequestRate(250)).to.equal(250);
    expect(formatRequestRate(2000)).to.equal('2krps');
    for (const bad of ['500 req/s', '5kpps', 'rps', '-1rps', ''])
      expect(() => parseRequestRate(bad), bad).to.throw(UnitError);
    try {
      settingsFrom('  http: { floor: { rps: 50kpps } }\n');
      expect.fail('expected a policy error');
    } catch (err) {
      expect(err).to.be.instanceOf(PolicyError);
      const issue = (err as PolicyError).issues[0];
      expect(issue).to.deep.include({ line: 5, column: 25, path: 'detection.http.floor.rps' });
      expect(issue?.message).to.equal('"50kpps" is not a request rate like 500rps or 2krps');
    }
  });
});
