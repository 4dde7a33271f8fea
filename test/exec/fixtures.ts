import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Prefix,
  makeRule,
  type Action,
  type Applied,
  type FlowSpecRule,
  type HostFilterRule,
  type InstalledRef,
  type Rule,
  type RuleCounters,
  type RuleKind,
} from '@ft/sdk';
import type { Op } from '../../core/model/plan.js';
import type { ActionHandle } from '../../core/exec/actions.js';
import { Executor, type ExecutorOptions } from '../../core/exec/executor.js';
import { JournalStore } from '../../core/state/journal-store.js';

export const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class FakeClock {
  constructor(public t = Date.UTC(2026, 0, 1, 12, 0, 0)) {}
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * An action that keeps what is installed in memory, like a router's RIB would, and can be told to fail, hang or
 * forget. Counts real calls so tests can tell an idempotent no-op from a second install.
 */
export class MemoryAction implements Action {
  readonly capabilities: readonly RuleKind[] = ['flowspec', 'rtbh', 'host-filter', 'shape'];
  readonly installed = new Map<string, Rule>();
  calls = { apply: 0, withdraw: 0, list: 0 };
  failApply = 0;
  failWithdraw = 0;
  failList = false;
  hang = false;
  /** list() cannot read ft's tags: only native ids come back. */
  hideTags = false;
  matched = new Map<string, number>();

  constructor(readonly name: string) {}

  render(rule: Rule) {
    return [{ adapter: this.name, format: 'text' as const, text: `install ${rule.kind} ${rule.id} on ${this.name}` }];
  }

  async apply(rule: Rule): Promise<Applied> {
    this.calls.apply++;
    if (this.hang) await new Promise(() => undefined);
    if (this.failApply > 0) {
      this.failApply--;
      throw new Error(`${this.name} refused the rule`);
    }
    this.installed.set(rule.id, rule);
    return { ruleId: rule.id, state: 'installed', nativeId: `n-${rule.id}` };
  }

  async withdraw(ref: Rule | InstalledRef): Promise<void> {
    this.calls.withdraw++;
    if (this.hang) await new Promise(() => undefined);
    if (this.failWithdraw > 0) {
      this.failWithdraw--;
      throw new Error(`${this.name} session down`);
    }
    this.installed.delete('id' in ref ? ref.id : (ref.ruleId ?? ref.nativeId.replace(/^n-/, '')));
  }

  async list(): Promise<InstalledRef[]> {
    this.calls.list++;
    if (this.failList) throw new Error(`${this.name} unreachable`);
    return [...this.installed.values()].map((r) => ({
      ...(this.hideTags ? {} : { ruleId: r.id }),
      nativeId: `n-${r.id}`,
      description: `${r.kind} ${String(r.target)}`,
    }));
  }

  async health() {
    return { status: 'ok' as const };
  }

  async counters(): Promise<RuleCounters[]> {
    return [...this.installed.keys()].map((id) => ({
      ruleId: id as Rule['id'],
      packets: this.matched.get(id) ?? 0,
      bytes: 0,
    }));
  }
}

export function handle(action: MemoryAction, over: Partial<ActionHandle> = {}): ActionHandle {
  return {
    name: action.name,
    kind: 'memory',
    reach: 'network',
    action,
    timeoutMs: 200,
    retries: 1,
    backoffMs: 1,
    ...over,
  };
}

export function flowspec(n: number, ttlSeconds = 300): FlowSpecRule {
  return makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant: 'acme',
    target: Prefix.parse(`203.0.113.${n}/32`),
    match: { destination: Prefix.parse(`203.0.113.${n}/32`), protocols: [17], sourcePorts: [{ min: 53, max: 53 }] },
    action: { type: 'discard' },
    level: 2,
    ttlSeconds,
  });
}

export function hostFilter(n: number, ttlSeconds = 300): HostFilterRule {
  return makeRule<HostFilterRule>({
    kind: 'host-filter',
    tenant: 'acme',
    target: Prefix.parse(`198.51.100.${n}/32`),
    match: {
      destination: Prefix.parse(`198.51.100.${n}/32`),
      protocol: 'tcp',
      tcpFlags: { set: ['syn'], unset: ['ack'] },
    },
    action: { type: 'syn-cookies' },
    level: 0,
    ttlSeconds,
  });
}

export function op(type: Op['type'], rule: Rule, via: string[]): Op {
  return { type, rule, via, reason: { summary: `test ${type}`, level: rule.level }, rendered: [] };
}

export async function setup(actions: MemoryAction[], over: Partial<ExecutorOptions> = {}, handles?: ActionHandle[]) {
  const dir = mkdtempSync(join(tmpdir(), 'ft-exec-'));
  const store = await JournalStore.open({ dir });
  const clock = new FakeClock();
  const executor = new Executor({
    store,
    actions: new Map((handles ?? actions.map((a) => handle(a))).map((h) => [h.name, h])),
    logger: quiet,
    clock,
    sleep: async () => undefined,
    retryBaseMs: 1000,
    ...over,
  });
  return { dir, store, clock, executor };
}
