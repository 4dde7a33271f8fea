import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A data/config/cache home of its own, so linked plugins of one test never leak into another or the user's. */
export function isolatedHome(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'ft-home-'));
  return {
    FT_DATA_DIR: join(dir, 'data'),
    FT_CONFIG_DIR: join(dir, 'config'),
    FT_CACHE_DIR: join(dir, 'cache'),
    HOME: dir,
  };
}

/** Runs the built `ft` as a user would: a child process, argv array, no shell. */
export function runFt(args: string[], env: Record<string, string> = {}, input?: string): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
