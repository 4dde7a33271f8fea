import { Command, Flags } from '@oclif/core';
import type { ReconcileReport } from '../exec/reconcile.js';

export interface RunResult {
  policy: string;
  mode: 'enforce' | 'preview';
  stateDir: string;
  metricsPort?: number;
  reconcile: ReconcileReport;
  stoppedBy: string;
  /** Rules still live when ft run exited (onShutdown: keep, --once), each with its expiry. */
  liveAtExit: { id: string; kind: string; target: string; expiresAt: string }[];
}

export default class Run extends Command {
  static override summary = 'Run ft: detectors feed detection, incidents feed the policy, the executor carries out the plan.';
  static override description =
    'The daemon. At start it reconciles: every action\'s installed rules are compared with the rule store, orphans tagged as ours are ' +
    'withdrawn, missing live rules are re-applied, rules whose TTL passed while ft was down are withdrawn. Then it runs the detectors ' +
    '(--detectors), the detection engine, the planner and the executor; every op goes to the audit trail (`ft audit`). ' +
    'On SIGTERM/SIGINT it follows the policy\'s onShutdown: withdraw (the default) takes back every rule ft installed; keep leaves ' +
    'them until the next start reconciles them. Prometheus metrics are served on --metrics (loopback by default). ' +
    'While it runs, `ft mitigate apply|withdraw` hand their work to it; `ft mitigate list` and `ft audit` read its state.';
  static override enableJsonFlag = true;
  static override flags = {
    policy: Flags.string({ char: 'p', summary: 'Policy YAML file.', required: true }),
    'state-dir': Flags.string({ summary: 'Where the rule store and audit trail live (default: /var/lib/ft as root, else $XDG_STATE_HOME/ft).' }),
    detectors: Flags.string({ summary: 'YAML file of detector instances: { NAME: { detector: KIND, ...options } }.' }),
    vrps: Flags.string({ summary: 'VRP JSON file for RPKI checks, instead of the RTR caches under the policy\'s rpki.caches.' }),
    metrics: Flags.string({ summary: 'HOST:PORT for Prometheus metrics, or "off".', default: '127.0.0.1:9310' }),
    'metrics-public': Flags.boolean({ summary: 'Allow --metrics on a non-loopback address.', default: false }),
    'repair-state': Flags.boolean({ summary: 'Move a corrupt journal aside (kept) and continue from its intact records.', default: false }),
    once: Flags.boolean({ summary: 'Reconcile, run one lifecycle round, and exit leaving live rules in place (e.g. after a crash).', default: false }),
    duration: Flags.integer({ summary: 'Stop after this many seconds, as on SIGTERM (policy onShutdown applies).', min: 1 }),
    'tick-ms': Flags.integer({ hidden: true, min: 10, summary: 'Lifecycle tick (tests).' }),
    // Fleet (docs/fleet.md): rules in Redis, speakers with a `pop` driven by `ft worker` processes in their POP.
    redis: Flags.string({ summary: 'Run as a fleet controller on this Redis (redis:// or rediss://; password in the URL or FT_REDIS_PASSWORD).' }),
    'redis-namespace': Flags.string({ summary: 'Redis key namespace of the fleet deployment.', default: 'ft' }),
  };
  static override examples = [
    'sudo <%= config.bin %> run --policy /etc/ft/policy.yaml --detectors /etc/ft/detectors.yaml',
    '<%= config.bin %> run -p policy.yaml --state-dir ./state --metrics 127.0.0.1:9310',
    '<%= config.bin %> run -p policy.yaml --once --json',
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
      if (err instanceof MetricsAddressError) this.error(err.message, { exit: 2 });
      throw err;
    }

    // A signal during start-up (reconcile may be re-applying rules) is kept and honoured as soon as the daemon is up.
    let early: string | undefined;
    const remember = (signal: NodeJS.Signals) => (early = signal);
    process.once('SIGTERM', remember);
    process.once('SIGINT', remember);
    let daemon;
    try {
      const detectors = flags.detectors ? await loadDetectorSpecs(flags.detectors) : [];
      daemon = await startDaemon({
        config: this.config, policyFile: flags.policy, stateDir, logger, detectors, repairState: flags['repair-state'],
        ...(metrics ? { metrics } : {}), ...(flags.vrps ? { vrpsFile: flags.vrps } : {}), ...(flags['tick-ms'] ? { tickMs: flags['tick-ms'] } : {}),
        ...(flags.redis ? { redis: { url: flags.redis, namespace: flags['redis-namespace'] } } : {}),
      });
    } catch (err) {
      const { RedisUrlError } = await import('../state/redis/connect.js');
      if (err instanceof RedisUrlError) this.error(err.message, { exit: 2 });
      const known = [DaemonSetupError, StateDirError, StateLockedError, JournalCorruptError, ActionSetupError];
      if (known.some((k) => err instanceof k)) this.error((err as Error).message, { exit: 1 });
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') this.error(`--metrics ${flags.metrics}: the address is in use (another ft run?); pick another or pass --metrics off`, { exit: 1 });
      throw err;
    }

    process.off('SIGTERM', remember);
    process.off('SIGINT', remember);
    let stoppedBy: string;
    if (early) {
      stoppedBy = early;
      await daemon.stop(early);
    } else if (flags.once) {
      await daemon.runner.tick();
      stoppedBy = 'once';
      await daemon.stop('once', 'keep');
    } else {
      stoppedBy = await new Promise<string>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const off = stopOnSignals(
          async (signal) => {
            if (timer) clearTimeout(timer);
            await daemon.stop(signal);
            resolve(signal);
          },
          logger,
          () => undefined,
        );
        if (flags.duration) {
          timer = setTimeout(() => {
            off();
            void daemon.stop('duration').then(() => resolve('duration'));
          }, flags.duration * 1000);
        }
      });
    }
    const { JournalStore } = await import('../state/journal-store.js');
    const after = flags.redis ? await (await import('../fleet/daemon.js')).readFleetStore(flags.redis, flags['redis-namespace']) : await JournalStore.open({ dir: stateDir, readOnly: true });
    const liveAtExit = (await after.rules())
      .filter((r) => r.phase === 'live')
      .map((r) => ({ id: r.rule.id, kind: r.rule.kind, target: String(r.rule.target), expiresAt: r.expiresAt }));
    await after.close();
    const result: RunResult = {
      policy: daemon.policy.file, mode: daemon.policy.mode, stateDir, ...(daemon.metricsPort !== undefined ? { metricsPort: daemon.metricsPort } : {}),
      reconcile: daemon.reconcile, stoppedBy, liveAtExit,
    };
    if (!this.jsonEnabled()) {
      this.log(`ft run stopped (${stoppedBy}); ${liveAtExit.length} rule(s) left live${liveAtExit.length ? ' until their TTL or the next start' : ''}.`);
    }
    return result;
  }
}
