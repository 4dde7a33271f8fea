import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { REDACTED, SECRET_BINDING_KEYS, redactDeep } from './redact.js';

const BINDING_REDACT_PATHS = SECRET_BINDING_KEYS.flatMap((k) => [k, `*.${k}`]);

export type { Logger } from 'pino';

export interface LoggerSetup {
  /** Where JSON lines go; default stderr (stdout carries command results). Tests pass a capturing stream. */
  destination?: DestinationStream;
  level?: string;
  /** Human-readable output; default: only when stderr is a TTY and no destination was given. */
  pretty?: boolean;
  name?: string;
}

function baseOptions(setup: LoggerSetup): LoggerOptions {
  return {
    name: setup.name ?? 'ft',
    level: setup.level ?? process.env.FT_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      // Every log object and every child binding goes through the deep redactor: secrets at any depth.
      log: (object) => redactDeep(object) as Record<string, unknown>,
      bindings: (bindings) => redactDeep(bindings) as Record<string, unknown>,
    },
    serializers: { err: (e: unknown) => redactDeep(e) },
    // Child-logger bindings skip formatters.bindings in pino, but do pass through redact paths.
    redact: { paths: BINDING_REDACT_PATHS, censor: REDACTED },
    hooks: {
      // A message string is the caller's text; mask URL credentials there too (redis://:pw@host).
      logMethod(args, method) {
        const masked = args.map((a) => (typeof a === 'string' ? (redactDeep(a) as string) : a));
        method.apply(this, masked as Parameters<typeof method>);
      },
    },
  };
}

export async function createLogger(setup: LoggerSetup = {}): Promise<Logger> {
  const pretty = setup.pretty ?? (setup.destination === undefined && process.stderr.isTTY === true);
  if (pretty) {
    // In-process (no worker thread): a CLI that exits right after logging must not lose lines.
    const { default: prettyFactory } = await import('pino-pretty');
    return pino(baseOptions(setup), prettyFactory({ destination: 2, sync: true, colorize: true }));
  }
  return pino(baseOptions(setup), setup.destination ?? pino.destination({ dest: 2, sync: true }));
}

/** Synchronous JSON logger for library code and tests that have no async setup step. */
export function createJsonLogger(setup: LoggerSetup = {}): Logger {
  return pino(baseOptions(setup), setup.destination ?? pino.destination({ dest: 2, sync: true }));
}
