import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { InputError, parseActiveRules, parseIncident, parseSimulate } from '../../core/plan/index.js';
import { PolicyError, parsePolicy } from '../../core/policy/index.js';

const RUNS = Number(process.env.FT_PROPERTY_RUNS ?? 200);
const quickstart = readFileSync('policies/quickstart.yaml', 'utf8');
const lines = quickstart.split('\n');

/** Either it parses, or it throws the error type meant for users, with positions inside the text. */
function policyOutcome(text: string): void {
  try {
    parsePolicy(text, 'fuzz.yaml');
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    const total = text.split('\n').length;
    expect(err.issues.length).to.be.greaterThan(0);
    for (const i of err.issues) {
      expect(i.message, JSON.stringify(i)).to.be.a('string').and.not.equal('');
      expect(i.line, JSON.stringify(i)).to.be.within(0, total);
      expect(i.column).to.be.at.least(0);
    }
  }
}

describe('policy loader under hostile input (fast-check)', () => {
  it('arbitrary text never crashes the loader: a Policy or a PolicyError with positions', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => policyOutcome(text)),
      { numRuns: RUNS },
    );
  });

  it('mutations of a real policy (lines dropped, duplicated, swapped, characters changed) give a Policy or located errors', () => {
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('drop' as const), at: fc.nat(lines.length - 1) }),
      fc.record({ op: fc.constant('dup' as const), at: fc.nat(lines.length - 1) }),
      fc.record({ op: fc.constant('swap' as const), at: fc.nat(lines.length - 1), to: fc.nat(lines.length - 1) }),
      fc.record({
        op: fc.constant('char' as const),
        at: fc.nat(quickstart.length - 1),
        ch: fc.constantFrom(':', '-', ' ', '"', '{', '}', '[', ']', 'x', '0', '\t', '#', '&', '*'),
      }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        let ls = [...lines];
        let text = quickstart;
        for (const m of muts) {
          if (m.op === 'char') {
            text = ls.join('\n');
            const at = Math.min(m.at, text.length - 1);
            text = text.slice(0, at) + m.ch + text.slice(at + 1);
            ls = text.split('\n');
          } else if (m.op === 'drop') ls.splice(Math.min(m.at, ls.length - 1), 1);
          else if (m.op === 'dup') ls.splice(m.at, 0, ls[Math.min(m.at, ls.length - 1)] ?? '');
          else {
            const a = Math.min(m.at, ls.length - 1);
            const b = Math.min(m.to, ls.length - 1);
            [ls[a], ls[b]] = [ls[b] as string, ls[a] as string];
          }
        }
        policyOutcome(ls.join('\n'));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary JSON as an incident, active rules or --simulate text: a result or an InputError, nothing else', () => {
    const now = new Date('2026-11-22T00:00:00Z');
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        expect(err.problems.length).to.be.greaterThan(0);
      }
    };
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ maxLength: 120 }), (value, text) => {
        attempt(() => parseIncident(value, 'fuzz.json', now));
        attempt(() =>
          parseIncident(
            {
              target: '203.0.113.10',
              attack_family: 'udp_flood',
              severity: 'low',
              ...(typeof value === 'object' && value && !Array.isArray(value) ? value : {}),
            },
            'fuzz.json',
            now,
          ),
        );
        attempt(() => parseActiveRules(value, 'fuzz.json'));
        attempt(() => parseActiveRules([{ rule: value, via: ['s1'], appliedAt: 'x', expiresAt: 'y' }], 'fuzz.json'));
        attempt(() => parseSimulate(text, now));
        attempt(() => parseSimulate(`udp_flood ${text} to 203.0.113.10`, now));
      }),
      { numRuns: RUNS },
    );
  });
});
