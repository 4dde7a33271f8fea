import { spawnSync } from 'node:child_process';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
export const IS_ROOT = process.getuid?.() === 0;

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' }).status === 0;
}

/**
 * Integration tests call this in a `before` hook. Locally a missing prerequisite skips with a one-line reason;
 * in CI (CI=true) it fails, because there every integration test must really run.
 */
export function requireLab(ctx: Mocha.Context, needs: { root?: boolean; commands?: string[] }): void {
  const missing: string[] = [];
  if (needs.root && !IS_ROOT) missing.push('root');
  for (const c of needs.commands ?? []) if (!hasCommand(c)) missing.push(c);
  if (missing.length === 0) return;
  const reason = `needs ${missing.join(', ')} (run lab/setup as root)`;
  if (IN_CI) throw new Error(`integration prerequisite missing in CI: ${reason}`);
  console.log(`      skipped: ${reason}`);
  ctx.skip();
}
