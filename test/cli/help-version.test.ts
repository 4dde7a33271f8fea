import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, isolatedHome, runFt } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('ft --help / --version', () => {
  it('prints the version from package.json', async () => {
    const r = await runFt(['--version'], isolatedHome());
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`^ft/${pkg.version.replace(/\./g, '\\.')} linux-`));
  });

  it('lists the registry and plugins commands, with a space as topic separator', async () => {
    const r = await runFt(['--help'], isolatedHome());
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include('USAGE');
    expect(r.stdout).to.match(/^\s+registry\s+List every detector, action, alert channel and export sink kind/m);
    expect(r.stdout).to.match(/^\s+plugins\s/m);
    const plugins = await runFt(['plugins', 'link', '--help'], isolatedHome());
    expect(plugins.code).to.equal(0);
    expect(plugins.stdout).to.include('$ ft plugins link PATH');
  });

  it('an unknown command exits non-zero and says so', async () => {
    const r = await runFt(['no-such-command'], isolatedHome());
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/command no-such-command not found/i);
  });
});
