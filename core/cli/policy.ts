import type { Command } from '@oclif/core';
import type { Registry } from '../plugin-host/registry.js';
import type { Policy } from '../policy/types.js';

/**
 * Loads the plugins and a policy for a command: every problem printed as file:line:column on stderr, then the
 * command fails with exit 1 (the same words as `ft policy explain`).
 */
export async function loadPolicyOrExit(cmd: Command, file: string): Promise<{ policy: Policy; registry: Registry }> {
  const { loadRegistry } = await import('../plugin-host/load.js');
  const { loadPolicy, PolicyError, formatIssue } = await import('../policy/index.js');
  const registry = await loadRegistry(cmd.config);
  try {
    return { policy: await loadPolicy(file, registry), registry };
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    for (const issue of err.issues) cmd.logToStderr(formatIssue(issue));
    cmd.error(`${file}: ${err.issues.length} problem(s); fix them first (ft policy validate lists them)`, { exit: 1 });
  }
}
