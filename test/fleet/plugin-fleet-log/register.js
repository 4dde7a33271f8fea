// A speaker for fleet tests (linked into the real CLI with `ft plugins link`, or added to a Registry in-process):
// what is "announced" lives in <dir>/<instance>.json, and every apply/withdraw is appended to <dir>/<instance>.log
// with the pid that did it, so a test can count announcements. A file <dir>/<instance>.down makes it fail like an
// unreachable router; `delayMs` holds each apply so a kill can land mid-job.
import { defineAction, definePlugin, registerHook } from '@ft/sdk';
import { z } from 'zod';

const plugin = definePlugin((ft) => {
  ft.action(
    defineAction({
      kind: 'fleet-log',
      description: 'Test speaker: records announcements in a JSON file and an append-only log.',
      capabilities: ['flowspec', 'rtbh'],
      reach: 'network',
      configSchema: z.object({ dir: z.string().min(1), delayMs: z.number().int().min(0).default(0) }).strict(),
      async create(config, ctx) {
        const { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } = await import('node:fs');
        const { join } = await import('node:path');
        const state = join(config.dir, `${ctx.name}.json`);
        const log = join(config.dir, `${ctx.name}.log`);
        const down = join(config.dir, `${ctx.name}.down`);
        const read = () => (existsSync(state) ? JSON.parse(readFileSync(state, 'utf8')) : {});
        const write = (rules) => {
          writeFileSync(`${state}.${process.pid}.tmp`, JSON.stringify(rules));
          renameSync(`${state}.${process.pid}.tmp`, state);
        };
        const line = (op, id) =>
          appendFileSync(log, `${JSON.stringify({ op, id, pid: process.pid, at: Date.now() })}\n`);
        const check = () => {
          if (existsSync(down)) throw new Error(`${ctx.name}: BGP session down (test)`);
        };
        return {
          capabilities: ['flowspec', 'rtbh'],
          render: (rule) => [{ adapter: ctx.name, format: 'text', text: `announce ${rule.id}` }],
          async apply(rule) {
            check();
            line('start', rule.id);
            if (config.delayMs > 0) await new Promise((r) => setTimeout(r, config.delayMs));
            const rules = read();
            rules[rule.id] = String(rule.target);
            write(rules);
            line('apply', rule.id);
            return { ruleId: rule.id, state: 'installed', nativeId: rule.id };
          },
          async withdraw(ref) {
            check();
            const id = ref.nativeId ?? ref.id;
            const rules = read();
            delete rules[id];
            write(rules);
            line('withdraw', id);
          },
          async list() {
            check();
            return Object.entries(read()).map(([id, t]) => ({ ruleId: id, nativeId: id, description: `route ${t}` }));
          },
          async health() {
            return { status: 'ok' };
          },
        };
      },
    }),
  );
});

export default registerHook(plugin);
