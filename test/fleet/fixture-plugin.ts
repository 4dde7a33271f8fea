// The fleet tests' speaker (plugin-fleet-log/register.js) in a Registry, and readers for what it recorded.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Registry } from '../../core/plugin-host/registry.js';

export const FLEET_PLUGIN_DIR = join(import.meta.dirname, 'plugin-fleet-log');

export async function fixtureRegistry(): Promise<Registry> {
  const registry = new Registry();
  const plugin = (await import(pathToFileURL(join(FLEET_PLUGIN_DIR, 'register.js')).href)) as {
    default: (o: { apiVersion: number }) => Promise<unknown>;
  };
  registry.add('ft-plugin-fleet-log', await plugin.default({ apiVersion: 1 }));
  return registry;
}

export function announced(dir: string, instance: string): Record<string, string> {
  const f = join(dir, `${instance}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, string>) : {};
}

export function logLines(dir: string, instance: string): { op: string; id: string; pid: number }[] {
  const f = join(dir, `${instance}.log`);
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { op: string; id: string; pid: number });
}
