import type { Config } from '@oclif/core';
import { collect, REGISTER_HOOK, type FtPlugin } from '@ft/sdk';
import { PluginError, Registry } from './registry.js';

/**
 * Builds the registry from every installed oclif plugin (core plugins declared in package.json, and user plugins
 * from `ft plugins install|link`) that answers the ft:register hook. A plugin whose hook throws is recorded in
 * `registry.failures`; duplicate kinds throw, naming both plugins.
 */
export async function loadRegistry(config: Config, extra: Record<string, FtPlugin> = {}): Promise<Registry> {
  const registry = new Registry();
  const result = await config.runHook(REGISTER_HOOK as never, { apiVersion: 1 }, 30_000, true);
  const successes = [...result.successes].sort((a, b) => a.plugin.name.localeCompare(b.plugin.name));
  for (const { plugin, result: registration } of successes) {
    try {
      registry.add(plugin.name, registration);
    } catch (err) {
      if (err instanceof PluginError) registry.failures.push(err);
      else throw err;
    }
  }
  for (const { plugin, error } of result.failures) {
    registry.failures.push(new PluginError(plugin.name, `its ft:register hook failed: ${error.message}`));
  }
  for (const [name, plugin] of Object.entries(extra)) registry.add(name, collect(plugin));
  return registry;
}
