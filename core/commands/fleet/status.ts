import { Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import type { FleetStatus } from '../../fleet/status.js';

export default class FleetStatusCommand extends FtCommand {
  static override summary =
    'Show the fleet: POPs, workers alive, queue depths, failed jobs, rules per POP, cap slots in use.';
  static override description =
    'Read-only, from Redis. A worker counts as alive while its heartbeat (every 5 s) is fresh. Rules per POP count the live rules routed ' +
    "through that POP's speakers: installed everywhere there, failed somewhere there, or still pending. Exits 1 when a POP has no live " +
    'worker or holds failed jobs, so it can serve as a check.';
  static override enableJsonFlag = true;
  static override flags = {
    redis: Flags.string({
      summary: 'redis://[user:password@]host:port[/db] or rediss:// for TLS.',
      required: true,
      env: 'FT_REDIS_URL',
    }),
    policy: Flags.string({
      char: 'p',
      summary: 'Also list the POPs this policy names (even those no worker has served yet).',
    }),
    namespace: Flags.string({ summary: 'Redis key namespace of the deployment.', default: 'ft' }),
    failed: Flags.integer({ summary: 'Failed jobs shown per POP.', default: 10, min: 0, max: 1000 }),
  };
  static override examples = [
    '<%= config.bin %> fleet status --redis redis://127.0.0.1:6379',
    '<%= config.bin %> fleet status --redis rediss://ft@redis:6380 -p policy.yaml --json',
  ];

  async run(): Promise<FleetStatus> {
    const { flags } = await this.parse(FleetStatusCommand);
    const { parseRedisUrl, RedisUrlError, closeRedis } = await import('../../state/redis/connect.js');
    const { fleetStatus } = await import('../../fleet/status.js');
    const { checkPop, FleetNameError } = await import('../../fleet/names.js');
    const { table } = await import('../../cli/table.js');
    let target;
    try {
      checkPop(flags.namespace);
      target = parseRedisUrl(flags.redis);
    } catch (err) {
      if (err instanceof RedisUrlError || err instanceof FleetNameError) throw err; // reported with its FT_E_ code by FtCommand
      throw err;
    }
    let pops: string[] = [];
    if (flags.policy) {
      const { loadPolicy } = await import('../../policy/index.js');
      const { popsOf } = await import('../../fleet/setup.js');
      pops = [...popsOf(await loadPolicy(flags.policy)).keys()];
    }
    const { Redis } = await import('ioredis');
    const conn = new Redis({
      ...target.options,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      retryStrategy: () => null,
    });
    conn.on('error', () => undefined);
    let status: FleetStatus;
    try {
      await conn.connect();
      status = await fleetStatus(conn, {
        namespace: flags.namespace,
        display: target.display,
        pops,
        failedLimit: Math.max(1, flags.failed),
      });
    } catch (err) {
      this.error(
        `${target.display}: ${(err as Error).message.replaceAll(target.options.password ?? '\u0000', '[REDACTED]')}`,
        { exit: 1 },
      );
    } finally {
      await closeRedis(conn, 1000);
    }
    if (flags.failed === 0) for (const p of status.pops) p.failedJobs = [];
    if (!this.jsonEnabled()) {
      this.log(
        `fleet at ${status.redis} (namespace ${status.namespace}): ${status.rules} rule(s); slots in use: ${
          Object.entries(status.slots)
            .map(([t, n]) => `${t}=${n}`)
            .join(', ') || 'none'
        }`,
      );
      this.log(
        table(
          [
            'POP',
            'WORKERS',
            'SPEAKERS',
            'WAITING',
            'ACTIVE',
            'DELAYED',
            'FAILED',
            'RULES OK',
            'RULES FAILED',
            'PENDING',
            'WITHDRAWING',
          ],
          status.pops.map((p) => [
            p.pop,
            String(p.workers.length),
            p.speakers.join(',') || '-',
            String(p.queue.waiting),
            String(p.queue.active),
            String(p.queue.delayed),
            String(p.queue.failed),
            String(p.rules.installed),
            String(p.rules.failed),
            String(p.rules.pending),
            String(p.rules.withdrawing),
          ]),
        ),
      );
      for (const p of status.pops)
        for (const j of p.failedJobs)
          this.log(`  ${p.pop}: failed ${j.op} on ${j.adapter} after ${j.attempts} attempt(s): ${j.reason}`);
    }
    if (status.pops.some((p) => p.workers.length === 0 || p.queue.failed > 0)) process.exitCode = 1;
    return status;
  }
}
