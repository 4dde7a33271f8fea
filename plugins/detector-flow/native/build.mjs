#!/usr/bin/env node
// Builds the flow collector's batch receive (recv.c, a Node-API addon) into dist/native/recv.node, when this is
// Linux and a C compiler is there (lab/setup installs one). Without it the collector receives through Node's
// dgram, with the same results (the tests compare both): this never fails the build. `cc` or $CC; the Node-API
// headers come from the node-api-headers package (ABI-stable: any Node 18+ loads the result).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'recv.c');
const out = join(here, '..', 'dist', 'native', 'recv.node');
const skip = (why) => {
  console.error(`detector-flow: batch receive not built (${why}); the collector reads through Node's dgram`);
  process.exit(0);
};
if (process.platform !== 'linux') skip(`recvmmsg is Linux-only, this is ${process.platform}`);
if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) process.exit(0);
let include;
try {
  include = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch {
  skip('node-api-headers is not installed');
}
const cc = process.env.CC || 'cc';
mkdirSync(dirname(out), { recursive: true });
const r = spawnSync(cc, ['-O2', '-fPIC', '-shared', '-Wall', '-Wextra', '-I', include, source, '-o', out], {
  encoding: 'utf8',
});
if (r.error) skip(`no C compiler: ${cc}: ${r.error.code ?? r.error.message}`);
// A compiler that refuses the source is a bug to fix, not a machine without one: the build fails.
if (r.status !== 0) {
  console.error(`detector-flow: ${cc} failed on native/recv.c:\n${r.stderr}`);
  process.exit(1);
}
