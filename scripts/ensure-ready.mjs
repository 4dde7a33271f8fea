#!/usr/bin/env node
// Makes a checkout ready to run: dependencies installed (npm ci when node_modules is missing or older than the
// lock file), everything built (tsc -b is incremental, so this is quick when nothing changed), and with --lab,
// the Debian packages the integration tests use (lab/setup, only as root). Node built-ins only: it runs before
// node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wantLab = process.argv.includes('--lab');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.error(`ensure-ready: ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

const installed = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.error('ensure-ready: installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
}

if (wantLab) {
  if (process.getuid?.() === 0) run('bash', [join(root, 'lab', 'setup')]);
  else
    console.error(
      'ensure-ready: not root, lab/setup skipped: integration tests that need daemons or namespaces will skip.',
    );
}

run('npm', ['run', '--silent', 'build']);
