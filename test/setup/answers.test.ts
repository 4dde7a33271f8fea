// ft setup's answers and the policy it renders from them: every combination the wizard can produce validates with
// the real plugins' schemas, and every bad answer is refused with the policy's own reason.
import { expect } from 'chai';
import fc from 'fast-check';
import { Prefix, collect } from '@ft/sdk';
import { plugin as actionsHost } from '@ft/actions-host';
import { plugin as bird } from '@ft/bgp-bird';
import { plugin as exabgp } from '@ft/bgp-exabgp';
import { plugin as frr } from '@ft/bgp-frr';
import { plugin as gobgp } from '@ft/bgp-gobgp';
import { plugin as flow } from '@ft/detector-flow';
import { plugin as l7 } from '@ft/detector-l7';
import { plugin as proc } from '@ft/detector-proc';
import { Registry } from '../../core/plugin-host/registry.js';
import { parsePolicy } from '../../core/policy/index.js';
import {
  SetupInputError,
  parseAsn,
  parseLevels,
  parseNeverTarget,
  parseProtect,
  parseSpeaker,
  previewTarget,
  type Level,
  type SetupAnswers,
  type SpeakerChoice,
} from '../../core/setup/answers.js';
import { proposedProtect, type HostAddress } from '../../core/setup/host.js';
import { renderPolicy } from '../../core/setup/render.js';

function registry(): Registry {
  const r = new Registry();
  for (const [name, p] of Object.entries({ proc, flow, l7, actionsHost, gobgp, bird, frr, exabgp }))
    r.add(name, collect(p));
  return r;
}

const reasonOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(SetupInputError);
    return (err as SetupInputError).reason;
  }
  throw new Error('expected a SetupInputError');
};

describe('ft setup: answers', () => {
  it('refuses a prefix with host bits, naming the prefix it probably meant', () => {
    expect(reasonOf(() => parseProtect('203.0.113.10/24'))).to.match(/host bits .*did you mean 203\.0\.113\.0\/24/);
    expect(reasonOf(() => parseProtect('203.0.113.0/24, 203.0.113.128/25'))).to.match(/overlaps 203\.0\.113\.0\/24/);
    expect(reasonOf(() => parseProtect(''))).to.match(/at least one prefix/);
    expect(reasonOf(() => parseProtect('shop.example'))).to.match(/not a valid prefix/);
    expect(parseProtect(['203.0.113.0/24', '2001:db8:100::/48']).map(String)).to.deep.equal([
      '203.0.113.0/24',
      '2001:db8:100::/48',
    ]);
  });

  it('takes never-targets as addresses or prefixes, "none" as none', () => {
    expect(parseNeverTarget('203.0.113.53, 2001:db8:100::53').map(String)).to.deep.equal([
      '203.0.113.53/32',
      '2001:db8:100::53/128',
    ]);
    expect(parseNeverTarget('none')).to.deep.equal([]);
    expect(reasonOf(() => parseNeverTarget('203.0.113.300'))).to.match(/not a valid prefix/);
  });

  it('checks the AS the way the policy does (1..4294967294, not AS_TRANS)', () => {
    expect(parseAsn('AS64500')).to.equal(64500);
    expect(parseAsn('4294967294')).to.equal(4294967294);
    for (const bad of ['0', '4294967295', '23456', 'sixty', '-1'])
      expect(
        reasonOf(() => parseAsn(bad)),
        bad,
      ).to.match(/AS number/);
  });

  it('reads speakers as KIND@WHERE and says what a bad one should look like', () => {
    expect(parseSpeaker('gobgp@127.0.0.1:50051')).to.deep.equal({ kind: 'gobgp', where: '127.0.0.1:50051' });
    expect(parseSpeaker('bird@/run/bird/bird.ctl')).to.deep.equal({ kind: 'bird', where: '/run/bird/bird.ctl' });
    expect(parseSpeaker('frr')).to.deep.equal({ kind: 'frr' });
    expect(parseSpeaker('none')).to.equal(undefined);
    expect(reasonOf(() => parseSpeaker('gobgp'))).to.match(/gobgp@HOST:PORT/);
    expect(reasonOf(() => parseSpeaker('juniper@10.0.0.1'))).to.match(/KIND one of gobgp, bird, frr, exabgp/);
    expect(reasonOf(() => parseSpeaker('bird@run/bird.ctl'))).to.match(/absolute path/);
  });

  it('offers levels 1-3 and explains why level 4 is not one of them', () => {
    expect(parseLevels('3,1')).to.deep.equal([1, 3]);
    expect(parseLevels('none')).to.deep.equal([]);
    expect(reasonOf(() => parseLevels('4'))).to.match(/scrubbing provider/);
  });

  it('proposes the on-link prefixes of public addresses only, no shorter than /24 and /48', () => {
    const a = (address: string, len: number, scope: HostAddress['scope']): HostAddress => ({
      interface: 'eth0',
      address,
      family: address.includes(':') ? 6 : 4,
      onLink: Prefix.covering(address, len),
      scope,
    });
    const got = proposedProtect([
      a('203.0.113.10', 26, 'public'),
      a('198.51.100.7', 16, 'public'),
      a('10.0.0.2', 8, 'private'),
      a('2001:db8:100::10', 64, 'public'),
      a('2001:db8:100::11', 64, 'public'),
    ]);
    expect(got.map(String)).to.deep.equal(['203.0.113.0/26', '198.51.100.0/24', '2001:db8:100::/64']);
  });

  it("aims the preview at the box's own protected address, else the first host of protect, never a never-target", () => {
    const p = (s: string) => Prefix.parse(s);
    expect(previewTarget([p('203.0.113.0/24')], [], ['203.0.113.10'])).to.equal('203.0.113.10');
    expect(previewTarget([p('203.0.113.0/24')], [], ['192.0.2.2'])).to.equal('203.0.113.1');
    expect(previewTarget([p('203.0.113.0/24')], [p('203.0.113.1')], [])).to.equal(undefined);
    expect(previewTarget([p('203.0.113.0/24'), p('2001:db8:100::/48')], [p('203.0.113.0/24')], [])).to.equal(
      '2001:db8:100::1',
    );
    expect(previewTarget([p('203.0.113.7/32')], [], [])).to.equal('203.0.113.7');
  });
});

describe('ft setup: the rendered policy', () => {
  const reg = registry();
  const speakers: (SpeakerChoice | undefined)[] = [
    undefined,
    { kind: 'gobgp', where: '127.0.0.1:50051' },
    { kind: 'gobgp', where: 'unix:///run/gobgpd/api.sock' },
    { kind: 'bird', where: '/run/bird/bird.ctl' },
    { kind: 'frr' },
    { kind: 'exabgp' },
  ];
  const answers = fc.record({
    speaker: fc.constantFrom(...speakers),
    levels: fc.subarray([1, 2, 3] as Level[]),
    logs: fc.subarray(['/var/log/nginx/access.log', '/var/log/apache2/access.log', '/srv/logs/o"dd name.log']),
    format: fc.constantFrom(undefined, 'nginx-combined', 'caddy-json'),
    flow: fc.constantFrom(undefined, [], ['192.0.2.1', '198.51.100.0/28']),
    rtr: fc.subarray(['127.0.0.1:8282', '[::1]:323']),
    mode: fc.constantFrom('preview' as const, 'enforce' as const),
    neverTarget: fc.subarray(['203.0.113.53/32', '2001:db8:100::53/128']),
    asn: fc.integer({ min: 1, max: 4294967294 }).filter((n) => n !== 23456),
  });

  it('validates with the real plugins for every combination of answers', () => {
    fc.assert(
      fc.property(answers, (x) => {
        const a: SetupAnswers = {
          protect: [Prefix.parse('203.0.113.0/24'), Prefix.parse('2001:db8:100::/48')],
          neverTarget: x.neverTarget.map((n) => Prefix.parse(n)),
          asn: x.asn,
          ...(x.speaker ? { speaker: x.speaker } : {}),
          accessLogs: x.logs.map((path) => ({ path, ...(x.format ? { format: x.format } : {}) })),
          ...(x.flow ? { flowExporters: x.flow.map((e) => Prefix.parse(e)) } : {}),
          flowPorts: [2055, 4739, 6343],
          rtr: x.rtr,
          levels: x.levels,
          mode: x.mode,
        };
        const text = renderPolicy(a, {
          generatedAt: new Date('2026-01-01T00:00:00Z'),
          schemaPath: '/opt/ft/policies/policy.schema.json',
          siteAddress: '203.0.113.10',
          notes: { speaker: 'found: gobgpd (pid 1)' },
        });
        const policy = parsePolicy(text, 'setup.yaml', reg);
        expect(policy.mode).to.equal(x.mode);
        expect(policy.asn).to.equal(x.asn);
        expect([...policy.speakers.values()].map((s) => s.adapter)).to.deep.equal(x.speaker ? [x.speaker.kind] : []);
        const levels = x.speaker?.kind === 'frr' ? x.levels.filter((l) => l === 3) : x.speaker ? x.levels : [];
        expect(policy.escalation.map((l) => l.level)).to.deep.equal([...levels].sort());
        expect(policy.detectors.has('web')).to.equal(x.logs.length > 0);
        expect(policy.detectors.has('flow')).to.equal(x.flow !== undefined);
        expect(text).to.include('# - { level: 4, name: scrubbing');
      }),
      { numRuns: 150 },
    );
  });
});
