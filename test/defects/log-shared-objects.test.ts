import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createJsonLogger } from '../../core/index.js';
import { plan } from '../../core/plan/index.js';
import { NOW, incident, policy, testRpki } from '../plan/helpers.js';

// A planner-built FlowSpec rule holds one Prefix as both `target` and `match.destination`. The log redactor took
// the second sight of that object for a cycle and logged the destination as "[Circular]".
describe('logs: an object reached twice is printed twice, only a real cycle is "[Circular]"', () => {
  it('a logged plan shows the match destination of every rule', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const logger = createJsonLogger({ destination, level: 'info' });
    const p = plan({ policy: policy(), incident: incident({ bps: 6e8 }), active: [], now: NOW, rpki: testRpki() });
    const rule = p.ops[0]!.rule as { target: unknown; match: { destination: unknown } };
    expect(rule.match.destination).to.equal(rule.target); // the very same object: the case that broke
    logger.info({ ops: p.ops.map((o) => ({ rule: o.rule, via: o.via })) }, 'plan');
    const logged = JSON.parse(lines[0] as string) as {
      ops: { rule: { target: string; match: { destination: string } } }[];
    };
    expect(lines[0]).to.not.include('[Circular]');
    expect(logged.ops[0]!.rule.match.destination).to.equal('203.0.113.10/32');
    expect(logged.ops[0]!.rule.target).to.equal('203.0.113.10/32');

    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    logger.info({ cyclic }, 'cycle');
    expect(JSON.parse(lines[1] as string).cyclic.self).to.equal('[Circular]');
  });
});
