import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFt } from '../helpers/cli.js';

// `ft policy validate` on hostile or absurd input: each was a raw JavaScript error (exit 1 with a stack trace) or
// took minutes (quadratic). Each must be a clear policy problem with a position, in time linear in the input.
const BASE = [
  'version: 1',
  'tenant: t',
  'asn: 64500',
  'protect: [203.0.113.0/24]',
  'speakers: { s: { adapter: gobgp } }',
  'escalation:',
  '  - { level: 1, when: { bps: ">1Gbps" }, do: { flowspec: { then: discard } }, via: [s] }',
].join('\n');

const dir = mkdtempSync(join(tmpdir(), 'ft-policy-limits-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function validate(path: string) {
  const r = await runFt(['policy', 'validate', path]);
  expect(r.stderr, 'no stack trace').to.not.match(/\n\s+at [\w.<>]+ \(|TypeError|RangeError/);
  return r;
}

describe('ft policy validate: absurd input is a clear problem, in linear time', function () {
  this.timeout(30_000);

  it('onNode with `do: [ {} ]` names the empty item', async () => {
    const r = await validate(file('empty.yaml', `${BASE}\nonNode:\n  - { when: { pps: ">1kpps" }, do: [ {} ] }\n`));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('empty.yaml:9:38: onNode[0].do[0]: each item names one on-node action');
    expect(r.stderr).to.include('(got none)');
  });

  it('a mapping nested 5,000 deep (flow or block style) is refused as too deep, with its line', async () => {
    const n = 5000;
    const flow = await validate(file('flow.yaml', `${BASE}\ndetectors: ${'{ a: '.repeat(n)}1${' }'.repeat(n)}\n`));
    expect(flow.code).to.equal(1);
    expect(flow.stderr).to.match(/flow\.yaml:8:\d+: YAML nested too deeply to read/);
    const blockText = `${BASE}\nx:\n${Array.from({ length: n }, (_, i) => `${' '.repeat(i + 1)}a:\n`).join('')}${' '.repeat(n + 1)}1\n`;
    const block = await validate(file('block.yaml', blockText));
    expect(block.code).to.equal(1);
    expect(block.stderr).to.match(/block\.yaml:\d+:\d+: YAML nested too deeply to read/);
    // Deep enough to be absurd, shallow enough to parse: refused by depth, at the node that is too deep.
    const mid = await validate(file('mid.yaml', `${BASE}\ntenants: ${'{ a: '.repeat(100)}1${' }'.repeat(100)}\n`));
    expect(mid.code).to.equal(1);
    expect(mid.stderr).to.match(/mid\.yaml:8:\d+: nested more than 32 levels deep/);
  });

  it('50,000 unknown keys: the first 1,000 listed and the rest counted (it took 95 s)', async () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `k${i}: 1`).join('\n');
    const r = await validate(file('keys.yaml', `${BASE}\n${keys}\n`));
    expect(r.code).to.equal(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).to.equal(`${join(dir, 'keys.yaml')}:8:1: k0: unknown key "k0"`);
    expect(lines).to.have.length(1002);
    expect(lines[1000]).to.include('and 49000 more problems like the ones above (the first 1000 are listed)');
  });

  it('50,000 protect entries are checked for overlap in one sweep (it took 29.5 s)', async () => {
    const entries = Array.from({ length: 50_000 }, (_, i) => `  - 10.${(i >> 8) & 255}.${i & 255}.0/24`);
    entries.push('  - 10.1.0.0/16'); // overlaps 256 entries listed before it: one problem, naming the first
    const r = await validate(
      file('protect.yaml', `${BASE.replace('protect: [203.0.113.0/24]', `protect:\n${entries.join('\n')}`)}\n`),
    );
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('protect[50000]: 10.1.0.0/16 overlaps protect[256] (10.1.0.0/24)');
    expect(r.stderr).to.include('1 problem');
  });

  it('a key written twice is still refused, at the second one', async () => {
    const r = await validate(file('dup.yaml', `${BASE}\ntenant: u\n`));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('dup.yaml:8:1: YAML: Map keys must be unique');
  });
});
