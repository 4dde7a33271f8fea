import type { Command } from '@oclif/core';
import type { Registry } from '../plugin-host/registry.js';
import type { Policy } from '../policy/types.js';

/** Loads the plugins and a policy for a command; a bad policy throws PolicyError (FT_E_POLICY_INVALID, every problem). */
export async function loadCommandPolicy(cmd: Command, file: string): Promise<{ policy: Policy; registry: Registry }> {
  const { loadRegistry } = await import('../plugin-host/load.js');
  const { loadPolicy } = await import('../policy/index.js');
  const registry = await loadRegistry(cmd.config);
  return { policy: await loadPolicy(file, registry), registry };
}
