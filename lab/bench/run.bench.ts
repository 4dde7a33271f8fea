// The run loop's own cost. Two measurements, each with an anchor from the same run:
//  1. incident → op handed to the adapter, in-process: the Runner gets an incident (as the detection engine hands it
//     over), records it, plans with a real policy, journals the intent (rule + audit start, fsync'd) and calls the
//     action's apply(). p50/p99 in ms; goal p99 < 5 ms. Anchor: one raw write+fdatasync of a record-sized buffer (the
//     floor any durable intent pays).
//  2. journal appends/s, one at a time (each awaited, fsync'd) and with 64 concurrent writers (group commit), against
//     raw fs.writeSync+fdatasyncSync (the sync the journal uses) of the same framed bytes in the same directory → ratio.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Action, Applied, Rule, RuleId } from '@ft/sdk';
import type { Incident } from '../../core/model/incident.js';
import type { AuditQuery, AuditRecord, RuleRecord, RuleStore } from '../../core/state/store.js';
import { createJsonLogger } from '../../core/log/logger.js';
import { parsePolicy } from '../../core/policy/index.js';
import { parseSimulate, plan, rpkiSkipped } from '../../core/plan/index.js';
import { JournalStore } from '../../core/state/journal-store.js';
import { JournalWriter, encodeRecord } from '../../core/state/journal.js';
import { Runner } from '../../core/run/runner.js';
import { fixtureRegistry, policyText } from '../../test/run/loop.js';
import { median, percentile, round, writeResult } from './lib.js';

const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 1000);
const APPENDS = Number(process.env.BENCH_APPENDS ?? 2000);
const dir = mkdtempSync(join(tmpdir(), 'ft-bench-run-'));
const logger = createJsonLogger({
  level: 'error',
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});

// ── 1. incident → apply() ─────────────────────────────────────────────────────────────────────────────────────────
let handedAt = 0;
const action: Action = {
  capabilities: ['host-filter', 'flowspec', 'rtbh'],
  render: (rule: Rule) => [{ adapter: 'host-rec', format: 'text', text: `bench ${rule.id}` }],
  async apply(rule: Rule): Promise<Applied> {
    handedAt = performance.now();
    return { ruleId: rule.id, state: 'installed' };
  },
  async withdraw() {},
  async list() {
    return [];
  },
  async health() {
    return { status: 'ok' };
  },
};
/** The same contract without a disk: separates ft's own work (planning, executing, auditing) from fsync latency. */
class MemoryStore implements RuleStore {
  readonly description = 'memory';
  private readonly byId = new Map<RuleId, RuleRecord>();
  private readonly audit: AuditRecord[] = [];
  async rules() {
    return [...this.byId.values()];
  }
  async rule(id: RuleId) {
    return this.byId.get(id);
  }
  async putRule(r: RuleRecord) {
    this.byId.set(r.rule.id, r);
  }
  async removeRule(id: RuleId) {
    this.byId.delete(id);
  }
  async putIncident(_i: Incident) {}
  async incidents() {
    return [];
  }
  async appendAudit(r: AuditRecord[]) {
    this.audit.push(...r);
    if (this.audit.length > 10_000) this.audit.splice(0, 5_000);
  }
  async queryAudit(_q: AuditQuery) {
    return [];
  }
  async claimSlot(tenant: string, id: RuleId, cap: number) {
    const used = [...this.byId.values()].filter((r) => r.rule.tenant === tenant).length;
    return { granted: this.byId.has(id) || used < cap, used };
  }
  async close() {}
}

const registry = await fixtureRegistry();
const policy = parsePolicy(policyText(join(dir, 'unused.json')), join(dir, 'policy.yaml'), registry);
const actions = new Map([
  [
    'host-rec',
    { name: 'host-rec', kind: 'bench', reach: 'host' as const, action, timeoutMs: 5000, retries: 0, backoffMs: 0 },
  ],
]);

async function incidentToAdapter(store: RuleStore): Promise<number[]> {
  const runner = new Runner({
    store,
    actions,
    logger,
    tenant: policy.tenant,
    mode: policy.mode,
    maxRules: policy.defaults.maxRules,
    onShutdown: 'keep',
    plan: (input) =>
      plan({ policy, rpki: rpkiSkipped, render: (via, rule) => actions.get(via)?.action.render(rule) ?? [], ...input }),
    tickMs: 3_600_000,
    reconcileEveryMs: 3_600_000,
  });
  await runner.start();
  const latencies: number[] = [];
  for (let i = 0; i < INCIDENTS + 50; i++) {
    const incident = parseSimulate(`udp_flood 800Mbps to 203.0.113.${(i % 250) + 1} vector=ntp`, new Date());
    incident.id = `bench-${i}`;
    handedAt = 0;
    const t0 = performance.now();
    await runner.onIncident({ type: 'open', incident });
    if (handedAt === 0) throw new Error(`incident ${i}: no op reached the adapter`);
    if (i >= 50) latencies.push(handedAt - t0); // the first 50 warm the JIT
    // Not measured: the rule goes again, so every incident plans a fresh add.
    for (const r of await store.rules()) await runner.executor.withdraw(r.rule.id, 'bench', { plannedBy: 'bench' });
  }
  await runner.stop('bench', 'keep');
  await store.close();
  return latencies;
}
const memoryLatencies = await incidentToAdapter(new MemoryStore());
const latencies = await incidentToAdapter(await JournalStore.open({ dir: join(dir, 'state'), logger }));

// ── 2. journal appends ────────────────────────────────────────────────────────────────────────────────────────────
const record = {
  k: 'rule',
  r: {
    id: 'fs-0123456789abcdef',
    target: '203.0.113.10/32',
    expiresAt: new Date().toISOString(),
    pad: 'x'.repeat(200),
  },
};
const frame = encodeRecord(record);
// The disk is shared and noisy: raw and journal appends are measured in alternating rounds, so drift hits both.
const ROUNDS = 5;
const perRound = Math.max(1, Math.floor(APPENDS / ROUNDS));
const rawFd = openSync(join(dir, 'raw.bin'), 'w');
const rawFsyncSamples: number[] = [];
const { writer } = await JournalWriter.open(join(dir, 'seq.log'));
let rawSeconds = 0;
let seqSeconds = 0;
for (let round = 0; round < ROUNDS; round++) {
  let t0 = performance.now();
  for (let i = 0; i < perRound; i++) {
    const t1 = performance.now();
    writeSync(rawFd, frame);
    fdatasyncSync(rawFd);
    rawFsyncSamples.push(performance.now() - t1);
  }
  rawSeconds += (performance.now() - t0) / 1000;
  t0 = performance.now();
  for (let i = 0; i < perRound; i++) await writer.append([record]);
  seqSeconds += (performance.now() - t0) / 1000;
}
closeSync(rawFd);
await writer.close();
const rawFsyncMs = median(rawFsyncSamples);
const raw = (perRound * ROUNDS) / rawSeconds;
const sequential = (perRound * ROUNDS) / seqSeconds;
const group = (await JournalWriter.open(join(dir, 'group.log'))).writer;
const t0 = performance.now();
const WRITERS = 64;
await Promise.all(
  Array.from({ length: WRITERS }, async () => {
    for (let i = 0; i < APPENDS / WRITERS; i++) await group.append([record]);
  }),
);
const concurrent = APPENDS / ((performance.now() - t0) / 1000);
await group.close();

const p50 = percentile(latencies, 50);
const p99 = percentile(latencies, 99);
const mp50 = percentile(memoryLatencies, 50);
const mp99 = percentile(memoryLatencies, 99);
const rawFsyncP99 = percentile(rawFsyncSamples, 99);
writeResult(
  'run',
  {
    incidents: INCIDENTS,
    goalP99Ms: 5,
    incidentToAdapterMs: { p50: round(p50, 3), p99: round(p99, 3), max: round(Math.max(...latencies), 3) },
    incidentToAdapterInMemoryMs: {
      p50: round(mp50, 3),
      p99: round(mp99, 3),
      max: round(Math.max(...memoryLatencies), 3),
    },
    anchorRawFsyncMs: { p50: round(rawFsyncMs, 3), p99: round(rawFsyncP99, 3) },
    p99OverRawFsyncP99: round(p99 / rawFsyncP99),
    journal: {
      recordBytes: frame.length,
      appends: APPENDS,
      rawWriteFsyncPerSec: Math.round(raw),
      sequentialPerSec: Math.round(sequential),
      sequentialRatio: round(sequential / raw),
      concurrentWriters: WRITERS,
      concurrentPerSec: Math.round(concurrent),
      concurrentRatio: round(concurrent / raw),
    },
  },
  `incident → op handed to adapter: p50 ${round(p50, 3)} ms, p99 ${round(p99, 3)} ms with the journal (goal p99 < 5 ms; ` +
    `raw write+fdatasync here: p50 ${round(rawFsyncMs, 3)} ms, p99 ${round(rawFsyncP99, 3)} ms → p99 ratio ${round(p99 / rawFsyncP99)}x); ` +
    `without a disk: p50 ${round(mp50, 3)} ms, p99 ${round(mp99, 3)} ms\n` +
    `journal appends: ${Math.round(sequential)}/s one at a time (${round(sequential / raw)}x raw write+fdatasync ${Math.round(raw)}/s), ` +
    `${Math.round(concurrent)}/s with ${WRITERS} concurrent writers (${round(concurrent / raw)}x, group commit)`,
);
