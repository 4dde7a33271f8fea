import { expect } from 'chai';
import { Prefix } from '@ft/sdk';
import { PolicyError, loadPolicy, parsePolicy, type PolicyIssue } from '../../core/policy/index.js';
import { DEFAULT_DETECTION } from '../../core/model/detection.js';

function issuesOf(text: string): PolicyIssue[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    if (err instanceof PolicyError) return err.issues;
    throw err;
  }
  throw new Error('expected the policy to be refused');
}

const HEAD = `version: 1
tenant: t1
asn: 64500
protect: [203.0.113.0/24, 2001:db8:100::/48]
speakers:
  s1: { adapter: gobgp }
`; // 6 lines: the cases below start on line 7

describe('policy loader: good policies', () => {
  it('parses units, prefixes and defaults into typed values', () => {
    const p = parsePolicy(
      `${HEAD}defaults: { ttl: 90s, cooldown: 3m, maxRules: 50 }
detection:
  floor: { bps: 100Mbps, pps: 20kpps }
  resolve: { ratio: 70%, after: 15s }
escalation:
  - { level: 1, when: { bps: ">=1.5Gbps", pps: ">50kpps" }, do: { flowspec: { then: rate-limit, rate: 80Mbps } }, via: s1 }
rollback: { collateralDrop: 75% }
`,
      'p.yaml',
    );
    expect(p.defaults).to.deep.equal({
      ttlSeconds: 90,
      cooldownSeconds: 180,
      maxRules: 50,
      rpki: 'enforce',
      minPrefixLength: { v4: 24, v6: 48 },
    });
    expect(p.mode).to.equal('preview'); // the default: nothing is applied until the operator says enforce
    expect(p.onShutdown).to.equal('withdraw');
    expect(p.atCap).to.equal('refuse');
    expect(p.protect.map(String)).to.deep.equal(['203.0.113.0/24', '2001:db8:100::/48']);
    const l = p.escalation[0];
    expect(l?.when.bps).to.deep.equal({ op: '>=', value: 1.5e9, text: '>=1.5Gbps' });
    expect(l?.when.pps?.value).to.equal(50_000);
    expect(l?.do.flowspec).to.deep.equal({ then: 'rate-limit', bitsPerSecond: 80e6 });
    expect(l?.via).to.deep.equal(['s1']);
    expect(p.rollback.collateralDrop).to.equal(0.75);
    expect(p.detection.floor).to.deep.equal({ bps: 100e6, pps: 20_000 });
    expect(p.detection.resolveRatio).to.equal(0.7);
    expect(p.detection.resolveAfterMs).to.equal(15_000);
    expect(p.detection.baseline).to.deep.equal(DEFAULT_DETECTION.baseline);
  });

  it('always sends 65535:666 first for RTBH, with the policy communities after it, and NO_EXPORT by default', () => {
    const p = parsePolicy(
      `${HEAD}escalation:\n  - { level: 3, when: { bps: ">2Gbps" }, do: { rtbh: { community: ["64500:666", "65535:666"] } }, via: [s1] }\n`,
      'p.yaml',
    );
    expect(p.escalation[0]?.do.rtbh).to.deep.equal({
      communities: ['65535:666', '64500:666'],
      noExport: true,
      wholePrefix: false,
    });
  });

  it('builds the detection settings with per-target overrides for the detection engine', () => {
    const p = parsePolicy(
      `${HEAD}targets:\n  - { name: shop, prefix: 203.0.113.32/28, detection: { floor: { bps: 20Mbps }, factor: 4 } }\n`,
      'p.yaml',
    );
    expect(p.detection.overrides).to.have.length(1);
    expect(p.detection.overrides[0]?.prefix.equals(Prefix.parse('203.0.113.32/28'))).to.equal(true);
    expect(p.detection.overrides[0]?.floor).to.deep.equal({ bps: 20e6 });
    expect(p.detection.overrides[0]?.factor).to.equal(4);
  });

  it('keeps adapter options as written (unvalidated) when no registry is given', () => {
    const p = parsePolicy(
      `${HEAD.replace('{ adapter: gobgp }', '{ adapter: gobgp, address: "127.0.0.1:50051", pop: ams1 }')}`,
      'p.yaml',
    );
    const s = p.speakers.get('s1');
    expect(s).to.deep.include({ adapter: 'gobgp', pop: 'ams1', validated: false });
    expect(s?.options).to.deep.equal({ address: '127.0.0.1:50051' });
  });

  it('warns (without failing) about a speaker no level uses and a rate limit above its own trigger', () => {
    const p = parsePolicy(
      `${HEAD}  s2: { adapter: exabgp }\nescalation:\n  - { level: 1, when: { bps: ">20Mbps" }, do: { flowspec: { then: rate-limit, rate: 100Mbps } }, via: [s1] }\n`,
      'p.yaml',
    );
    expect(p.warnings).to.deep.equal([
      'speakers.s2 is not used by any escalation level',
      "escalation[0]: the rate limit (100Mbps) is not below the level's own trigger (bps >20Mbps): an attack just over the trigger passes the limit untouched",
    ]);
  });

  it('loads every shipped policy, without warnings', async () => {
    for (const f of [
      'default.yaml',
      'quickstart.yaml',
      'examples/hosting-provider.yaml',
      'examples/isp-two-pops.yaml',
      'examples/game-host.yaml',
    ]) {
      const p = await loadPolicy(`policies/${f}`);
      expect(p.protect.length, f).to.be.greaterThan(0);
      expect(p.warnings, f).to.deep.equal([]);
    }
  });

  it('a missing file is a PolicyError naming it', async () => {
    try {
      await loadPolicy('/nonexistent/ft-policy.yaml');
      expect.fail('should throw');
    } catch (err) {
      expect(err).to.be.instanceOf(PolicyError);
      expect((err as PolicyError).message)
        .to.include('/nonexistent/ft-policy.yaml')
        .and.include('no such file');
    }
  });
});

/** Each case: the lines after HEAD (starting at line 7), and the issue expected with its exact position. */
const BAD: { name: string; body: string; line: number; column: number; path: string; message: RegExp }[] = [
  {
    name: 'unit typo in a threshold',
    body: 'escalation:\n  - { level: 1, when: { bps: ">100Mbsp" }, do: { flowspec: { then: discard } }, via: [s1] }\n',
    line: 8,
    column: 30,
    path: 'escalation[0].when.bps',
    message: /"100Mbsp" is not a bit rate/,
  },
  {
    name: 'threshold without comparison',
    body: 'escalation:\n  - level: 1\n    when: { bps: 100Mbps }\n    do: { flowspec: { then: discard } }\n    via: [s1]\n',
    line: 9,
    column: 18,
    path: 'escalation[0].when.bps',
    message: /threshold like ">100Mbps"/,
  },
  {
    name: 'bytes instead of bits',
    body: 'escalation:\n  - level: 1\n    when: { bps: ">100MBps" }\n    do: { flowspec: { then: discard } }\n    via: [s1]\n',
    line: 9,
    column: 18,
    path: 'escalation[0].when.bps',
    message: /not a bit rate/,
  },
  {
    name: 'unknown flowspec action',
    body: 'escalation:\n  - level: 1\n    when: { bps: ">1Gbps" }\n    do:\n      flowspec: { then: drop }\n    via: [s1]\n',
    line: 11,
    column: 25,
    path: 'escalation[0].do.flowspec.then',
    message: /expected one of "discard", "rate-limit", "redirect", "mark", got "drop"/,
  },
  {
    name: 'rate-limit without rate',
    body: 'escalation:\n  - level: 1\n    when: { bps: ">1Gbps" }\n    do:\n      flowspec: { then: rate-limit }\n    via: [s1]\n',
    line: 11,
    column: 17,
    path: 'escalation[0].do.flowspec.rate',
    message: /required: expected a bit rate/,
  },
  {
    name: 'misspelt key with a hint',
    body: 'escalation:\n  - level: 3\n    when: { bps: ">2Gbps" }\n    do:\n      rtbh:\n        comunity: "65535:666"\n    via: [s1]\n',
    line: 12,
    column: 9,
    path: 'escalation[0].do.rtbh.comunity',
    message: /unknown key "comunity": did you mean "community"\?/,
  },
  {
    name: 'community out of range',
    body: 'escalation:\n  - level: 3\n    when: { bps: ">2Gbps" }\n    do:\n      rtbh: { community: "65535:70000" }\n    via: [s1]\n',
    line: 11,
    column: 26,
    path: 'escalation[0].do.rtbh.community',
    message: /out of range/,
  },
  {
    name: 'via names no speaker',
    body: 'escalation:\n  - level: 1\n    when: { bps: ">1Gbps" }\n    do: { flowspec: { then: discard } }\n    via: [s2]\n',
    line: 11,
    column: 11,
    path: 'escalation[0].via[0]',
    message: /no speaker named "s2": did you mean "s1"\?/,
  },
  {
    name: 'flowspec without via',
    body: 'escalation:\n  - level: 1\n    when: { bps: ">1Gbps" }\n    do: { flowspec: { then: discard } }\n',
    line: 8,
    column: 5,
    path: 'escalation[0].via',
    message: /FlowSpec and RTBH need `via`/,
  },
  {
    name: 'levels out of order',
    body: 'escalation:\n  - { level: 2, when: { bps: ">1Gbps" }, do: { flowspec: { then: discard } }, via: [s1] }\n  - { level: 1, when: { bps: ">2Gbps" }, do: { flowspec: { then: discard } }, via: [s1] }\n',
    line: 9,
    column: 14,
    path: 'escalation[1].level',
    message: /levels must increase/,
  },
  {
    name: 'host bits set in a prefix',
    body: 'neverTarget: [203.0.113.53/24]\n',
    line: 7,
    column: 15,
    path: 'neverTarget[0]',
    message: /did you mean 203\.0\.113\.0\/24\?/,
  },
  {
    name: 'target outside protect',
    body: 'targets:\n  - { name: x, prefix: 198.51.100.0/28, maxLevel: 1 }\n',
    line: 8,
    column: 24,
    path: 'targets[0].prefix',
    message: /outside every protected prefix/,
  },
  {
    name: 'override of a level that does not exist',
    body: 'escalation:\n  - { level: 1, when: { bps: ">1Gbps" }, do: { flowspec: { then: discard } }, via: [s1] }\ntargets:\n  - prefix: 203.0.113.64/26\n    when:\n      2: { bps: ">1Gbps" }\n',
    line: 12,
    column: 7,
    path: 'targets[0].when["2"]',
    message: /no escalation level 2/,
  },
  {
    name: 'minimum prefix length of /8',
    body: 'defaults:\n  minPrefixLength: { v4: 8 }\n',
    line: 8,
    column: 26,
    path: 'defaults.minPrefixLength.v4',
    message: /at least 16/,
  },
  {
    name: 'unknown attack family',
    body: 'onNode:\n  - when: { family: syn_flod }\n    do: [ { iptables: { synCookies: true } } ]\n',
    line: 8,
    column: 21,
    path: 'onNode[0].when.family',
    message: /expected one of .*"syn_flood"/,
  },
  {
    name: 'unknown vector',
    body: 'onNode:\n  - when: { vector: [dns, ntpp] }\n    do: [ { nft: { dropUdpSourcePorts: auto } } ]\n',
    line: 8,
    column: 27,
    path: 'onNode[0].when.vector[1]',
    message: /got "ntpp"/,
  },
  {
    name: 'on-node item naming two actions',
    body: 'onNode:\n  - when: { family: syn_flood }\n    do:\n      - { iptables: { synCookies: true }, nft: { synCookies: true } }\n',
    line: 10,
    column: 9,
    path: 'onNode[0].do[0]',
    message: /names one on-node action/,
  },
  {
    name: 'scrub provider unknown',
    body: 'escalation:\n  - level: 4\n    when: { bps: ">5Gbps" }\n    do: { scrub: { provider: cf } }\n',
    line: 10,
    column: 30,
    path: 'escalation[0].do.scrub.provider',
    message: /no scrubber named "cf": `scrubbers` is empty/,
  },
  {
    name: 'duration unit typo',
    body: 'defaults: { ttl: 5mins }\n',
    line: 7,
    column: 18,
    path: 'defaults.ttl',
    message: /"5mins" is not a duration/,
  },
  {
    name: 'percent without %',
    body: 'rollback: { collateralDrop: 0.9 }\n',
    line: 7,
    column: 29,
    path: 'rollback.collateralDrop',
    message: /percentage like 90%/,
  },
  {
    name: 'unknown top-level key',
    body: 'escalaton: []\n',
    line: 7,
    column: 1,
    path: 'escalaton',
    message: /did you mean "escalation"\?/,
  },
  { name: 'YAML syntax error', body: 'escalation: [\n', line: 8, column: 1, path: '', message: /^YAML: / },
  {
    name: 'alias to an anchor that does not exist',
    body: 'neverTarget: *resolvers\n',
    line: 7,
    column: 14,
    path: '',
    message: /^YAML: Unresolved alias/,
  },
  {
    name: 'duplicate key',
    body: 'tenant: t2\n',
    line: 7,
    column: 1,
    path: '',
    message: /YAML: Map keys must be unique/,
  },
];

describe('policy loader: every bad policy names file:line:column, the path and what was expected', () => {
  for (const c of BAD) {
    it(c.name, () => {
      const issues = issuesOf(HEAD + c.body);
      const hit = issues.find((i) => c.message.test(i.message));
      expect(hit, JSON.stringify(issues, null, 1)).to.not.equal(undefined);
      expect({ line: hit?.line, column: hit?.column, path: hit?.path }).to.deep.equal({
        line: c.line,
        column: c.column,
        path: c.path,
      });
      expect(hit?.file).to.equal('p.yaml');
    });
  }

  it('reports several problems at once, in source order', () => {
    const issues = issuesOf(`version: 1
tenant: t1
mode: enforcee
defaults: { ttl: 5min, maxRules: 0 }
protect: [203.0.113.10/24]
`);
    expect(issues.map((i) => `${i.line}:${i.column} ${i.path}`)).to.deep.equal([
      '3:7 mode',
      '4:18 defaults.ttl',
      '4:34 defaults.maxRules',
      '5:11 protect[0]',
    ]);
    expect(issues[0]?.message).to.equal('expected one of "enforce", "preview", got "enforcee"');
  });

  it('a policy that is not a map says what it should be', () => {
    const issues = issuesOf('- 1\n- 2\n');
    expect(issues[0]).to.deep.include({ line: 1, column: 1 });
    expect(issues[0]?.message).to.include('version: 1');
  });

  it('asn is required once anything is announced with RPKI on', () => {
    const issues = issuesOf(
      HEAD.replace('asn: 64500\n', '') +
        'escalation:\n  - { level: 1, when: { bps: ">1Gbps" }, do: { flowspec: { then: discard } }, via: [s1] }\n',
    );
    expect(issues.map((i) => i.path)).to.include('asn');
  });
});
