import { Args, Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import { loadCommandPolicy } from '../../cli/policy.js';

export default class AlertTest extends FtCommand {
  static override summary = 'Send a sample alert to one channel through the real delivery path, and say how it went.';
  static override description =
    "Builds a made-up incident (marked [TEST] in every channel's text) the way ft builds a real one, creates the channel from the policy " +
    '(credentials from the environment), opens its connection pool and delivers through its queue: its rate limit, ' +
    'timeout, retries and Retry-After. Exits 0 when the service accepted it, 1 when it refused it, the channel is dead or retries ran out.';
  static override enableJsonFlag = true;
  static override args = {
    channel: Args.string({ description: 'Channel name from the policy (alerts.channels).', required: true }),
  };
  static override flags = {
    policy: Flags.string({ char: 'p', summary: 'Policy YAML file.', required: true }),
    event: Flags.string({
      summary: 'Which alert to send.',
      options: ['opened', 'escalated', 'mitigated', 'deescalated', 'resolved', 'operational'],
      default: 'opened',
    }),
    'state-dir': Flags.string({ summary: 'State directory (channels keep small state there, e.g. Grafana ids).' }),
    patience: Flags.integer({ summary: 'Give up retrying after this many seconds.', default: 30, min: 1, max: 3600 }),
  };
  static override examples = [
    '<%= config.bin %> alert test noc-slack --policy /etc/ft/policy.yaml',
    '<%= config.bin %> alert test oncall --event resolved --policy /etc/ft/policy.yaml',
  ];

  async run(): Promise<{
    channel: string;
    kind: string;
    result: string;
    attempts: number;
    ms: number;
    reason?: string;
    title: string;
  }> {
    const { args, flags } = await this.parse(AlertTest);
    const { createChannel, sampleMessage } = await import('../../alerts/index.js');
    const { DeliveryQueue } = await import('../../deliver/index.js');
    const { defaultStateDir } = await import('../../state/index.js');
    const { createLogger } = await import('../../log/logger.js');
    const { policy, registry } = await loadCommandPolicy(this, flags.policy);
    const inst = policy.alerts.channels.get(args.channel);
    if (!inst)
      this.error(
        `no channel "${args.channel}" in ${flags.policy} (channels: ${[...policy.alerts.channels.keys()].join(', ') || 'none'})`,
        { exit: 1 },
      );
    const logger = await createLogger({ level: process.env.FT_LOG_LEVEL ?? 'warn' });
    const controller = new AbortController();
    // A missing credential or plugin is an AlertSetupError: the command base reports it as FT_E_ALERT_SETUP.
    const { channel, factory } = await createChannel(registry, inst, {
      stateDir: flags['state-dir'] ?? defaultStateDir(),
      logger,
      signal: controller.signal,
    });
    const message = sampleMessage(policy, flags.event as never);
    const started = Date.now();
    let result: { result: string; attempts: number; reason?: string } = { result: 'expired', attempts: 0 };
    try {
      await channel.warm?.(AbortSignal.timeout(3000)).catch(() => undefined);
      result = await new Promise((resolve) => {
        const queue = new DeliveryQueue({
          name: inst.name,
          rate: inst.rateLimit ?? factory.rateLimit,
          timeoutMs: inst.timeoutMs,
          retry: { deadlineMs: flags.patience * 1000, maxMs: 10_000 },
          send: (m: typeof message, a) => channel.send(m, a),
          onSettled: (_m, s) =>
            resolve({ result: s.result, attempts: s.attempts, ...(s.reason ? { reason: s.reason } : {}) }),
          onBroken: (reason) => resolve({ result: 'dead', attempts: 1, reason }),
          onAttempt: (_m, o, attempt) => {
            if (o.result === 'retry' && !this.jsonEnabled())
              this.logToStderr(`attempt ${attempt}: ${o.reason}; retrying`);
          },
        });
        void queue.push(message);
        const stop = () => void queue.close();
        process.once('SIGINT', stop);
      });
    } finally {
      controller.abort();
      await channel.close?.();
    }
    const out = {
      channel: inst.name,
      kind: inst.kind,
      result: result.result,
      attempts: result.attempts,
      ms: Date.now() - started,
      title: message.title,
      ...(result.reason ? { reason: result.reason } : {}),
    };
    if (!this.jsonEnabled()) {
      this.log(
        result.result === 'delivered'
          ? `${inst.name} (${inst.kind}, ${channel.describe()}): delivered "${message.title}" in ${out.ms} ms (${result.attempts} attempt(s))`
          : `${inst.name} (${inst.kind}, ${channel.describe()}): ${result.result}: ${result.reason ?? ''}`,
      );
    }
    if (result.result !== 'delivered') process.exitCode = 1;
    return out;
  }
}
