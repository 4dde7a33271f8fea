import { Flags } from '@oclif/core';
import { FtCommand } from '../cli/command.js';
import type { ReconcileReport } from '../exec/reconcile.js';
import type { StopReport } from '../run/runner.js';

export interface RunResult {
  policy: string;
  /** 'standby': a fleet controller stopped while another held the controller lease (it never acted). */
  mode: 'enforce' | 'preview' | 'standby';
  stateDir: string;
  metricsPort?: number;
  reconcile: ReconcileReport | null;
  stoppedBy: string;
  /** Rules still live when ft run exited (onShutdown: keep, --once), each with its expiry; null when the store could not be read. */
  liveAtExit: { id: string; kind: string; target: string; expiresAt: string }[] | null;
  /** Set when shutdown could not carry out onShutdown (why); the exit code is then 1. */
  shutdownIncomplete?: string;
}

export default class Run extends FtCommand {
  static override summary =
    'Run ft: detectors feed detection, incidents feed the policy, the executor carries out the plan.';
  static override description =
    "The daemon. At start it reconciles: every action's installed rules are compared with the rule store, orphans tagged as ours are " +
    'withdrawn, missing live rules are re-applied, rules whose TTL passed while ft was down are withdrawn. Then it runs the detectors ' +
    '(--detectors), the detection engine, the planner and the executor; every op goes to the audit trail (`ft audit`). ' +
    "On SIGTERM/SIGINT it follows the policy's onShutdown: withdraw (the default) takes back every rule ft installed; keep leaves " +
    'them until the next start reconciles them. Prometheus metrics are served on --metrics (loopback by default). ' +
    'While it runs, `ft mitigate apply|withdraw` hand their work to it; `ft mitigate list` and `ft audit` read its state.';
  static override enableJsonFlag = true;
  static override flags = {
    policy: Flags.string({ char: 'p', summary: 'Policy YAML file.', required: true }),
    'state-dir': Flags.string({
      summary: 'Where the rule store and audit trail live (default: /var/lib/ft as root, else $XDG_STATE_HOME/ft).',
    }),
    detectors: Flags.string({
      summary:
        "YAML file of detector instances: { NAME: { detector: KIND, ...options } } (default: the policy's detectors: section).",
    }),
    watch: Flags.boolean({
      summary:
        "Print live per-target rates every second and each incident's plan on stdout (default: on in preview mode on a terminal, without --json).",
      allowNo: true,
    }),
    vrps: Flags.string({
      summary: "VRP JSON file for RPKI checks, instead of the RTR caches under the policy's rpki.caches.",
    }),
    metrics: Flags.string({ summary: 'HOST:PORT for Prometheus metrics, or "off".', default: '127.0.0.1:9310' }),
    'metrics-public': Flags.boolean({ summary: 'Allow --metrics on a non-loopback address.', default: false }),
    'repair-state': Flags.boolean({
      summary: 'Move a corrupt journal aside (kept) and continue from its intact records.',
      default: false,
    }),
    once: Flags.boolean({
      summary: 'Reconcile, run one lifecycle round, and exit leaving live rules in place (e.g. after a crash).',
      default: false,
    }),
    duration: Flags.integer({
      summary: 'Stop after this many seconds, as on SIGTERM (policy onShutdown applies).',
      min: 1,
    }),
    'tick-ms': Flags.integer({ hidden: true, min: 10, summary: 'Lifecycle tick (tests).' }),
    'health-ms': Flags.integer({ hidden: true, min: 100, summary: 'How often action health is asked for (tests).' }),
    // Fleet (docs/fleet.md): rules in Redis, speakers with a `pop` driven by `ft worker` processes in their POP.
    redis: Flags.string({
      summary:
        'Run as a fleet controller on this Redis (redis:// or rediss://; password in the URL or FT_REDIS_PASSWORD).',
    }),
    'redis-namespace': Flags.string({ summary: 'Redis key namespace of the fleet deployment.', default: 'ft' }),
    lease: Flags.integer({
      summary:
        'With --redis: seconds of the controller lease (default 10). One controller acts; others wait as standbys and take over once it lapses.',
      min: 2,
      max: 300,
      dependsOn: ['redis'],
    }),
  };
  static override examples = [
    'sudo <%= config.bin %> run --policy /etc/ft/policy.yaml --detectors /etc/ft/detectors.yaml',
    '<%= config.bin %> run -p policy.yaml --state-dir ./state --metrics 127.0.0.1:9310',
    '<%= config.bin %> run -p policy.yaml --once --json',
    '<%= config.bin %> run --policy policies/quickstart.yaml --duration 20',
  ];

  async run(): Promise<RunResult> {
    const { flags } = await this.parse(Run);
    const { createLogger } = await import('../log/logger.js');
    const { defaultStateDir, StateDirError, StateLockedError, JournalCorruptError } = await import('../state/index.js');
    const { parseMetricsAddress, MetricsAddressError } = await import('../metrics/metrics.js');
    const { startDaemon, loadDetectorSpecs, DaemonSetupError, stopOnSignals } = await import('../run/index.js');
    const { ActionSetupError } = await import('../run/actions.js');

    const logger = await createLogger();
    const stateDir = flags['state-dir'] ?? defaultStateDir();
    let metrics: { host: string; port: number } | undefined;
    try {
      if (flags.metrics !== 'off') metrics = parseMetricsAddress(flags.metrics, flags['metrics-public']);
    } catch (err) {
      if (err instanceof MetricsAddressError) throw err; // reported with its FT_E_ code by FtCommand
      throw err;
    }

    // A signal during start-up (reconcile may be re-applying rules) is kept and honoured as soon as the daemon is up.
    let early: string | undefined;
    const starting = new AbortController();
    const remember = (signal: NodeJS.Signals) => {
      early = signal;
      starting.abort();
    };
    process.once('SIGTERM', remember);
    process.once('SIGINT', remember);
    let daemon;
    try {
      const detectors = flags.detectors ? await loadDetectorSpecs(flags.detectors) : undefined;
      const watch =
        flags.watch ?? (!this.jsonEnabled() && process.stdout.isTTY === true && (await policyIsPreview(flags.policy)));
      daemon = await startDaemon({
        config: this.config,
        policyFile: flags.policy,
        stateDir,
        logger,
        repairState: flags['repair-state'],
        ...(detectors ? { detectors } : {}),
        ...(watch && !this.jsonEnabled() ? { watch: { write: (text: string) => this.log(text) } } : {}),
        ...(metrics ? { metrics } : {}),
        ...(flags.vrps ? { vrpsFile: flags.vrps } : {}),
        ...(flags['tick-ms'] ? { tickMs: flags['tick-ms'] } : {}),
        ...(flags['health-ms'] ? { healthEveryMs: flags['health-ms'] } : {}),
        ...(flags.redis
          ? { redis: { url: flags.redis, namespace: flags['redis-namespace'], leaseMs: (flags.lease ?? 10) * 1000 } }
          : {}),
        signal: starting.signal,
      });
    } catch (err) {
      const { LeaseAbortedError } = await import('../fleet/lease.js');
      if (err instanceof LeaseAbortedError) {
        // A standby told to stop: nothing was started, nothing to withdraw.
        logger.info({ signal: early }, 'ft run: standby stopped before it took the controller lease');
        if (flags.redis) setTimeout(() => process.exit(0), 200).unref();
        return {
          policy: flags.policy,
          mode: 'standby',
          stateDir,
          reconcile: null,
          stoppedBy: early ?? 'signal',
          liveAtExit: null,
        };
      }
      const { RedisUrlError } = await import('../state/redis/connect.js');
      if (err instanceof RedisUrlError) throw err; // reported with its FT_E_ code by FtCommand
      const known = [DaemonSetupError, StateDirError, StateLockedError, JournalCorruptError, ActionSetupError];
      if (known.some((k) => err instanceof k)) this.error((err as Error).message, { exit: 1 });
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
        this.error(
          `--metrics ${flags.metrics}: the address is in use (another ft run?); pick another or pass --metrics off`,
          { exit: 1 },
        );
      throw err;
    }

    process.off('SIGTERM', remember);
    process.off('SIGINT', remember);
    let stoppedBy: string;
    let stop: StopReport;
    if (early) {
      stoppedBy = early;
      stop = await daemon.stop(early);
    } else if (flags.once) {
      await daemon.runner.tick();
      stoppedBy = 'once';
      stop = await daemon.stop('once', 'keep');
    } else {
      [stoppedBy, stop] = await new Promise<[string, StopReport]>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const off = stopOnSignals(
          async (signal) => {
            if (timer) clearTimeout(timer);
            const report = await daemon.stop(signal);
            resolve([signal, report]);
            return report;
          },
          logger,
          () => undefined,
        );
        void daemon.lost?.then(async (why) => {
          // Another controller acts now: stop at once and leave the rules to it (never withdraw them from under it).
          if (timer) clearTimeout(timer);
          off();
          logger.error({ alert: true }, `ft run: ${why}; stopping without withdrawing anything`);
          process.exitCode = 1;
          resolve(['lease-lost', await daemon.stop('lease-lost', 'keep')]);
        });
        if (flags.duration) {
          timer = setTimeout(() => {
            off();
            void daemon.stop('duration').then((report) => resolve(['duration', report]));
          }, flags.duration * 1000);
        }
      });
    }
    // What is still live, for the report. The store may be unreachable (fleet Redis down): then it is unknown, said
    // so, and the exit code is non-zero; this read is bounded like the rest of shutdown.
    let liveAtExit: RunResult['liveAtExit'] | undefined;
    try {
      const { withTimeout } = await import('@ft/sdk');
      liveAtExit = await withTimeout(
        readLive(stateDir, flags.redis, flags['redis-namespace']),
        5000,
        'reading the rule store',
      );
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'could not read the rule store to report what is left live');
    }
    if (!stop.complete || !liveAtExit) process.exitCode = 1;
    const result: RunResult = {
      policy: daemon.policy.file,
      mode: daemon.policy.mode,
      stateDir,
      ...(daemon.metricsPort !== undefined ? { metricsPort: daemon.metricsPort } : {}),
      reconcile: daemon.reconcile,
      stoppedBy,
      liveAtExit: liveAtExit ?? null,
      ...(stop.complete ? {} : { shutdownIncomplete: stop.reason ?? 'unknown' }),
    };
    if (flags.redis) {
      // With Redis gone, ioredis/BullMQ connections may keep reconnecting after close(): once the report is out the
      // process must exit (a service manager waits for it).
      setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    }
    if (!this.jsonEnabled()) {
      const left = liveAtExit
        ? `${liveAtExit.length} rule(s) left live${liveAtExit.length ? ' until their TTL or the next start' : ''}`
        : "the rules left live are unknown (the rule store could not be read); they stay until their TTL or the next start's reconcile";
      this.log(
        `ft run stopped (${stoppedBy})${stop.complete ? '' : `, shutdown incomplete: ${stop.reason ?? 'see the log'}`}; ${left}.`,
      );
    }
    return result;
  }
}

/** A cheap look at `mode:` before the daemon loads the policy properly (which reports any problem in it). */
async function policyIsPreview(file: string): Promise<boolean> {
  try {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const doc = parse(await readFile(file, 'utf8')) as { mode?: unknown } | null;
    return doc?.mode === 'preview';
  } catch {
    return false;
  }
}

type LiveRule = { id: string; kind: string; target: string; expiresAt: string };

async function readLive(stateDir: string, redis: string | undefined, namespace: string): Promise<LiveRule[]> {
  const { JournalStore } = await import('../state/journal-store.js');
  const store = redis
    ? await (await import('../fleet/daemon.js')).readFleetStore(redis, namespace)
    : await JournalStore.open({ dir: stateDir, readOnly: true });
  try {
    return (await store.rules())
      .filter((r) => r.phase === 'live')
      .map((r) => ({ id: r.rule.id, kind: r.rule.kind, target: String(r.rule.target), expiresAt: r.expiresAt }));
  } finally {
    await store.close().catch(() => undefined);
  }
}
