// A speaker for fleet tests: what is "announced" lives in <dir>/<instance>.json, and every apply/withdraw is also
// appended to <dir>/<instance>.log with the pid that did it, so a test can count announcements. A file
// <dir>/<instance>.down makes it fail like an unreachable router; `delayMs` holds each apply (a kill lands mid-job).
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineAction, definePlugin, registerHook, type Rule, type InstalledRef } from '@ft/sdk';
import { z } from 'zod';
import { Registry } from '../../core/plugin-host/registry.js';

const plugin = definePlugin((ft) => {
  ft.action(
    defineAction({
      kind: 'fleet-log',
      description: 'Test speaker: records announcements in a JSON file and an append-only log.',
      capabilities: ['flowspec', 'rtbh'],
      reach: 'network',
      configSchema: z.object({ dir: z.string().min(1), delayMs: z.number().int().min(0).default(0) }).strict(),
      async create(config, ctx) {
        const state = join(config.dir, `${ctx.name}.json`);
        const log = join(config.dir, `${ctx.name}.log`);
        const down = join(config.dir, `${ctx.name}.down`);
        const read = (): Record<string, string> => (existsSync(state) ? (JSON.parse(readFileSync(state, 'utf8')) as Record<string, string>) : {});
        const write = (rules: Record<string, string>) => {
          writeFileSync(`${state}.tmp`, JSON.stringify(rules));
          renameSync(`${state}.tmp`, state);
        };
        const line = (op: string, id: string) => appendFileSync(log, `${JSON.stringify({ op, id, pid: process.pid, at: Date.now() })}\n`);
        const check = () => {
          if (existsSync(down)) throw new Error(`${ctx.name}: BGP session down (test)`);
        };
        return {
          capabilities: ['flowspec', 'rtbh'],
          render: (rule: Rule) => [{ adapter: ctx.name, format: 'text', text: `announce ${rule.id}` }],
          async apply(rule: Rule) {
            check();
            line('start', rule.id);
            if (config.delayMs > 0) await new Promise((r) => setTimeout(r, config.delayMs));
            const rules = read();
            rules[rule.id] = String(rule.target);
            write(rules);
            line('apply', rule.id);
            return { ruleId: rule.id, state: 'installed' as const, nativeId: rule.id };
          },
          async withdraw(ref: Rule | InstalledRef) {
            check();
            const id = 'nativeId' in ref ? ref.nativeId : ref.id;
            const rules = read();
            delete rules[id];
            write(rules);
            line('withdraw', id);
          },
          async list() {
            check();
            return Object.entries(read()).map(([id, t]) => ({ ruleId: id as Rule['id'], nativeId: id, description: `route ${t}` }));
          },
          async health() {
            return { status: 'ok' as const };
          },
        };
      },
    }),
  );
});

export async function fixtureRegistry(): Promise<Registry> {
  const registry = new Registry();
  registry.add('fleet-test-plugin', await registerHook(plugin)({ apiVersion: 1 }));
  return registry;
}

export function announced(dir: string, instance: string): Record<string, string> {
  const f = join(dir, `${instance}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, string>) : {};
}

export function logLines(dir: string, instance: string): { op: string; id: string; pid: number }[] {
  const f = join(dir, `${instance}.log`);
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; id: string; pid: number });
}
