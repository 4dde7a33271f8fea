import { Flags } from '@oclif/core';
import { FtCommand } from '../cli/command.js';

export interface WorkerResult {
  pop: string;
  worker: string;
  redis: string;
  speakers: string[];
  completed: number;
  failed: number;
  stoppedBy: string;
}

export default class Worker extends FtCommand {
  static override summary = "Run a fleet worker for one POP: carries out the controller's jobs on that POP's speakers.";
  static override description =
    "Takes jobs from the POP's queue in Redis (apply, withdraw, TTL expiry, list for reconcile) and runs them on the speakers and " +
    "scrubbers the policy places in that POP (`pop: NAME`). Options and credentials come from this machine's policy and environment; " +
    'jobs carry only rules and instance names. Run two or more per POP: a job whose worker dies is handed to another one. ' +
    'On SIGTERM the job in hand finishes (bounded by --close-timeout), then the worker exits. The Redis password may be in the URL or ' +
    'in FT_REDIS_PASSWORD; it is never printed.';
  static override enableJsonFlag = true;
  static override flags = {
    pop: Flags.string({ summary: "The POP this worker serves (as in the policy's `pop:`).", required: true }),
    redis: Flags.string({
      summary: 'redis://[user:password@]host:port[/db] or rediss:// for TLS.',
      required: true,
      env: 'FT_REDIS_URL',
    }),
    policy: Flags.string({
      char: 'p',
      summary: 'Policy YAML file (the same one the controller runs).',
      required: true,
    }),
    concurrency: Flags.integer({
      summary: 'Jobs run at once (calls to one speaker still go one at a time).',
      default: 4,
      min: 1,
      max: 256,
    }),
    'state-dir': Flags.string({
      summary: "State directory for this POP's action instances (default: <ft state dir>/fleet/<pop>).",
    }),
    namespace: Flags.string({
      summary: 'Redis key namespace shared by the controller and workers of one deployment.',
      default: 'ft',
    }),
    'close-timeout': Flags.integer({
      summary: 'Seconds the job in hand may take to finish at shutdown before it is handed back.',
      default: 10,
      min: 1,
    }),
    duration: Flags.integer({ summary: 'Stop after this many seconds, as on SIGTERM.', min: 1 }),
  };
  static override examples = [
    '<%= config.bin %> worker --pop ams1 --redis rediss://ft@redis.example.net:6380 --policy /etc/ft/policy.yaml',
    'FT_REDIS_PASSWORD=… <%= config.bin %> worker --pop fra1 --redis redis://10.0.0.5:6379 -p policy.yaml --concurrency 8',
  ];

  async run(): Promise<WorkerResult> {
    const { flags } = await this.parse(Worker);
    const { join } = await import('node:path');
    const { createLogger } = await import('../log/logger.js');
    const { loadRegistry } = await import('../plugin-host/load.js');
    const { loadPolicy } = await import('../policy/index.js');
    const { defaultStateDir } = await import('../state/index.js');
    const { parseRedisUrl, RedisUrlError } = await import('../state/redis/connect.js');
    const { openWorker } = await import('../fleet/setup.js');
    const { FleetNameError, checkPop } = await import('../fleet/names.js');
    const { ActionSetupError } = await import('../run/actions.js');

    const logger = await createLogger();
    let target;
    try {
      checkPop(flags.pop);
      checkPop(flags.namespace);
      target = parseRedisUrl(flags.redis);
    } catch (err) {
      if (err instanceof RedisUrlError || err instanceof FleetNameError) throw err; // reported with its FT_E_ code by FtCommand
      throw err;
    }
    const registry = await loadRegistry(this.config);
    for (const f of registry.failures) logger.error({ plugin: f.plugin }, f.message);
    // An invalid policy is FT_E_POLICY_INVALID (exit 1, every problem listed), as in every command.
    const policy = await loadPolicy(flags.policy, registry);
    let worker;
    try {
      worker = await openWorker({
        target,
        policy,
        registry,
        pop: flags.pop,
        logger,
        concurrency: flags.concurrency,
        namespace: flags.namespace,
        stateDir: flags['state-dir'] ?? join(defaultStateDir(), 'fleet', flags.pop),
        closeTimeoutMs: flags['close-timeout'] * 1000,
      });
    } catch (err) {
      if (err instanceof FleetNameError || err instanceof ActionSetupError) this.error(err.message, { exit: 1 });
      throw err;
    }
    const w = worker;
    const stoppedBy = await new Promise<string>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const stop = (why: string) => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        if (timer) clearTimeout(timer);
        logger.info({ pop: w.pop, signal: why }, 'ft worker: stopping');
        void w.close().then(() => resolve(why));
      };
      const onSignal = (s: NodeJS.Signals) => stop(s);
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      if (flags.duration) timer = setTimeout(() => stop('duration'), flags.duration * 1000);
    });
    const result: WorkerResult = {
      pop: w.pop,
      worker: w.id,
      redis: target.display,
      speakers: [...policy.speakers.values()].filter((s) => s.pop === w.pop).map((s) => s.name),
      completed: w.stats.completed,
      failed: w.stats.failed,
      stoppedBy,
    };
    // With Redis gone, BullMQ's own duplicate connections keep reconnecting after close(): once the report is out,
    // the process must not hang on them (a service manager waits for the exit).
    setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    if (!this.jsonEnabled())
      this.log(
        `ft worker ${w.id} (POP ${w.pop}) stopped (${stoppedBy}): ${w.stats.completed} job(s) done, ${w.stats.failed} failed attempt(s).`,
      );
    return result;
  }
}
