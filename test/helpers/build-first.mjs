// Mocha global setup: every test run starts from a build of the current sources, however mocha is started
// (`npm test`, `npx mocha`, an editor). Tests import other workspaces' built output (`@ft/sdk` resolves to
// core/sdk/dist) and run the built CLI (bin/run.js → dist/), so without this a change in another package's src/
// would be invisible until someone rebuilt. `tsc -b` is incremental: with nothing changed it takes a fraction of
// a second. oclif.manifest.json (command names, flags, help) is regenerated when anything was rebuilt.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function distDirs() {
  const dirs = [join(root, 'dist'), join(root, 'core', 'sdk', 'dist')];
  for (const group of ['plugins', 'adapters'])
    for (const name of readdirSync(join(root, group))) dirs.push(join(root, group, name, 'dist'));
  return dirs.filter((d) => existsSync(d));
}

function run(what, args, stdout = 'inherit') {
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
    stdio: ['ignore', stdout, 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal}): tests would run stale code`);
}

export function mochaGlobalSetup() {
  run('tsc -b', [join(root, 'node_modules', 'typescript-go', 'bin', 'tsc'), '-b']);
  const manifest = join(root, 'oclif.manifest.json');
  const built = Math.max(...distDirs().map(newestMtime), statSync(join(root, 'package.json')).mtimeMs);
  if (!existsSync(manifest) || statSync(manifest).mtimeMs < built)
    run('oclif manifest', [join(root, 'node_modules', 'oclif', 'bin', 'run.js'), 'manifest'], 'ignore');
}
