import { collect, type Action, type Rule } from '@ft/sdk';
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import plugin from '../../plugins/actions-host/src/plugin.js';
import { ROOT } from '../helpers/cli.js';
import { ctx, type HostLab } from './lab.js';

export function factoryOf(kind: string) {
  const f = collect(plugin).actions.find((a) => a.kind === kind);
  if (!f) throw new Error(`actions-host does not register ${kind}`);
  return f;
}

export async function create(kind: string, config: Record<string, unknown>): Promise<Action> {
  return factoryOf(kind).create(config, ctx(kind));
}

/** Runs crash-child.ts: applies `rule` with a fresh instance, then the process SIGKILLs itself. */
export function applyAndCrash(kind: string, config: Record<string, unknown>, rule: Rule): void {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--no-warnings',
      join(ROOT, 'test/host/crash-child.ts'),
      kind,
      JSON.stringify(config),
      JSON.stringify(rule),
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  expect(r.signal, `crash child: ${r.stderr}`).to.equal('SIGKILL');
  expect(r.stdout).to.contain('applied');
}

/** Reconcile as the executor does it: everything list() reports that nobody wants is withdrawn by ref. */
export async function reconcileAll(action: Action): Promise<number> {
  const refs = await action.list();
  for (const ref of refs) await action.withdraw(ref);
  return refs.length;
}

/**
 * The bad-input contract: the rule is refused with an error naming the field, render and apply alike, and the
 * namespace's ruleset is byte-for-byte what it was.
 */
export async function expectRefused(lab: HostLab, action: Action, rule: Rule, pattern: RegExp): Promise<void> {
  const before = lab.snapshot();
  expect(() => action.render(rule)).to.throw(pattern);
  let err: unknown;
  try {
    await action.apply(rule);
  } catch (e) {
    err = e;
  }
  expect(String((err as Error | undefined)?.message)).to.match(pattern);
  expect(lab.snapshot()).to.equal(before);
}
