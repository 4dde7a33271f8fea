// Alerts: incident opened → first request byte at each channel's receiver, beside the same incident's first
// mitigation op, over INCIDENTS incidents with every channel ft ships configured (12: ten vendor fakes, a real SMTP
// server and an Alertmanager API stand-in, all in a child process: lab/bench/alerts-receivers.ts). Assembled as
// `ft run` does: the embedded event stream (journal, fsync), the events producers, the Runner with the planner and
// a host action, and the alerts in their worker thread (subscriptions here, runners and queues there). Anchor, in the same run: the same incidents with
// no alert channel, for the mitigation latency (ratio on/off; goal 1.0) — alerts must not slow mitigation.
// Goal: opened → first byte p99 ≤ 250 ms on every channel. The policy raises each channel's rate limit (the
// vendors' limits would make later incidents wait for earlier ones; that is the service's pace, not ft's) and routes
// only incident.opened, the alert measured.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Action, Applied, Incident, Rule } from '@ft/sdk';
import { collect } from '@ft/sdk';
import alertsPlugin from '../../plugins/alerts/src/plugin.js';
import { createJsonLogger } from '../../core/log/logger.js';
import { parsePolicy } from '../../core/policy/index.js';
import { parseSimulate, plan, rpkiSkipped } from '../../core/plan/index.js';
import { JournalStore } from '../../core/state/journal-store.js';
import { Runner } from '../../core/run/runner.js';
import { EventStream } from '../../core/events/stream.js';
import { runEvents } from '../../core/events/run-events.js';
import { startAlertsThread } from '../../core/alerts/thread.js';
import { writeFileSync } from 'node:fs';
import { fixtureRegistry, policyText } from '../../test/run/loop.js';
import { SLACK_PATH } from '../../test/fakes/slack.js';
import { DISCORD_PATH } from '../../test/fakes/discord.js';
import { TEAMS_PATH, TEAMS_QUERY } from '../../test/fakes/teams.js';
import { PD_KEY } from '../../test/fakes/pagerduty.js';
import { OG_KEY } from '../../test/fakes/opsgenie.js';
import { TG_TOKEN } from '../../test/fakes/telegram.js';
import { TW_SID, TW_TOKEN } from '../../test/fakes/twilio.js';
import { GRAFANA_TOKEN } from '../../test/fakes/grafana.js';
import { DD_KEY } from '../../test/fakes/datadog.js';
import { WEBHOOK_PATH, WH_SECRET } from '../../test/fakes/webhook.js';
import { percentile, round, writeResult } from './lib.js';

// Two rounds of this many incidents with alerts (each with a round without): hosts .1–.220 of 203.0.113.0/24.
const INCIDENTS = Math.min(117, Number(process.env.BENCH_INCIDENTS ?? 100));
const WARMUP = 10;
const SPACING_MS = Number(process.env.BENCH_SPACING_MS ?? 100);
const load0 = loadavg();
const epoch = () => performance.timeOrigin + performance.now();
const logger = createJsonLogger({
  level: 'error',
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});

// ── The receivers (another process) ────────────────────────────────────────────────────────────────────────────
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--no-warnings', join(import.meta.dirname, 'alerts-receivers.ts')],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const lines = createInterface({ input: child.stdout });
const nextLine = () => new Promise<string>((r) => lines.once('line', r));
const ports = JSON.parse(await nextLine()) as Record<string, number>;
const at = (k: string) => `http://127.0.0.1:${ports[k]}`;
const env: Record<string, string> = {
  FT_SLACK: `${at('slack')}${SLACK_PATH}`,
  FT_DISCORD: `${at('discord')}${DISCORD_PATH}`,
  FT_TEAMS: `${at('teams')}${TEAMS_PATH}${TEAMS_QUERY}`,
  FT_PD: PD_KEY,
  FT_OG: OG_KEY,
  FT_TG: TG_TOKEN,
  FT_TW: TW_TOKEN,
  FT_GF: GRAFANA_TOKEN,
  FT_DD: DD_KEY,
  FT_WH: WH_SECRET,
};
const fast = 'rateLimit: { perSecond: 100, burst: 100 }';
const alertsYaml = `alerts:
  channels:
    slack: { channel: slack, url: FT_SLACK, ${fast} }
    discord: { channel: discord, url: FT_DISCORD, ${fast} }
    teams: { channel: teams, url: FT_TEAMS, ${fast} }
    pagerduty: { channel: pagerduty, routingKey: FT_PD, url: "${at('pagerduty')}", ${fast} }
    opsgenie: { channel: opsgenie, apiKey: FT_OG, url: "${at('opsgenie')}", ${fast} }
    telegram: { channel: telegram, token: FT_TG, chatId: -1001234567890, url: "${at('telegram')}", ${fast} }
    twilio: { channel: twilio, accountSid: ${TW_SID}, authToken: FT_TW, from: "+15005550006", to: ["+15551230001"], url: "${at('twilio')}", ${fast} }
    grafana: { channel: grafana, url: "${at('grafana')}", token: FT_GF, ${fast} }
    datadog: { channel: datadog, apiKey: FT_DD, url: "${at('datadog')}", ${fast} }
    webhook: { channel: webhook, url: "${at('webhook')}${WEBHOOK_PATH}", secret: FT_WH, allowPrivate: true, ${fast} }
    alertmanager: { channel: alertmanager, url: "${at('alertmanager')}", ${fast} }
    email: { channel: email, host: 127.0.0.1, port: ${ports.email}, tls: none, from: ft@bench.example, to: [noc@bench.example], ${fast} }
  routes:
    - { to: [slack, discord, teams, pagerduty, opsgenie, telegram, twilio, grafana, datadog, webhook, alertmanager, email], events: [${process.env.BENCH_ALERTS_SILENT ? 'subscriber.lost_events' : 'incident.opened'}] }
`;
const CHANNELS = [
  'slack',
  'discord',
  'teams',
  'pagerduty',
  'opsgenie',
  'telegram',
  'twilio',
  'grafana',
  'datadog',
  'webhook',
  'alertmanager',
  'email',
];

// ── One run: INCIDENTS incidents through the assembled pipeline ──────────────────────────────────────────────
interface RunResult {
  openedAt: Map<string, number>;
  mitigationMs: number[];
}

async function run(withAlerts: boolean, label: string, firstHost: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `ft-bench-alerts-${label}-`));
  const registry = await fixtureRegistry();
  registry.add('@ft/alerts', collect(alertsPlugin));
  const policyFile = join(dir, 'p.yaml');
  const text = policyText(join(dir, 'unused.json'), withAlerts ? alertsYaml : '');
  writeFileSync(policyFile, text);
  const policy = parsePolicy(text, policyFile, registry);
  let firstOp = 0;
  const action: Action = {
    capabilities: ['host-filter', 'flowspec', 'rtbh'],
    render: (rule: Rule) => [{ adapter: 'host-rec', format: 'text', text: `bench ${rule.id}` }],
    async apply(rule: Rule): Promise<Applied> {
      firstOp ||= epoch();
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
  const actions = new Map([
    [
      'host-rec',
      { name: 'host-rec', kind: 'bench', reach: 'host' as const, action, timeoutMs: 5000, retries: 0, backoffMs: 0 },
    ],
  ]);
  const stream = await EventStream.openEmbedded({ stateDir: dir, tenant: policy.tenant, node: 'bench', logger });
  const store = await JournalStore.open({ dir: join(dir, 'state'), logger });
  const listeners: ((e: { type: 'open' | 'update' | 'resolve'; incident: Incident }) => void)[] = [];
  const engine = { on: (l: (typeof listeners)[number]) => (listeners.push(l), () => undefined) };
  const onStream = runEvents({ store, stream, engine, logger });
  // As `ft run` starts them: the channels' runners in a worker thread, their subscriptions here.
  Object.assign(process.env, env);
  const alerts = withAlerts
    ? await startAlertsThread({
        init: {
          root: join(import.meta.dirname, '..', '..'),
          policyFile,
          stateDir: dir,
          logLevel: 'error',
          ...(process.env.BENCH_ALERTS_NICE ? { nice: Number(process.env.BENCH_ALERTS_NICE) } : {}),
        },
        stream,
        logger,
      })
    : undefined;
  const runner = new Runner({
    store: onStream.store,
    actions,
    logger,
    tenant: policy.tenant,
    mode: policy.mode,
    maxRules: policy.defaults.maxRules,
    onShutdown: 'keep',
    plan: (input) =>
      plan({ policy, rpki: rpkiSkipped, render: (via, rule) => actions.get(via)?.action.render(rule) ?? [], ...input }),
    onPlan: (i, p) => onStream.onPlan(i, p),
    tickMs: 3_600_000,
    reconcileEveryMs: 3_600_000,
  });
  await runner.start();
  const openedAt = new Map<string, number>();
  const mitigationMs: number[] = [];
  for (let i = 0; i < INCIDENTS + WARMUP; i++) {
    const target = `203.0.113.${firstHost + i}`;
    const incident = parseSimulate(`udp_flood 800Mbps to ${target} vector=ntp`, new Date());
    incident.id = `bench-${label}-${i}`;
    firstOp = 0;
    const t0 = epoch();
    // As the detection engine hands an incident over: the stream's listener first (opened before any plan), then
    // the runner (the op). Alerts are read from the stream by their own subscribers.
    for (const l of listeners) l({ type: 'open', incident });
    await runner.onIncident({ type: 'open', incident });
    if (!firstOp) throw new Error(`incident ${i}: no op reached the action`);
    if (i >= WARMUP) {
      openedAt.set(target, t0);
      mitigationMs.push(firstOp - t0);
    }
    await new Promise((r) => setTimeout(r, SPACING_MS));
  }
  await onStream.idle();
  // Everything handed to the channels is delivered before the receivers are asked (they were fast; see the dump).
  if (alerts) await new Promise((r) => setTimeout(r, 2000));
  await runner.stop('bench', 'keep');
  onStream.close();
  await alerts?.close();
  await stream.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { openedAt, mitigationMs };
}

// Alternating rounds (off, on, off, on): load drift on a shared machine hits both sides alike.
const offRuns: RunResult[] = [];
const onRuns: RunResult[] = [];
for (let round = 0; round < 2; round++) {
  offRuns.push(await run(false, `off${round}`, 1));
  onRuns.push(await run(true, `on${round}`, 1 + round * (INCIDENTS + WARMUP)));
}
const on: RunResult = {
  openedAt: new Map(onRuns.flatMap((r) => [...r.openedAt])),
  mitigationMs: onRuns.flatMap((r) => r.mitigationMs),
};
child.stdin.write('dump\n');
const hits = JSON.parse(await nextLine()) as Record<string, { at: number; ids: string[] }[]>;
child.kill('SIGTERM');

const perChannel: Record<string, { p50: number; p99: number; max: number; n: number }> = {};
let worstP99 = 0;
// BENCH_ALERTS_SILENT=1: every channel subscribed, none routed anything: what the subscriptions alone cost.
for (const c of process.env.BENCH_ALERTS_SILENT ? [] : CHANNELS) {
  const first = new Map<string, number>();
  for (const h of hits[c] ?? [])
    for (const id of h.ids) if (!first.has(id) || (first.get(id) as number) > h.at) first.set(id, h.at);
  const lat: number[] = [];
  for (const [target, t0] of on.openedAt) {
    const t = first.get(target);
    if (t !== undefined) lat.push(t - t0);
  }
  if (lat.length < on.openedAt.size)
    throw new Error(`${c}: ${on.openedAt.size - lat.length} incident(s) never reached the receiver`);
  const p99 = percentile(lat, 99);
  worstP99 = Math.max(worstP99, p99);
  perChannel[c] = {
    p50: round(percentile(lat, 50), 1),
    p99: round(p99, 1),
    max: round(Math.max(...lat), 1),
    n: lat.length,
  };
}
const anchor = offRuns.flatMap((r) => r.mitigationMs);
const mit = {
  alertsOff: { p50: round(percentile(anchor, 50), 2), p99: round(percentile(anchor, 99), 2) },
  alertsOn: { p50: round(percentile(on.mitigationMs, 50), 2), p99: round(percentile(on.mitigationMs, 99), 2) },
};
const ratioP50 = round(mit.alertsOn.p50 / mit.alertsOff.p50);
const ratioP99 = round(mit.alertsOn.p99 / mit.alertsOff.p99);
const table = Object.entries(perChannel)
  .map(
    ([c, v]) =>
      `  ${c.padEnd(13)} p50 ${String(v.p50).padStart(6)} ms  p99 ${String(v.p99).padStart(6)} ms  max ${String(v.max).padStart(6)} ms`,
  )
  .join('\n');
console.log(table);
writeResult(
  'alerts',
  {
    incidents: INCIDENTS,
    rounds: onRuns.length,
    spacingMs: SPACING_MS,
    channels: CHANNELS.length,
    goalP99Ms: 250,
    openedToFirstByteMs: perChannel,
    worstChannelP99Ms: round(worstP99, 1),
    firstMitigationOpMs: mit,
    mitigationOnOverOff: { p50: ratioP50, p99: ratioP99 },
    loadavg: { start: load0.map((x) => round(x)), end: loadavg().map((x) => round(x)) },
  },
  `alerts: opened → first byte, worst channel p99 ${round(worstP99, 1)} ms (goal ≤ 250) over ${on.openedAt.size} incidents × ${CHANNELS.length} channels; ` +
    `first mitigation op p50/p99 ${mit.alertsOn.p50}/${mit.alertsOn.p99} ms with alerts vs ${mit.alertsOff.p50}/${mit.alertsOff.p99} ms without ` +
    `(ratio ${ratioP50}/${ratioP99}); load ${load0.map((x) => round(x)).join(' ')}`,
);
process.exit(0);
