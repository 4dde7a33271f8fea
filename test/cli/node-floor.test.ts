import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { nodeRuntimeResult } from '../../core/doctor/runtime.js';
import { IN_CI } from '../helpers/env.js';
import { BIN, ROOT, isolatedHome, runFt, type RunResult } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const FLOOR = Number(/^>=(\d+)$/.exec(pkg.engines.node)?.[1]);

/**
 * A Node older than the floor: Debian 12 machines (CI's among them) have the system's Node 20 at /usr/bin/node,
 * next to the Node 24 that lab/setup or the checkout provides.
 */
function olderNode(): string | undefined {
  const candidate = '/usr/bin/node';
  if (!existsSync(candidate)) return undefined;
  const v = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
  return Number(v.split('.')[0]) < FLOOR ? candidate : undefined;
}

function runWith(node: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the Node floor (package.json engines.node)', () => {
  it('bin/run.js checks the same floor that package.json declares', () => {
    expect(FLOOR).to.be.at.least(24);
    const launcher = readFileSync(BIN, 'utf8');
    expect(launcher).to.include(`process.versions.node.split('.')[0]) < ${FLOOR})`);
  });

  it('ft doctor reports the Node that runs ft, and refuses one below the floor with the fix', async () => {
    const r = await runFt(['doctor', '--no-probe', '--json'], isolatedHome());
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; summary: string }[] };
    const check = report.checks.find((c) => c.id === 'runtime.node');
    expect(check?.status).to.equal('ok');
    expect(check?.summary).to.include(process.version);

    const old = nodeRuntimeResult('v20.20.2', '/usr/bin/node', FLOOR, 'run bash lab/setup');
    expect(old.status).to.equal('fail');
    expect(old.summary).to.include('v20.20.2').and.include(`older than ${FLOOR}`);
    expect(old.hint).to.equal('run bash lab/setup');
  });

  describe('started by an older Node', () => {
    let old: string;
    before(function () {
      const found = olderNode();
      if (!found) {
        const reason = `no Node older than ${FLOOR} at /usr/bin/node to start ft with`;
        if (IN_CI) throw new Error(`prerequisite missing in CI: ${reason}`);
        console.log(`      skipped: ${reason}`);
        this.skip();
      }
      old = found;
    });

    it("restarts on the checkout's own Node, whose path then goes into the service units", async () => {
      const version = await runWith(old, ['--version'], isolatedHome());
      expect(version.code).to.equal(0);
      expect(version.stdout).to.match(new RegExp(`node-v${FLOOR}\\.`));

      const units = await runWith(
        old,
        ['service', 'install', '--user', '--dry-run', '--policy', join(ROOT, 'policies', 'quickstart.yaml')],
        isolatedHome(),
      );
      expect(units.code, units.stderr).to.equal(0);
      const local = realpathSync(join(ROOT, 'node_modules', '.bin', 'node'));
      expect(units.stdout).to.match(new RegExp(`^ExecStart=${local.replace(/[.+]/g, '\\$&')} `, 'm'));
    });

    it('without a newer runtime to restart on, stops with the fix instead of failing somewhere inside', async () => {
      // FT_NODE_REEXEC marks a process that is already the restarted one: it must not look for another runtime.
      const r = await runWith(old, ['--version'], { ...isolatedHome(), FT_NODE_REEXEC: '1' });
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.include(`ft needs Node.js ${FLOOR} or newer`).and.include('bash lab/setup');
    });
  });
});
