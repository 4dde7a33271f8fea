import { settleWithin } from '@ft/sdk';
import type { Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import type { Config } from '@oclif/core';
import type { Detector, Rule } from '@ft/sdk';
import type { Incident } from '../model/incident.js';
import type { Plan } from '../model/plan.js';
import type { DetectionEngine } from '../detect/index.js';
import { Watch } from './watch.js';
import type { Logger } from '../log/logger.js';
import type { RpkiVerdictProvider } from '../model/rpki.js';
import type { Policy } from '../policy/types.js';
import type { Registry } from '../plugin-host/registry.js';
import type { ActionHandle } from '../exec/actions.js';
import type { ReconcileReport } from '../exec/reconcile.js';
import { JournalStore } from '../state/journal-store.js';
import type { EventStream } from '../events/stream.js';
import { FtMetrics, serveMetrics } from '../metrics/metrics.js';
import { createActionHandles, specsFromInstances, type ActionSpec } from './actions.js';
import { EngineCollateralProbe } from './collateral.js';
import { serveControl } from './control.js';
import { Runner, toActive, type StopReport } from './runner.js';

export interface DetectorSpec {
  name: string;
  kind: string;
  options: Record<string, unknown>;
}

export interface DaemonOptions {
  config: Config;
  policyFile: string;
  stateDir: string;
  logger: Logger;
  repairState?: boolean;
  /** host:port, or undefined for no metrics endpoint. */
  metrics?: { host: string; port: number };
  /** Detector instances; undefined: the policy's `detectors:` section. */
  detectors?: DetectorSpec[];
  /** Live view for a human (`ft run --watch`): per-target lines every second and each incident's plan. */
  watch?: { write: (text: string) => void; everyMs?: number };
  /** VRP file instead of the policy's RTR caches. */
  vrpsFile?: string;
  tickMs?: number;
  /** How often every action instance's health is asked for (speaker.down/up events; default 10 s). */
  healthEveryMs?: number;
  reconcileEveryMs?: number;
  /** `ft run --redis`: the fleet (core/fleet) — rules in Redis, instances with a `pop` driven through their POP's workers. */
  redis?: { url: string; namespace?: string; leaseMs?: number };
  /** Aborts start-up waits (a fleet standby waiting for the controller lease) on SIGTERM/SIGINT. */
  signal?: AbortSignal;
}

export interface Daemon {
  runner: Runner;
  policy: Policy;
  store: JournalStore;
  /** The event stream (journal, or the fleet's Redis stream): append and subscribe. */
  events: EventStream;
  actions: Map<string, ActionHandle>;
  reconcile: ReconcileReport;
  metricsPort?: number;
  /** With --redis: settles with why when this controller lost the fleet's controller lease (stop acting, keep rules). */
  lost?: Promise<string>;
  /** Stops the runner (policy onShutdown unless overridden), the endpoints, RPKI, and closes the store. */
  stop(signal: string, onShutdown?: 'withdraw' | 'keep'): Promise<StopReport>;
}

export class DaemonSetupError extends Error {}

/** Policy → actions → detectors → engine → planner → runner, with the store, metrics and control socket. */
export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const { loadRegistry } = await import('../plugin-host/load.js');
  const { loadPolicy, allInstances, PolicyError, formatIssue } = await import('../policy/index.js');
  const registry = await loadRegistry(o.config);
  for (const f of registry.failures) o.logger.error({ plugin: f.plugin }, f.message);
  let policy: Policy;
  try {
    policy = await loadPolicy(o.policyFile, registry);
  } catch (err) {
    if (err instanceof PolicyError)
      throw new DaemonSetupError(
        `the policy has ${err.issues.length} problem(s):\n${err.issues.map(formatIssue).join('\n')}`,
      );
    throw err;
  }
  for (const w of policy.warnings) o.logger.warn({ policy: policy.file }, w);

  const store = await JournalStore.open({
    dir: o.stateDir,
    logger: o.logger,
    ...(o.repairState ? { repair: true } : {}),
  });
  const cleanups: (() => Promise<void> | void)[] = [() => store.close()];
  // Each step bounded: a close that waits on a dead peer (Redis, an RTR cache) must not keep the process alive.
  const cleanup = async () => {
    for (const c of cleanups.reverse())
      await boundedWait(
        Promise.resolve()
          .then(c)
          .catch(() => undefined),
        5000,
      );
  };
  try {
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const specs: ActionSpec[] = specsFromInstances(allInstances(policy));
    // Fleet (--redis): the Redis store and POP handles replace the journal's rules and the local instances; the
    // journal stays on as this controller's audit archive.
    const fleet = o.redis
      ? await (
          await import('../fleet/daemon.js')
        ).openDaemonFleet({
          ...o.redis,
          policy,
          registry,
          stateDir: o.stateDir,
          logger: o.logger,
          journal: store,
          ...(o.signal ? { signal: o.signal } : {}),
        })
      : undefined;
    if (fleet) cleanups.push(() => fleet.close());
    const events = await openEvents(o, policy, fleet?.store.conn);
    cleanups.push(() => events.close());
    const actions = fleet
      ? fleet.actions
      : await createActionHandles(registry, specs, {
          stateDir: o.stateDir,
          logger: o.logger,
          signal: controller.signal,
        });

    const rpkiSource = await rpkiProvider(o, policy, cleanups);
    const rpki = rpkiSource.provider;
    const { plan } = await import('../plan/index.js');
    const carrying = (via: string, rule: Rule) => {
      const h = actions.get(via);
      return h && h.action.capabilities.includes(rule.kind) ? h.action : undefined;
    };
    const render = (via: string, rule: Rule) => carrying(via, rule)?.render(rule) ?? [];
    const renderWithdraw = (via: string, rule: Rule) => carrying(via, rule)?.renderWithdraw?.(rule) ?? [];

    const { DetectionEngine } = await import('../detect/index.js');
    const engine = new DetectionEngine({ settings: policy.detection, logger: o.logger });
    const detectorSpecs = o.detectors ?? detectorSpecsFromPolicy(policy);
    const detectors = await createDetectors(registry, detectorSpecs, o, controller.signal, policy);
    // Detectors that act on incidents (pcap: a capture per incident) hear every event and attach what they find.
    for (const { detector } of detectors) {
      const observe = detector.observe?.bind(detector);
      if (!observe) continue;
      const off = engine.on((event) => observe(event, (evidence) => engine.addEvidence(event.incident.id, evidence)));
      cleanups.push(() => void off());
    }
    if (detectors.length === 0)
      o.logger.warn(
        {},
        "no detectors (none in the policy's detectors: section, no --detectors FILE): ft run reconciles, keeps TTLs and carries out operator requests, but sees no traffic",
      );
    const watch = o.watch ? await startWatch(o.watch, policy, engine, rpkiSource, cleanups) : undefined;

    const metrics = new FtMetrics();
    let metricsServer: Server | undefined;
    let metricsPort: number | undefined;
    if (o.metrics) {
      const served = await serveMetrics(metrics, o.metrics.host, o.metrics.port);
      metricsServer = served.server;
      metricsPort = served.port;
      cleanups.push(() => new Promise<void>((r) => metricsServer?.close(() => r())));
    }

    // ft_incidents_active{severity,attack_family}, what the shipped Prometheus rules watch.
    const offActive = engine.on((e) =>
      metrics.incidentEvent(e.type, { ...e.incident, attack_family: e.incident.family }),
    );
    cleanups.push(() => void offActive());
    // Alert channels read the stream from their own cursors; started before the runner so nothing it does is missed.
    // They run in a worker thread: building, signing and sending never share the event loop with mitigation.
    if (policy.alerts.channels.size > 0) {
      const { startAlertsThread } = await import('../alerts/thread.js');
      const alerts = await startAlertsThread({
        init: { root: o.config.root, policyFile: o.policyFile, stateDir: o.stateDir, logLevel: o.logger.level },
        stream: events,
        logger: o.logger,
        metrics,
      });
      cleanups.push(() => alerts.close());
    }
    // Export sinks likewise (each its own cursor and disk spool); traffic summaries go on the stream for them.
    let traffic: import('../export/traffic.js').TrafficSummarizer | undefined;
    if (policy.export.sinks.size > 0) {
      const { startExport, TrafficSummarizer } = await import('../export/index.js');
      const exported = await startExport({
        policy,
        registry,
        stream: events,
        stateDir: o.stateDir,
        logger: o.logger,
        metrics,
      });
      metrics.watchExport(() => exported.stats());
      cleanups.push(() => exported.close());
      if (policy.export.trafficIntervalMs > 0)
        traffic = new TrafficSummarizer({
          view: () => engine.view(),
          intervalMs: policy.export.trafficIntervalMs,
          events,
          onError: (err) => o.logger.warn({ err: err.message }, 'could not record a traffic summary'),
        });
    }
    // Prometheus: refusals by rail, speaker health and apply latency from the stream; RTR caches; detectors' own.
    const offMetrics = events.log.onPublish((evs) => {
      for (const e of evs) metrics.streamEvent(e);
    });
    cleanups.push(() => void offMetrics());
    if (rpkiSource.status) {
      const status = rpkiSource.status;
      metrics.watchRpki(() => status());
    }
    metrics.watchDetectors(() => detectors.flatMap((d) => d.detector.metrics?.() ?? []));
    if (policy.mode === 'enforce') metrics.speakers([...actions.keys()]);

    const probe = new EngineCollateralProbe((target) => {
      const v = engine.view().find((t) => t.prefix === target || t.target === target);
      return v ? { pps: v.pps, ...(v.baseline.learning ? {} : { baselinePps: v.baseline.pps }) } : undefined;
    }, actions);

    const { runEvents } = await import('../events/run-events.js');
    const capOf = (tenant: string) => policy.tenants.get(tenant)?.maxRules ?? policy.defaults.maxRules;
    const pops = new Map(allInstances(policy).flatMap((i) => (i.pop ? [[i.name, i.pop] as const] : [])));
    // Everything the runner does goes on the event stream: the store's audit trail is the stream (durable before
    // any action is touched), incidents are tracked from the engine and from each plan.
    const onStream = runEvents({
      store: fleet?.store ?? store,
      stream: events,
      engine,
      cap: capOf,
      popOf: (name) => pops.get(name),
      logger: o.logger,
    });
    const { OperationalWatch } = await import('../events/watch.js');
    const operational = new OperationalWatch({
      events,
      logger: o.logger,
      // Preview mode asks no action anything (an unprivileged quickstart has no reachable speaker).
      actions: policy.mode === 'enforce' ? [...actions.values()] : [],
      popOf: (name) => pops.get(name),
      ...(o.healthEveryMs ? { healthEveryMs: o.healthEveryMs } : {}),
      detectors: detectors.map((d) => ({ ...d, kind: detectorSpecs.find((s) => s.name === d.name)?.kind })),
      ...(rpkiSource.status ? { caches: rpkiSource.status } : {}),
    });
    const incidentTimer = setInterval(() => {
      onStream.tick();
      operational.tick();
      traffic?.tick();
    }, 1000);
    cleanups.push(async () => {
      clearInterval(incidentTimer);
      traffic?.flush();
      await traffic?.idle();
      onStream.close();
      await onStream.idle();
      await operational.idle();
    });

    const runner = new Runner({
      store: onStream.store,
      actions,
      logger: o.logger,
      tenant: policy.tenant,
      mode: policy.mode,
      maxRules: capOf,
      onShutdown: policy.onShutdown,
      collateralDrop: policy.rollback.collateralDrop,
      probe,
      plan: (input) => plan({ policy, rpki, render, renderWithdraw, ...input }),
      // The engine as the runner sees it, with every sample noted for the detector-silence watch.
      engine: {
        ingest: (s) => {
          operational.sampleSeen(s.source);
          engine.ingest(s);
        },
        on: (l) => engine.on(l),
        start: () => engine.start(),
        stop: () => engine.stop(),
      },
      detectors,
      metrics,
      ...(o.tickMs ? { tickMs: o.tickMs } : {}),
      ...(o.reconcileEveryMs ? { reconcileEveryMs: o.reconcileEveryMs } : {}),
      alert: (message, detail) => o.logger.error({ alert: true, ...detail }, message),
      onPlan: (incident: Incident, p: Plan) => {
        watch?.plan(incident, p);
        onStream.onPlan(incident, p);
      },
    });
    watchVrps(runner, policy, rpkiSource, o.logger, events);
    const reconcile = await runner.start();
    const control: NetServer | undefined = await serveControl(runner, o.stateDir, o.logger, events);
    o.logger.info(
      {
        policy: policy.file,
        tenant: policy.tenant,
        mode: policy.mode,
        stateDir: o.stateDir,
        actions: [...actions.keys()],
        detectors: detectors.map((d) => d.name),
        metricsPort,
      },
      policy.mode === 'preview'
        ? `ft run: PREVIEW mode (policy ${policy.file}): plans are shown and logged; nothing is applied, reconciled or withdrawn`
        : `ft run: enforcing policy ${policy.file}`,
    );
    let stopped: Promise<StopReport> | undefined;
    return {
      runner,
      policy,
      store,
      events,
      actions,
      reconcile,
      ...(metricsPort !== undefined ? { metricsPort } : {}),
      ...(fleet ? { lost: fleet.lost } : {}),
      stop(signal: string, onShutdown?: 'withdraw' | 'keep') {
        // Always resolves, in bounded time: a failed or unfinished withdrawal is reported (complete: false), and the
        // endpoints, RPKI and stores are closed whatever happened.
        stopped ??= (async () => {
          try {
            await boundedWait(new Promise<void>((r) => (control ? control.close(() => r()) : r())), 2000);
            return await runner.stop(signal, onShutdown ?? policy.onShutdown);
          } catch (err) {
            o.logger.error(
              { err: (err as Error).message, signal },
              "shutdown failed; rules ft installed are left until their TTL or the next start's reconcile",
            );
            return { complete: false, reason: (err as Error).message };
          } finally {
            await cleanup();
          }
        })();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The stream beside the store: the state directory's journal, or with --redis the fleet's stream (journal as archive). */
async function openEvents(o: DaemonOptions, policy: Policy, fleetConn?: import('ioredis').Redis): Promise<EventStream> {
  const { EventStream } = await import('../events/stream.js');
  const { retainBytes, retainDays, segmentBytes, fleetMaxLen } = policy.events;
  const common = {
    stateDir: o.stateDir,
    tenant: policy.tenant,
    logger: o.logger,
    retainBytes,
    retainDays,
    segmentBytes,
  };
  return fleetConn
    ? EventStream.openFleet({
        ...common,
        conn: fleetConn,
        maxLen: fleetMaxLen,
        ...(o.redis?.namespace ? { namespace: o.redis.namespace } : {}),
      })
    : EventStream.openEmbedded(common);
}

interface RpkiSource {
  provider: RpkiVerdictProvider;
  /** Where verdicts come from, for humans. */
  label?: string;
  /** Set when the data comes from a live RTR session: subscribes to VRP set changes. */
  onChange?: (handler: () => void) => void;
  /** The RTR caches' state (live sessions only). */
  status?: () => import('../rpki/client.js').CacheStatus[];
}

async function rpkiProvider(
  o: DaemonOptions,
  policy: Policy,
  cleanups: (() => Promise<void> | void)[],
): Promise<RpkiSource> {
  const { rpkiNoData, rpkiSkipped } = await import('../plan/index.js');
  if (policy.defaults.rpki === 'off') return { provider: rpkiSkipped };
  const rpki = await import('../rpki/index.js');
  if (o.vrpsFile)
    return {
      provider: rpki.createVerdictProvider({ table: await rpki.loadVrpFile(o.vrpsFile) }),
      label: `VRP file ${o.vrpsFile}`,
    };
  let caches;
  try {
    caches = await rpki.cachesFromPolicyFile(o.policyFile);
  } catch {
    o.logger.warn(
      {},
      'no RTR caches under rpki.caches and no --vrps: every announcement fails its RPKI check (policy rpki mode decides what that means)',
    );
    return { provider: rpkiNoData, label: 'no RPKI data (no rpki.caches, no --vrps)' };
  }
  const client = new rpki.RtrClient({ caches, logger: o.logger }).start();
  cleanups.push(() => client.stop());
  return {
    provider: rpki.createVerdictProvider({ client }),
    label: "the policy's RTR caches",
    status: () => client.status(),
    onChange: (handler) => {
      client.on('update', handler);
      cleanups.push(() => void client.off('update', handler));
    },
  };
}

/**
 * Design §5: active announcements are re-checked whenever the VRP set changes. Fresh data that now calls an
 * announcement Invalid (someone else's ROA covers it) withdraws it under `rpki: enforce`; anything else the check
 * would now refuse is alerted. Staleness never withdraws a mitigation in the middle of an attack: only a change
 * in the data does.
 */
function watchVrps(runner: Runner, policy: Policy, source: RpkiSource, logger: Logger, events: EventStream): void {
  const { provider, onChange } = source;
  if (!onChange) return;
  onChange(() => {
    void (async () => {
      const { recheck } = await import('../rpki/index.js');
      const { ruleFacts } = await import('../events/facts.js');
      const active = (await runner.store.rules()).filter((r) => r.phase === 'live').map(toActive);
      const found = recheck(active, provider, {
        protect: policy.protect,
        originAs: policy.asn ?? 0,
        mode: policy.defaults.rpki,
        divertOriginAs: (name) => policy.scrubbers.get(name)?.originAs,
      });
      for (const f of found.refused) {
        const invalid = found.invalid.includes(f);
        const message = `RPKI re-check after a VRP change: ${f.active.rule.kind} ${String(f.check.announced)} (${f.active.rule.id}) is now ${f.verdict.state}: ${f.verdict.reason}`;
        logger.error({ alert: true, ruleId: f.active.rule.id, verdict: f.verdict }, message);
        const withdraw = invalid && policy.defaults.rpki === 'enforce';
        const { allowed: _allowed, ...verdict } = f.verdict;
        await events
          .append([
            {
              type: 'rpki.verdict_changed',
              data: {
                ...ruleFacts(f.active.rule, {
                  via: f.active.via,
                  plannedBy: 'rpki',
                  ...(f.active.incidentId ? { incidentId: f.active.incidentId } : {}),
                }),
                verdict,
                announced: f.check.announced,
                withdrawn: withdraw,
                message,
              },
            },
          ])
          .catch((err: Error) => logger.error({ err: err.message }, 'could not record the RPKI verdict change'));
        if (withdraw) {
          await runner.executor.withdraw(f.active.rule.id, `${message}; withdrawn (rpki: enforce)`, {
            plannedBy: 'rpki',
            ...(f.active.incidentId ? { incidentId: f.active.incidentId } : {}),
          });
        }
      }
    })().catch((err: Error) => logger.error({ err: err.message }, 'RPKI re-check failed'));
  });
}

async function createDetectors(
  registry: Registry,
  specs: DetectorSpec[],
  o: DaemonOptions,
  signal: AbortSignal,
  policy: Policy,
): Promise<{ name: string; detector: Detector }[]> {
  const { Secret } = await import('@ft/sdk');
  const out: { name: string; detector: Detector }[] = [];
  for (const spec of specs) {
    const entry = registry.detector(spec.kind);
    if (!entry)
      throw new DaemonSetupError(
        `detector ${spec.name}: no installed plugin provides kind "${spec.kind}" (see \`ft registry\`)`,
      );
    const parsed = entry.factory.configSchema.safeParse(spec.options);
    if (!parsed.success) {
      throw new DaemonSetupError(
        `detector ${spec.name} (${spec.kind}): ${parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`,
      );
    }
    const detector = await entry.factory.create(parsed.data, {
      name: spec.name,
      logger: o.logger.child({ detector: spec.name }),
      stateDir: o.stateDir,
      signal,
      secret: (ref) => new Secret(process.env[ref] ?? '', ref),
      // Protected space and host groups, so a flow detector aggregates by them without listing them again.
      scope: { protect: policy.protect, groups: policy.groups },
    });
    out.push({ name: spec.name, detector });
  }
  return out;
}

/** The policy's `detectors:` section, used when no --detectors FILE is given. */
export function detectorSpecsFromPolicy(policy: Policy): DetectorSpec[] {
  return [...policy.detectors.values()].map((d) => ({ name: d.name, kind: d.kind, options: d.options }));
}

async function startWatch(
  w: NonNullable<DaemonOptions['watch']>,
  policy: Policy,
  engine: DetectionEngine,
  rpkiSource: RpkiSource,
  cleanups: (() => Promise<void> | void)[],
): Promise<Watch> {
  const { formatPlan } = await import('../plan/index.js');
  const rpkiLabel = policy.defaults.rpki === 'off' ? undefined : rpkiSource.label;
  const watch = new Watch(policy, w.write, (plan, incident) =>
    formatPlan(plan, { policy, incident, now: new Date(), ...(rpkiLabel ? { rpkiSource: rpkiLabel } : {}) }),
  );
  const timer = setInterval(() => watch.tick(engine.view(), new Date()), w.everyMs ?? 1000);
  const off = engine.on((event) => {
    if (event.type === 'resolve') watch.resolved(event.incident.id);
  });
  cleanups.push(() => {
    clearInterval(timer);
    off();
  });
  return watch;
}

/** `--detectors FILE`: YAML or JSON, `{ NAME: { detector: KIND, ...options } }`. */
export async function loadDetectorSpecs(file: string): Promise<DetectorSpec[]> {
  const { readFile } = await import('node:fs/promises');
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new DaemonSetupError(
      `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new DaemonSetupError(`${file}: expected a map of detector name → { detector: KIND, ...options }`);
  return Object.entries(doc as Record<string, unknown>).map(([name, v]) => {
    const body = v as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || typeof body.detector !== 'string')
      throw new DaemonSetupError(`${file}: ${name}: needs "detector: KIND"`);
    const { detector, ...options } = body;
    return { name, kind: detector, options };
  });
}

/** Waits for `work` at most `ms`; whatever it does afterwards is ignored. */
async function boundedWait(work: Promise<unknown>, ms: number): Promise<void> {
  await settleWithin(work, ms);
}
