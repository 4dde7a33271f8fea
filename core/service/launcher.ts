import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Node flags ft's launcher starts Node with, from the shebang of ROOT/bin/run.js (`#!/usr/bin/env -S node
 * FLAGS`). Whatever runs `node bin/run.js` itself (a systemd unit, a benchmark) passes them too, so ft runs the same
 * way however it is started. The shebang is the one place they are written.
 */
export function launcherNodeFlags(root: string): string[] {
  let first: string;
  try {
    first = readFileSync(join(root, 'bin', 'run.js'), 'utf8').split('\n', 1)[0] ?? '';
  } catch {
    return [];
  }
  const m = /^#!\/usr\/bin\/env -S node (.+)$/.exec(first);
  return m ? m[1]!.split(/\s+/).filter((f) => f.startsWith('--')) : [];
}
