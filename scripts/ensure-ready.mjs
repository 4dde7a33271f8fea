#!/usr/bin/env node
// Makes a checkout ready to run, saying what it does: dependencies installed (npm ci when node_modules is missing
// or older than the lock file), Node 24 available (the project-local runtime npm installs as an optional
// dependency, when the system's Node is older), everything built (tsc -b is incremental, so this is quick when
// nothing changed), and with --lab, the Debian packages the integration tests use (lab/setup, only as root).
// Node built-ins only, and syntax the system's older Node parses: it runs before node_modules exists.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wantLab = process.argv.includes('--lab');
const say = (line) => console.error(`ensure-ready: ${line}`);

/** Runs a step, printing what it is before and how long it took after; a line every 15 s while it runs. */
async function step(what, cmd, args) {
  say(`${what} ...`);
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const ticker = setInterval(() => say(`  still ${what.split(' (')[0]} (${seconds()} s)`), 15_000);
  const code = await new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) => {
      say(`${cmd}: ${err.message}`);
      resolve(127);
    });
    child.on('exit', (status, signal) => resolve(status ?? signal));
  });
  clearInterval(ticker);
  if (code !== 0) {
    say(`${cmd} ${args.join(' ')} failed (exit ${code})`);
    process.exit(typeof code === 'number' ? code : 1);
  }
  say(`  done in ${seconds()} s`);
}

const installed = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs)
  await step('installing npm dependencies (npm ci; a minute or two on a fresh clone)', 'npm', [
    'ci',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
  ]);

// The Node that npm scripts run: node_modules/.bin comes first on their PATH, so the project-local runtime (the
// official binaries from the npm registry, package node-linux-<arch>) wins over an older system Node.
const { nodeFloor, floorMessage } = await import(pathToFileURL(join(root, 'bin', 'node-floor.js')).href);
const floor = nodeFloor(root);
const local = join(root, 'node_modules', '.bin', 'node');
const localVersion = existsSync(local)
  ? spawnSync(local, ['--version'], { encoding: 'utf8' }).stdout?.trim()
  : undefined;
const major = (v) => Number(String(v).replace(/^v/, '').split('.')[0]);
if (localVersion && major(localVersion) >= floor) {
  if (major(process.versions.node) < floor)
    say(`this system's Node is ${process.version}; ft's scripts run on the checkout's own Node ${localVersion}`);
} else if (major(process.versions.node) < floor) {
  say(floorMessage(process.versions.node, floor));
  process.exit(1);
}

if (wantLab) {
  if (process.getuid?.() === 0)
    await step('installing the lab and test packages (lab/setup)', 'bash', [join(root, 'lab', 'setup')]);
  else say('not root, lab/setup skipped: integration tests that need daemons or namespaces will skip.');
}

await step('building (tsc -b, incremental; about 10 s from clean)', 'npm', ['run', '--silent', 'build']);
