import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { runFt } from '../helpers/cli.js';
import { requireLab } from '../helpers/env.js';
import { run } from '../helpers/net.js';

const namespaces = (prefix: string) =>
  run(['ip', 'netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n?.startsWith(`${prefix}-`));

describe('ft lab up | scenario | down (the namespace lab, end to end)', function () {
  this.timeout(120_000);
  const prefix = `ftl${randomBytes(3).toString('hex')}`;
  const home = mkdtempSync(join(tmpdir(), 'ft-labcli-'));
  const env = { FT_LAB_PREFIX: prefix, FT_LAB_DIR: join(home, 'lab'), FT_LAB_TTL: '1' };

  before(function () {
    requireLab(this, { root: true, commands: ['gobgpd', 'nft', 'hping3', 'nginx', 'curl'] });
  });
  after(async () => {
    await runFt(['lab', 'down'], env);
    rmSync(home, { recursive: true, force: true });
  });

  it('builds the lab twice in a row, runs the UDP amplification scenario with every expectation met, and down removes it all', async () => {
    expect((await runFt(['lab', 'up'], env)).code).to.equal(0);
    const second = await runFt(['lab', 'up', '--json'], env);
    expect(second.code, second.stderr).to.equal(0);
    expect(JSON.parse(second.stdout).namespaces).to.have.length(4);
    expect(namespaces(prefix)).to.have.members([
      `${prefix}-ctl`,
      `${prefix}-edge-linux`,
      `${prefix}-attacker`,
      `${prefix}-victim`,
    ]);
    for (const ns of namespaces(prefix)) {
      expect(
        run(['ip', 'netns', 'exec', ns as string, 'ip', 'route', 'show', 'default']).stdout.trim(),
        `${ns} has no default route`,
      ).to.equal('');
    }

    const status = await runFt(['lab', 'status', '--json'], env);
    expect(JSON.parse(status.stdout).up).to.equal(true);

    const scenario = await runFt(['lab', 'scenario', 'udp-amplification', '--json'], env);
    const outcome = JSON.parse(scenario.stdout) as { ok: boolean; steps: { step: string; ok: boolean }[] };
    expect(
      outcome.steps.filter((s) => !s.ok),
      scenario.stderr,
    ).to.deep.equal([]);
    expect(outcome.ok).to.equal(true);
    expect(scenario.code).to.equal(0);

    const down = await runFt(['lab', 'down', '--json'], env);
    expect(down.code).to.equal(0);
    expect(namespaces(prefix)).to.deep.equal([]);
    expect(JSON.parse((await runFt(['lab', 'status', '--json'], env)).stdout).up).to.equal(false);
  });

  it('down cleans up after a crashed run (namespaces left behind with daemons in them)', async () => {
    run(['ip', 'netns', 'add', `${prefix}-ctl`]);
    run(['ip', 'netns', 'add', `${prefix}-victim`]);
    // A daemon that outlived its crashed lab (bounded: it would end by itself after 60 s).
    const orphan = spawn('ip', ['netns', 'exec', `${prefix}-victim`, 'sleep', '60'], { stdio: 'ignore' });
    const gone = new Promise((resolve) => orphan.on('exit', (_code, signal) => resolve(signal)));
    const down = await runFt(['lab', 'down', '--json'], env);
    expect(JSON.parse(down.stdout).removed).to.have.members([`${prefix}-ctl`, `${prefix}-victim`]);
    expect(namespaces(prefix)).to.deep.equal([]);
    expect(await gone, 'the orphan daemon was killed').to.equal('SIGKILL');
  });
});
