import type { ExecLogger } from '../exec/executor.js';

/**
 * SIGTERM/SIGINT stop the runner the policy's way (onShutdown), then `done` runs (close the store, exit). A second
 * signal while stopping is logged and ignored: interrupting a withdrawal would leave announcements behind.
 */
export function stopOnSignals(
  stop: (signal: string) => Promise<{ complete: boolean } | void>,
  logger: ExecLogger,
  done: (code: number) => void,
): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(
        { signal },
        'already stopping (withdrawing rules); send SIGKILL to abandon them (the next start reconciles)',
      );
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    stop(signal).then(
      (report) => done(report && !report.complete ? 1 : 0),
      (err: Error) => {
        logger.error({ err: err.message }, 'stop failed');
        done(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
