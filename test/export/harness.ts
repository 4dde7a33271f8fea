// Shared by the export tests: the real event stream in a temp state dir, the real export host and sink plugin,
// and events as ft's producers write them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, type Incident } from '@ft/sdk';
import exportPlugin from '../../plugins/export/src/plugin.js';
import { EventStream, draft, type EventDraft } from '../../core/events/index.js';
import { startExport, type ExportHost } from '../../core/export/index.js';
import { parsePolicy } from '../../core/policy/index.js';
import { Registry } from '../../core/plugin-host/registry.js';
import { incident, opened, quiet, resolved, ruleAdded } from '../alerts/harness.js';

export { incident, opened, quiet, resolved, ruleAdded };

export function exportRegistry(): Registry {
  const r = new Registry();
  r.add('@ft/export', collect(exportPlugin));
  return r;
}

export function tempDir(prefix = 'ft-export-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function policyText(exportYaml: string): string {
  return `version: 1
tenant: lab
mode: enforce
defaults: { rpki: off }
protect: [203.0.113.0/24, 198.51.100.0/24]
neverTarget: [203.0.113.250/32]
export:
${exportYaml}`;
}

/** A rule the never-target rail refused. */
export function ruleRefused(i: Incident): EventDraft {
  const added = ruleAdded(i, 2, 'rtbh') as { data: Record<string, unknown> };
  const { outcome: _o, expiresAt: _e, results: _r, durationMs: _d, ...rest } = added.data;
  return draft('rule.refused', {
    ...(rest as never as object),
    rail: 'never-target',
    message: 'the target is inside neverTarget',
  } as never);
}

export function speakerDown(name = 'edge-gobgp'): EventDraft {
  return draft('speaker.down', { speaker: name, adapter: 'gobgp', status: 'down', detail: 'connection refused' });
}

export function trafficSummary(target = '203.0.113.10'): EventDraft {
  const now = Date.now();
  return draft('traffic.summary', {
    intervalMs: 60_000,
    from: now - 60_000,
    to: now,
    targets: [
      { target, state: 'normal', pps: 1200, bps: 9.6e6, peakPps: 2400, peakBps: 1.9e7, readings: 60 },
      { target: '203.0.113.11', state: 'normal', pps: 10, bps: 8e4, peakPps: 20, peakBps: 1.6e5, readings: 60 },
    ],
  });
}

export interface Running {
  stream: EventStream;
  host: ExportHost;
  stop(): Promise<void>;
}

/** The stream and the export host over one state dir (a second call on the same dir is a restart). */
export async function runExport(
  stateDir: string,
  exportYaml: string,
  env: Record<string, string> = {},
  o: { retry?: { baseMs?: number; maxMs?: number }; alarmEveryMs?: number } = {},
): Promise<Running> {
  const registry = exportRegistry();
  const policy = parsePolicy(policyText(exportYaml), 'policy.yaml', registry);
  const stream = await EventStream.openEmbedded({ stateDir, tenant: 'lab', node: 'edge-1', logger: quiet });
  const host = await startExport({
    policy,
    registry,
    stream,
    stateDir,
    logger: quiet,
    env,
    retry: o.retry ?? { baseMs: 50, maxMs: 200 },
    ...(o.alarmEveryMs !== undefined ? { alarmEveryMs: o.alarmEveryMs } : {}),
  });
  return {
    stream,
    host,
    async stop() {
      await host.close();
      await stream.close();
    },
  };
}

/** Resolves when every sink has delivered (or dropped) everything spooled so far. */
export async function drained(host: ExportHost): Promise<void> {
  await host.caughtUp();
}
