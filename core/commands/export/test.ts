import { Args, Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';

export default class ExportTest extends FtCommand {
  static override summary =
    'Send sample records through one export sink, its real mapping and delivery path, and say how it went.';
  static override description =
    'Builds a made-up attack told the way ft tells a real one (incident opened, a rule added, a rule refused by a rail, a ' +
    'traffic summary, a speaker going down; ids start with test-), creates the sink from the policy (credentials from the ' +
    "environment) and delivers through the sink's queue: its batch limits, timeout, retries and Retry-After. Exits 0 when " +
    'the sink accepted every record, 1 when it refused them or retries ran out.';
  static override enableJsonFlag = true;
  static override args = {
    sink: Args.string({ description: 'Sink name from the policy (export.sinks).', required: true }),
  };
  static override flags = {
    policy: Flags.string({ char: 'p', summary: 'Policy YAML file.', required: true }),
    'state-dir': Flags.string({ summary: 'State directory (sinks keep small state there).' }),
    patience: Flags.integer({ summary: 'Give up retrying after this many seconds.', default: 30, min: 1, max: 3600 }),
  };
  static override examples = [
    '<%= config.bin %> export test splunk --policy /etc/ft/policy.yaml',
    '<%= config.bin %> export test soc-syslog --policy /etc/ft/policy.yaml --json',
  ];

  async run(): Promise<{
    sink: string;
    kind: string;
    destination: string;
    result: string;
    records: number;
    attempts: number;
    ms: number;
    reason?: string;
  }> {
    const { args, flags } = await this.parse(ExportTest);
    const { loadRegistry } = await import('../../plugin-host/load.js');
    const { loadPolicy, PolicyError, formatIssue } = await import('../../policy/index.js');
    const { createSink, batchLimits, sampleEvents, ExportSetupError } = await import('../../export/index.js');
    const { DeliveryQueue } = await import('../../deliver/index.js');
    const { defaultStateDir } = await import('../../state/index.js');
    const { createLogger } = await import('../../log/logger.js');
    const { toExportRecords } = await import('@ft/sdk');
    const registry = await loadRegistry(this.config);
    let policy;
    try {
      policy = await loadPolicy(flags.policy, registry);
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      for (const issue of err.issues) this.logToStderr(formatIssue(issue));
      this.error(`${flags.policy}: ${err.issues.length} problem(s); fix them first (ft policy validate lists them)`, {
        exit: 1,
      });
    }
    const inst = policy.export.sinks.get(args.sink);
    if (!inst)
      this.error(
        `no sink "${args.sink}" in ${flags.policy} (sinks: ${[...policy.export.sinks.keys()].join(', ') || 'none'})`,
        { exit: 1 },
      );
    const logger = await createLogger({ level: process.env.FT_LOG_LEVEL ?? 'warn' });
    const controller = new AbortController();
    let created;
    try {
      created = await createSink(registry, inst, {
        stateDir: flags['state-dir'] ?? defaultStateDir(),
        logger,
        signal: controller.signal,
      });
    } catch (err) {
      if (err instanceof ExportSetupError) this.error(err.message, { exit: 1 });
      throw err;
    }
    const { sink, factory } = created;
    // Every sample goes, whatever the sink's filters: the point is to see each kind of record arrive.
    const records = sampleEvents(policy).flatMap((e) => toExportRecords(e));
    const limits = batchLimits(inst, factory);
    const started = Date.now();
    let result: { result: string; attempts: number; reason?: string } = { result: 'expired', attempts: 0 };
    try {
      await sink.warm?.(AbortSignal.timeout(3000)).catch(() => undefined);
      result = await new Promise((resolve) => {
        const queue = new DeliveryQueue({
          name: inst.name,
          rate: inst.rateLimit ?? factory.rateLimit,
          timeoutMs: inst.timeoutMs,
          retry: { deadlineMs: flags.patience * 1000, maxMs: 10_000 },
          send: async (batch: typeof records, a) => {
            const out = await sink.send(batch.slice(0, limits.maxRecords), a);
            if (out.result !== 'partial') return out;
            return out.rejected.length > 0
              ? { result: 'rejected', reason: out.rejected.map((x) => x.reason).join('; ') }
              : { result: 'retry', reason: out.reason };
          },
          onSettled: (_b, s) =>
            resolve({ result: s.result, attempts: s.attempts, ...(s.reason ? { reason: s.reason } : {}) }),
          onBroken: (reason) => resolve({ result: 'dead', attempts: 1, reason }),
          onAttempt: (_b, o, attempt) => {
            if (o.result === 'retry' && !this.jsonEnabled())
              this.logToStderr(`attempt ${attempt}: ${o.reason}; retrying`);
          },
        });
        void queue.push(records);
        process.once('SIGINT', () => void queue.close());
      });
    } finally {
      controller.abort();
      await sink.close?.();
    }
    const out = {
      sink: inst.name,
      kind: inst.kind,
      destination: sink.describe(),
      result: result.result,
      records: records.length,
      attempts: result.attempts,
      ms: Date.now() - started,
      ...(result.reason ? { reason: result.reason } : {}),
    };
    if (!this.jsonEnabled())
      this.log(
        result.result === 'delivered'
          ? `${inst.name} (${inst.kind}, ${out.destination}): delivered ${records.length} sample records in ${out.ms} ms (${result.attempts} attempt(s))`
          : `${inst.name} (${inst.kind}, ${out.destination}): ${result.result}: ${result.reason ?? ''}`,
      );
    if (result.result !== 'delivered') process.exitCode = 1;
    return out;
  }
}
