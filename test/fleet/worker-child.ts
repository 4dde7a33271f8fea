// `ft worker` as the fleet tests run it: the real openWorker, with the test speaker plugin in the registry.
//   node --import tsx worker-child.ts   (settings in FLEET_CHILD as JSON)
import { createJsonLogger } from '../../core/log/logger.js';
import { loadPolicy } from '../../core/policy/index.js';
import { openWorker } from '../../core/fleet/setup.js';
import { parseRedisUrl } from '../../core/state/redis/connect.js';
import { fixtureRegistry } from './fixture-plugin.js';

interface Settings {
  url: string;
  pop: string;
  policy: string;
  stateDir: string;
  concurrency?: number;
  lockMs?: number;
  stalledMs?: number;
  closeMs?: number;
}

async function main(): Promise<void> {
  const s = JSON.parse(process.env.FLEET_CHILD ?? '{}') as Settings;
  const logger = createJsonLogger({ level: process.env.FT_LOG_LEVEL ?? 'info' });
  const registry = await fixtureRegistry();
  const policy = await loadPolicy(s.policy, registry);
  const w = await openWorker({
    target: parseRedisUrl(s.url),
    policy,
    registry,
    pop: s.pop,
    stateDir: s.stateDir,
    logger,
    heartbeatMs: 500,
    ...(s.concurrency ? { concurrency: s.concurrency } : {}),
    ...(s.lockMs ? { lockDurationMs: s.lockMs } : {}),
    ...(s.stalledMs ? { stalledIntervalMs: s.stalledMs } : {}),
    ...(s.closeMs ? { closeTimeoutMs: s.closeMs } : {}),
  });
  process.stdout.write(`READY ${w.id}\n`);
  const stop = () => void w.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`worker-child: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
