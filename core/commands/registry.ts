import { FtCommand } from '../cli/command.js';
import type { ActionFactory, AlertChannelFactory, ExportSinkFactory } from '@ft/sdk';
import { loadRegistry } from '../plugin-host/load.js';
import { table } from '../cli/table.js';

export interface RegistryEntry {
  role: 'detector' | 'action' | 'alert channel' | 'export sink';
  kind: string;
  plugin: string;
  description: string;
  capabilities?: string[];
  reach?: 'host' | 'network';
  /** Alert channels: the service's documented limit per destination. */
  rateLimit?: { perSecond: number; burst: number };
}

export default class Registry extends FtCommand {
  static override summary =
    'List every detector, action, alert channel and export sink kind available, and the plugin that provides it.';
  static override description =
    'Kinds come from core plugins and from plugins added with `ft plugins install` or `ft plugins link`. A policy can use any kind listed here. A plugin that failed to register is reported and makes the command exit 1.';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> registry', '<%= config.bin %> registry --json'];

  async run(): Promise<{ kinds: RegistryEntry[]; failures: { plugin: string; error: string }[] }> {
    await this.parse(Registry);
    const registry = await loadRegistry(this.config);
    const kinds: RegistryEntry[] = registry.entries().map((e) => {
      const entry: RegistryEntry = { role: e.role, kind: e.kind, plugin: e.plugin, description: e.factory.description };
      if (e.role === 'action') {
        const f = e.factory as ActionFactory;
        entry.capabilities = [...f.capabilities];
        entry.reach = f.reach;
      }
      if (e.role === 'alert channel') {
        const f = e.factory as AlertChannelFactory;
        entry.rateLimit = { ...f.rateLimit };
      }
      if (e.role === 'export sink') entry.rateLimit = { ...(e.factory as unknown as ExportSinkFactory).rateLimit };
      return entry;
    });
    const failures = registry.failures.map((f) => ({ plugin: f.plugin, error: f.message }));
    if (!this.jsonEnabled()) {
      if (kinds.length === 0) this.log('No detector or action kinds are installed.');
      else {
        this.log(
          table(
            ['ROLE', 'KIND', 'PROVIDES', 'REACH', 'PLUGIN', 'DESCRIPTION'],
            kinds.map((k) => [
              k.role,
              k.kind,
              (k.capabilities ?? []).join(',') || '-',
              k.reach ?? '-',
              k.plugin,
              k.description,
            ]),
          ),
        );
      }
      for (const f of failures) this.logToStderr(`error: ${f.error}`);
    }
    if (failures.length > 0) process.exitCode = 1;
    return { kinds, failures };
  }
}
