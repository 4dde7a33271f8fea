// A small `ft run` as a child process for crash tests (see scenario.ts). CRASH_AT=N makes it SIGKILL itself at
// the Nth durable step, so the test can crash it at every point of the apply/withdraw sequence.
//
//   node --import tsx crash-child.ts STATE_DIR RECORD_FILE scenario|serve
import { createJsonLogger } from '../../core/log/logger.js';
import { stopOnSignals } from '../../core/run/signals.js';
import { openRun, runScenario, serveRules } from './scenario.js';

const [stateDir, recordFile, mode] = process.argv.slice(2) as [string, string, string];
const crashAt = Number(process.env.CRASH_AT ?? 0);
let step = 0;

async function main(): Promise<void> {
  const logger = createJsonLogger({ level: process.env.FT_LOG_LEVEL ?? 'warn' });
  const { store, runner } = await openRun({
    stateDir,
    recordFile,
    logger,
    onShutdown: (process.env.ON_SHUTDOWN as 'withdraw' | 'keep' | undefined) ?? 'withdraw',
    point: (what) => {
      step++;
      if (crashAt > 0 && step === crashAt) {
        process.stdout.write(`CRASH ${step} ${what}\n`);
        process.kill(process.pid, 'SIGKILL');
      }
    },
  });
  const report = await runner.start();
  process.stdout.write(`RECONCILED ${JSON.stringify(report)}\n`);
  if (mode === 'serve') {
    await serveRules(runner);
    // Handlers first, READY after: the test signals as soon as it reads READY, and a signal that arrives before
    // the handler is installed kills the child with the default action instead of running the shutdown.
    stopOnSignals(
      (s) => runner.stop(s),
      logger,
      (code) => void store.close().then(() => process.exit(code)),
    );
    process.stdout.write('READY\n');
    return;
  }
  await runScenario(runner);
  process.stdout.write(`DONE ${step}\n`);
  await runner.stop('scenario end');
  await store.close();
}

main().catch((err: Error) => {
  process.stderr.write(`crash-child: ${err.stack ?? err.message}\n`);
  process.exit(2);
});
