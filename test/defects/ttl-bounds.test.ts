import { expect } from 'chai';
import { parsePolicy, PolicyError, type PolicyIssue } from '../../core/policy/index.js';

// `ttl: 0` and sub-second TTLs were accepted at level, target and onNode scope (only defaults.ttl <= 0 was
// refused): rules that expire before they reach the router, or device timeouts of 0.
function issuesOf(text: string): PolicyIssue[] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (err) {
    if (err instanceof PolicyError) return err.issues;
    throw err;
  }
  return [];
}

const policy = (ttl: string) =>
  [
    'version: 1', //                                                         1
    'tenant: t',
    'asn: 64500',
    `defaults: { ttl: ${ttl} }`, //                                          4
    'protect: [203.0.113.0/24]',
    'targets:',
    `  - { prefix: 203.0.113.64/26, ttl: ${ttl} }`, //                      7
    'speakers: { s: { adapter: gobgp } }',
    'escalation:',
    `  - { level: 1, when: { bps: ">1Gbps" }, do: { flowspec: { then: discard } }, via: [s], ttl: ${ttl} }`, // 10
    'onNode:',
    `  - { when: { pps: ">1kpps" }, do: [ { nft: { dropUdpSourcePorts: auto } } ], ttl: ${ttl} }`, //      12
  ].join('\n');

describe('policy: every TTL is at least one whole second, at every scope', () => {
  for (const [ttl, why] of [
    ['0', /0 would expire it before it is installed/],
    ['0s', /0 would expire it/],
    ['300ms', /under a second \(300ms\)/],
    ['1.5s', /whole seconds/],
    ['30d', /longer than the maximum of 24d/],
  ] as const) {
    it(`ttl: ${ttl} is refused at defaults, target, level and onNode, each with its line`, () => {
      const issues = issuesOf(policy(ttl));
      const at = (path: string) => issues.find((i) => i.path === path);
      for (const [path, line] of [
        ['defaults.ttl', 4],
        ['targets[0].ttl', 7],
        ['escalation[0].ttl', 10],
        ['onNode[0].ttl', 12],
      ] as const) {
        expect(at(path), `${path} in ${JSON.stringify(issues)}`).to.not.equal(undefined);
        expect(at(path)!.line).to.equal(line);
        expect(at(path)!.message).to.match(why);
      }
    });
  }

  it('1s, 5m and 24d are fine', () => {
    for (const ttl of ['1', '1s', '5m', '24d']) expect(issuesOf(policy(ttl)), ttl).to.deep.equal([]);
  });
});
