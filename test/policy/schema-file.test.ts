import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { policyJsonSchema } from '../../core/policy/index.js';
import { ROOT } from '../helpers/cli.js';

describe('policies/policy.schema.json', () => {
  it('is what the zod schema generates today (run `node --import tsx scripts/gen-policy-schema.mjs` when this fails)', () => {
    const checkedIn = JSON.parse(readFileSync(join(ROOT, 'policies', 'policy.schema.json'), 'utf8'));
    expect(checkedIn).to.deep.equal(JSON.parse(JSON.stringify(policyJsonSchema())));
  });

  it('describes what editors need: required keys, enums, unit patterns and unknown keys refused', () => {
    const s = policyJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, any>;
    };
    expect(s.required).to.include.members(['version', 'tenant', 'protect']);
    expect(s.additionalProperties).to.equal(false);
    expect(s.properties.mode.enum).to.deep.equal(['enforce', 'preview']);
    expect(s.properties.atCap.enum).to.deep.equal(['refuse', 'aggregate']);
    const ttl = s.properties.defaults.properties.ttl;
    const pattern = new RegExp(ttl.anyOf[0].pattern);
    expect(pattern.test('5m')).to.equal(true);
    expect(pattern.test('5mins')).to.equal(false);
  });

  it('every shipped policy names the schema for editors', () => {
    for (const f of [
      'default.yaml',
      'quickstart.yaml',
      'examples/hosting-provider.yaml',
      'examples/isp-two-pops.yaml',
      'examples/game-host.yaml',
    ]) {
      const text = readFileSync(join(ROOT, 'policies', f), 'utf8');
      expect(text, f).to.match(/^# yaml-language-server: \$schema=(\.\.\/)?(\.\/)?policy\.schema\.json$/m);
      expect(parse(text).version, f).to.equal(1);
    }
  });
});
