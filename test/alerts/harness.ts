// Shared by the alerts tests: the real event stream in a temp state dir, the real alerts host and channel plugin,
// and incidents as the producers write them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Prefix, collect, makeRule, type FlowSpecRule, type Incident, type RtbhRule } from '@ft/sdk';
import alertsPlugin from '../../plugins/alerts/src/plugin.js';
import { draft, EventStream, type EventDraft } from '../../core/events/index.js';
import { startAlerts, type AlertsHost } from '../../core/alerts/index.js';
import { createJsonLogger } from '../../core/log/logger.js';
import { parsePolicy } from '../../core/policy/index.js';
import { Registry } from '../../core/plugin-host/registry.js';

export const quiet = createJsonLogger({
  level: process.env.FT_TEST_LOG ?? 'silent',
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});

export function alertsRegistry(): Registry {
  const r = new Registry();
  r.add('@ft/alerts', collect(alertsPlugin));
  return r;
}

export function tempDir(prefix = 'ft-alerts-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function policyText(alerts: string, extra = ''): string {
  return `version: 1
tenant: lab
mode: enforce
defaults: { rpki: off }
protect: [203.0.113.0/24, 198.51.100.0/24]
targets:
  - { name: shop, prefix: 203.0.113.0/26 }
${extra}
alerts:
${alerts}`;
}

let n = 0;
export function incident(target = '203.0.113.10', o: Partial<Incident> = {}): Incident {
  const now = Date.now();
  return {
    id: `inc-${(++n).toString().padStart(4, '0')}-${now.toString(36)}`,
    target: Prefix.parse(target),
    state: 'open',
    family: 'udp_flood',
    severity: 'high',
    vectors: ['dns'],
    confidence: 0.9,
    pps: 812_000,
    bps: 7.4e9,
    peakPps: 892_401,
    peakBps: 8.1e9,
    protocols: { tcp: 1, udp: 98, icmp: 1 },
    tcpFlags: {},
    sourceCount: 14_200,
    topSources: [
      { address: Prefix.parse('198.51.100.23'), count: 41_000 },
      { address: Prefix.parse('192.0.2.200'), count: 22_100 },
    ],
    topDstPorts: [{ port: 443, count: 700_000 }],
    topSrcPorts: [{ port: 53, count: 500_000 }],
    spoofed: false,
    botnet: false,
    detectors: ['flow'],
    startedAt: now - 2000,
    updatedAt: now,
    ...o,
  };
}

export const opened = (i: Incident): EventDraft => draft('incident.opened', { incident: i });

export function ruleAdded(
  i: Incident,
  level = 1,
  kind: 'flowspec' | 'rtbh' = 'flowspec',
  via = ['edge-gobgp'],
): EventDraft {
  const rule =
    kind === 'flowspec'
      ? makeRule<FlowSpecRule>({
          kind: 'flowspec',
          tenant: 'lab',
          target: i.target,
          match: { destination: i.target, protocols: [17], sourcePorts: [{ min: 53, max: 53 }] },
          action: { type: 'rate-limit', bytesPerSecond: 6_250_000 },
          level,
          ttlSeconds: 300,
        })
      : makeRule<RtbhRule>({
          kind: 'rtbh',
          tenant: 'lab',
          target: i.target,
          communities: ['65535:666'],
          noExport: true,
          level,
          ttlSeconds: 300,
        });
  return draft('rule.added', {
    ruleId: rule.id,
    kind,
    target: i.target,
    level,
    action: kind === 'flowspec' ? 'rate-limit 6250000 bytes/s (50 Mbps)' : 'announce community 65535:666 no-export',
    via,
    pops: ['ams1'],
    incidentId: i.id,
    plannedBy: 'planner',
    rule,
    outcome: 'ok',
    expiresAt: Date.now() + 300_000,
    results: via.map((adapter) => ({ adapter, outcome: 'ok' as const, attempts: 1, ms: 3 })),
    durationMs: 3,
  });
}

export function resolved(i: Incident): EventDraft {
  const end = { ...i, state: 'resolved' as const, resolvedAt: Date.now() };
  return draft('incident.resolved', { incident: end, durationMs: end.resolvedAt - i.startedAt, level: 1 });
}

export interface Running {
  stream: EventStream;
  host: AlertsHost;
  stop(): Promise<void>;
}

/** The stream and the alerts host over one state dir (a second call on the same dir is a restart). */
export async function runAlerts(
  stateDir: string,
  policyYaml: string,
  env: Record<string, string>,
  o: { retry?: { baseMs?: number; maxMs?: number }; stream?: EventStream } = {},
): Promise<Running> {
  const registry = alertsRegistry();
  const policy = parsePolicy(policyYaml, 'policy.yaml', registry);
  const stream =
    o.stream ?? (await EventStream.openEmbedded({ stateDir, tenant: 'lab', node: 'edge-1', logger: quiet }));
  const host = await startAlerts({
    policy,
    registry,
    stream,
    stateDir,
    logger: quiet,
    env,
    retry: o.retry ?? { baseMs: 100, maxMs: 1000 },
  });
  return {
    stream,
    host,
    async stop() {
      await host.close();
      if (!o.stream) await stream.close();
    },
  };
}

/** Resolves when every channel's queue is empty (everything handed over was settled). */
export async function drained(host: AlertsHost): Promise<void> {
  await Promise.all([...host.runners.values()].map((r) => r.queue.idle()));
}
