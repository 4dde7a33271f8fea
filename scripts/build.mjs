#!/usr/bin/env node
// `npm run build`, and the build mocha runs before every test run (test/helpers/build-first.mjs): the one list of
// build steps. Each is incremental, so with nothing changed the whole build takes well under a second.
//   1. tsc -b over the project references, with TypeScript 7 (package typescript-go, an alias of typescript@7);
//   2. the flow collector's Node-API batch receive (plugins/detector-flow/native/build.mjs; skipped without a C
//      compiler);
//   3. oclif.manifest.json (command names, flags, help) of ft and of every workspace plugin that has commands,
//      regenerated when anything it reads changed. Without its manifest, oclif imports every command module of a
//      plugin at each start (it cost `ft --help` ~150-200 ms per such plugin).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const workspaces = () =>
  ['plugins', 'adapters'].flatMap((group) => readdirSync(join(root, group)).map((name) => join(root, group, name)));

/** The newest dist/ file or package.json among these packages: what an oclif manifest is generated from. */
function newestInput(dirs) {
  let newest = 0;
  for (const dir of dirs) {
    if (existsSync(join(dir, 'package.json'))) newest = Math.max(newest, statSync(join(dir, 'package.json')).mtimeMs);
    if (existsSync(join(dir, 'dist'))) newest = Math.max(newest, newestMtime(join(dir, 'dist')));
  }
  return newest;
}

const stale = (dir, inputs) => {
  const manifest = join(dir, 'oclif.manifest.json');
  return !existsSync(manifest) || statSync(manifest).mtimeMs < newestInput(inputs);
};

const hasCommands = (dir) =>
  existsSync(join(dir, 'package.json')) &&
  Boolean(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).oclif?.commands);

function step(what, args, stdout = 'inherit', cwd = root) {
  const r = spawnSync(process.execPath, args, {
    cwd,
    env: { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
    stdio: ['ignore', stdout, 'inherit'],
  });
  if (r.status !== 0) throw new Error(`build: ${what} failed (exit ${r.status ?? r.signal})`);
}

export function build() {
  step('tsc -b', [join(root, 'node_modules', 'typescript-go', 'bin', 'tsc'), '-b']);
  step('the flow collector addon', [join(root, 'plugins', 'detector-flow', 'native', 'build.mjs')]);
  const oclif = join(root, 'node_modules', 'oclif', 'bin', 'run.js');
  for (const dir of workspaces().filter(hasCommands))
    if (stale(dir, [dir])) step(`oclif manifest of ${dir}`, [oclif, 'manifest'], 'ignore', dir);
  if (stale(root, [root, join(root, 'core', 'sdk'), ...workspaces()]))
    step('oclif manifest', [oclif, 'manifest'], 'ignore');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    build();
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
