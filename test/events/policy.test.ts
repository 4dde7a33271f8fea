import { expect } from 'chai';
import { PolicyError, parsePolicy, type PolicyIssue } from '../../core/policy/index.js';

const base = `version: 1
tenant: lab
protect: [203.0.113.0/24]
`;

function issues(text: string): PolicyIssue[] {
  try {
    parsePolicy(text, 'policy.yaml');
  } catch (err) {
    if (err instanceof PolicyError) return err.issues;
    throw err;
  }
  return [];
}

describe('policy events: section (how much of the event stream is kept)', () => {
  it('defaults when absent; units as an operator writes them', () => {
    expect(parsePolicy(base, 'policy.yaml').events).to.deep.equal({
      retainBytes: 256 * 2 ** 20,
      retainDays: 90,
      segmentBytes: 8 * 2 ** 20,
      fleetMaxLen: 100_000,
    });
    const p = parsePolicy(
      `${base}events: { retain: 2GiB, retainFor: 30d, segment: 16MiB, fleetMaxLen: 500000 }\n`,
      'policy.yaml',
    );
    expect(p.events).to.deep.equal({
      retainBytes: 2 ** 31,
      retainDays: 30,
      segmentBytes: 16 * 2 ** 20,
      fleetMaxLen: 500_000,
    });
  });

  it('refuses sizes and ages that cannot work, naming where', () => {
    const found = issues(`${base}events:\n  segment: 1kB\n  retain: 10kB\n  retainFor: 5m\n  extra: 1\n`);
    expect(found.map((i) => [i.path, i.line])).to.deep.include.members([
      ['events.segment', 5],
      ['events.retain', 6],
      ['events.retainFor', 7],
    ]);
    expect(found.some((i) => i.path.startsWith('events') && /extra/.test(i.message))).to.equal(true);
  });
});
