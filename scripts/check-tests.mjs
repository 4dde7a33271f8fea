#!/usr/bin/env node
// Lint for the rules the test suite lives by: no focused or skipped tests committed, no shell-string commands.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const skipDirs = new Set(['node_modules', 'dist', '.git', 'fixtures', '.anchor']);
const problems = [];

function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (skipDirs.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(ts|mjs|js)$/.test(name)) check(path);
  }
}

function check(path) {
  const rel = relative(root, path);
  const lines = readFileSync(path, 'utf8').split('\n');
  const isTest = /\.test\.ts$/.test(name(path));
  lines.forEach((line, i) => {
    if (isTest && /\b(it|describe|context)\.(only|skip)\(|\bxit\(|\bxdescribe\(/.test(line))
      problems.push(`${rel}:${i + 1}: focused or skipped test`);
    if (/shell:\s*true/.test(line))
      problems.push(`${rel}:${i + 1}: commands run as argv arrays, never through a shell`);
  });
}

const name = (p) => p.split('/').pop();
for (const top of ['core', 'plugins', 'adapters', 'test', 'lab', 'scripts']) {
  try {
    walk(join(root, top));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('check-tests: ok');
