import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFt } from '../helpers/cli.js';

// Errors through the real binary. Before: a bad incident exited 2 without --json and 1 with it, --json printed the
// CLI framework's internals ({"oclif":{"exit":2}}, errno, syscall), and an `--active` rule without `match` or a
// missing `--active` file was a raw JavaScript error (exit 1, stack trace). Now every error has a registered
// code (docs/errors.md), one exit code with and without --json, and {"error":{"code","message","where"}}.
const dir = mkdtempSync(join(tmpdir(), 'ft-cli-errors-'));
const file = (name: string, body: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
};
const POLICY = 'policies/quickstart.yaml';
const SIM = ['--simulate', 'udp_flood 3Gbps to 203.0.113.10'];

interface ErrorJson {
  error: { code: string; message: string; where?: string; details?: unknown };
}

/** Runs the command with and without --json: same exit code, the JSON error shape, the text line on stderr. */
async function both(args: string[]): Promise<{ code: number | null; json: ErrorJson; text: string }> {
  const text = await runFt(args);
  const json = await runFt([...args, '--json']);
  expect(json.code, `exit code with --json (${json.stdout}${json.stderr})`).to.equal(text.code);
  expect(json.stderr, 'nothing on stderr with --json').to.equal('');
  const parsed = JSON.parse(json.stdout) as ErrorJson;
  expect(Object.keys(parsed)).to.deep.equal(['error']);
  expect(Object.keys(parsed.error).filter((k) => !['code', 'message', 'where', 'details'].includes(k))).to.deep.equal(
    [],
  );
  expect(json.stdout).to.not.match(/oclif|errno|syscall|stack/);
  expect(text.stderr).to.not.match(/\n\s+at [\w.<>]+ \(|TypeError|ENOENT:/);
  expect(text.stderr).to.include(`Error ${parsed.error.code}: `);
  return { code: text.code, json: parsed, text: text.stderr };
}

describe('CLI errors: one code, one exit code, with and without --json', function () {
  this.timeout(60_000);

  it('a bad incident: FT_E_INCIDENT_INVALID, exit 2 both ways', async () => {
    const incident = file('bad-incident.json', { target: '203.0.113.10', attack_family: 'nope', severity: 'high' });
    const r = await both(['mitigate', 'preview', '-p', POLICY, '-i', incident]);
    expect(r.code).to.equal(2);
    expect(r.json.error).to.include({ code: 'FT_E_INCIDENT_INVALID', where: incident });
    expect(r.json.error.message).to.match(/attack_family: expected one of "udp_flood"/);
  });

  it('a missing --active file: FT_E_FILE_UNREADABLE, exit 2, no raw error', async () => {
    const missing = join(dir, 'no-such-active.json');
    const r = await both(['mitigate', 'preview', '-p', POLICY, ...SIM, '--active', missing]);
    expect(r.code).to.equal(2);
    expect(r.json.error).to.deep.equal({
      code: 'FT_E_FILE_UNREADABLE',
      message: `${missing}: no such file`,
      where: missing,
    });
  });

  it('an --active rule without match: FT_E_ACTIVE_INVALID naming the field, exit 2', async () => {
    const active = file('active.json', [
      {
        rule: {
          kind: 'flowspec',
          tenant: 'example-hosting',
          target: '203.0.113.10/32',
          level: 1,
          ttlSeconds: 300,
          action: { type: 'discard' },
        },
        via: ['edge-gobgp'],
        appliedAt: '2026-12-01T00:00:00Z',
        expiresAt: '2026-12-01T00:05:00Z',
      },
    ]);
    const r = await both(['mitigate', 'preview', '-p', POLICY, ...SIM, '--active', active]);
    expect(r.code).to.equal(2);
    expect(r.json.error.code).to.equal('FT_E_ACTIVE_INVALID');
    expect(r.json.error.message).to.equal(`${active}: [0].rule.match: required: expected a map`);
  });

  it('not JSON, an unknown flag, a bad --now: FT_E_JSON_INVALID and FT_E_USAGE, exit 2', async () => {
    const notJson = file('not.json', '{ nope');
    expect((await both(['mitigate', 'preview', '-p', POLICY, '-i', notJson])).json.error.code).to.equal(
      'FT_E_JSON_INVALID',
    );
    const flag = await both(['mitigate', 'preview', '-p', POLICY, '--bogus']);
    expect(flag.code).to.equal(2);
    expect(flag.json.error.code).to.equal('FT_E_USAGE');
    const now = await both(['mitigate', 'preview', '-p', POLICY, ...SIM, '--now', 'yesterday']);
    expect(now.json.error).to.deep.include({ code: 'FT_E_USAGE', where: '--now' });
  });

  it('an invalid policy: FT_E_POLICY_INVALID, exit 1, every problem in details and on stderr', async () => {
    const policy = file('p.yaml', 'version: 1\ntenant: t\nmode: enforcee\nprotect: [203.0.113.0/24]\n');
    const r = await both(['mitigate', 'preview', '-p', policy, ...SIM]);
    expect(r.code).to.equal(1);
    expect(r.json.error).to.deep.include({
      code: 'FT_E_POLICY_INVALID',
      message: `${policy}: 1 problem(s) in the policy`,
      where: `${policy}:3:7 mode`,
    });
    expect(r.json.error.details).to.have.length(1);
    expect(r.text).to.include(`${policy}:3:7: mode: expected one of "enforce", "preview", got "enforcee"`);
  });

  it('rpki check with a bad AS number: FT_E_ADDRESS_INVALID, exit 2', async () => {
    const r = await both(['rpki', 'check', '203.0.113.0/24', 'ASX', '--file', 'policies/examples/vrps.json']);
    expect(r.code).to.equal(2);
    expect(r.json.error.code).to.equal('FT_E_ADDRESS_INVALID');
  });
});
