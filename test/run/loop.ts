// The whole loop in one process on a virtual clock: samples → DetectionEngine → planner (a real policy) → Runner
// → the fixture plugin's record-file action. Shared by loop.test.ts and lab/bench/run.bench.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { Prefix, collect, defineAction, definePlugin, type Sample } from '@ft/sdk';
import { z } from 'zod';
import { MemoryAction } from '../exec/fixtures.js';
import { createJsonLogger } from '../../core/log/logger.js';
import { Registry } from '../../core/plugin-host/registry.js';
import { allInstances, parsePolicy } from '../../core/policy/index.js';
import { plan, rpkiSkipped } from '../../core/plan/index.js';
import { DetectionEngine } from '../../core/detect/index.js';
import { JournalStore } from '../../core/state/journal-store.js';
import { createActionHandles } from '../../core/run/actions.js';
import { Runner, type IncidentSource } from '../../core/run/runner.js';
import type { CollateralProbe } from '../../core/exec/executor.js';
import { EventStream, runEvents } from '../../core/events/index.js';

export const TARGET = '203.0.113.10';

export function policyText(recordFile: string, extra = ''): string {
  return `version: 1
tenant: lab
mode: enforce
defaults: { ttl: 5m, rpki: off, cooldown: 10s }
protect: [203.0.113.0/24]
detection:
  static: { pps: 50000 }
  resolve: { after: 2s }
nodeActions:
  host-rec: { adapter: record-file, file: ${JSON.stringify(recordFile)} }
onNode:
  - when: { vector: [ntp] }
    do:
      - host-rec: { dropUdpSourcePorts: auto }
${extra}`;
}

/** A BGP-speaker stand-in for tests: network reach, FlowSpec and RTBH, keeps its RIB in memory. */
export const speakers = new Map<string, MemoryAction>();
const testSpeaker = definePlugin((ft) => {
  ft.action(
    defineAction({
      kind: 'test-speaker',
      description: 'in-memory speaker (tests)',
      reach: 'network',
      capabilities: ['flowspec', 'rtbh'],
      configSchema: z.object({}).passthrough(),
      async create(_config, ctx) {
        const a = new MemoryAction(ctx.name);
        speakers.set(ctx.name, a);
        return a;
      },
    }),
  );
});

export async function fixtureRegistry(): Promise<Registry> {
  const registry = new Registry();
  registry.add('ft-test-speaker', collect(testSpeaker));
  const plugin = (await import(
    pathToFileURL(join(import.meta.dirname, '..', 'fixtures', 'plugin-template', 'register.js')).href
  )) as {
    default: (o: { apiVersion: number }) => Promise<unknown>;
  };
  registry.add('ft-plugin-template', await plugin.default({ apiVersion: 1 }));
  return registry;
}

/** One 100 ms reading of TARGET: ordinary web traffic, or an NTP reflection flood. */
export function sample(at: number, pps: number, flood: boolean, target = TARGET): Sample {
  const s: Sample = {
    source: 'test',
    sourceKind: 'test',
    target: `${target}/32`,
    prefix: Prefix.parse(target),
    at,
    windowMs: 100,
    direction: 'in',
    pps,
    bps: pps * (flood ? 468 : 600) * 8,
    protocols: flood
      ? { tcp: pps * 0.02, udp: pps * 0.98, icmp: 0, other: 0 }
      : { tcp: pps * 0.9, udp: pps * 0.08, icmp: pps * 0.02, other: 0 },
    tcpFlags: { syn: pps * 0.01, ack: pps * (flood ? 0.01 : 0.85) },
  };
  if (flood) {
    s.topSrcPorts = [{ key: 123, count: pps * 0.95 }];
    s.topDstPorts = [{ key: 27015, count: pps * 0.9 }];
    s.sourceCount = 2400;
    s.packetLength = { min: 468, max: 490, mean: 472 };
  }
  return s;
}

export async function loop(
  options: {
    probe?: CollateralProbe;
    collateralDrop?: number;
    policyExtra?: string;
    /** Put the run on the event stream, as ft run does (the audit trail becomes the stream). */
    events?: boolean;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'ft-loop-'));
  const recordFile = join(dir, 'rules.json');
  const clock = {
    t: Date.now(),
    now() {
      return this.t;
    },
  };
  const logger = createJsonLogger({
    level: 'error',
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  const registry = await fixtureRegistry();
  const policy = parsePolicy(policyText(recordFile, options.policyExtra), join(dir, 'policy.yaml'), registry);
  const store = await JournalStore.open({ dir: join(dir, 'state'), logger });
  const actions = await createActionHandles(
    registry,
    allInstances(policy).map((i) => ({ name: i.name, kind: i.adapter, options: i.options, validated: i.validated })),
    { stateDir: join(dir, 'state'), logger, signal: new AbortController().signal },
  );
  const engine = new DetectionEngine({ settings: policy.detection, clock: () => clock.now() });
  // The test drives the engine's ticks itself, on the virtual clock.
  const source: IncidentSource = {
    ingest: (s) => engine.ingest(s),
    on: (l) => engine.on(l),
    start: () => undefined,
    stop: () => undefined,
  };
  const stream = options.events
    ? await EventStream.openEmbedded({ stateDir: join(dir, 'state'), tenant: policy.tenant, now: () => clock.now() })
    : undefined;
  const onStream = stream
    ? runEvents({ store, stream, engine: source, cap: () => policy.defaults.maxRules, now: () => clock.now() })
    : undefined;
  const runner = new Runner({
    store: onStream?.store ?? store,
    actions,
    logger,
    tenant: policy.tenant,
    mode: policy.mode,
    maxRules: policy.defaults.maxRules,
    onShutdown: policy.onShutdown,
    plan: (input) =>
      plan({ policy, rpki: rpkiSkipped, render: (via, rule) => actions.get(via)?.action.render(rule) ?? [], ...input }),
    engine: source,
    clock,
    tickMs: 3_600_000,
    reconcileEveryMs: 3_600_000,
    ...(options.probe ? { probe: options.probe } : {}),
    ...(options.collateralDrop !== undefined ? { collateralDrop: options.collateralDrop } : {}),
    ...(onStream ? { onPlan: onStream.onPlan } : {}),
  });
  await runner.start();
  /** Advances the virtual clock by 100 ms, feeds one sample, ticks the engine, and waits for the runner. */
  let steps = 0;
  const step = async (pps: number, flood: boolean) => {
    clock.t += 100;
    engine.ingest(sample(clock.t, pps, flood));
    engine.tick(clock.t);
    // The runner's lifecycle round, once per virtual second (its own timer is parked in these tests).
    if (++steps % 10 === 0) await runner.tick();
    await runner.idle();
    if (onStream) {
      onStream.tick();
      await onStream.idle();
    }
  };
  return {
    dir,
    recordFile,
    clock,
    engine,
    runner,
    store: onStream?.store ?? store,
    actions,
    step,
    policy,
    events: stream,
  };
}
