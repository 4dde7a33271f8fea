/**
 * Every error a user (or an API client) can meet, declared once: a stable code, a message template, the exit code
 * of a command that stops on it and the HTTP status the API answers with. In the style of fastify's
 * `createError('FST_ERR_…', message, statusCode)`: callers throw the class, users and tests match on the code,
 * never on the text. `docs/errors.md` is generated from this table (scripts/gen-errors-doc.mjs; a test fails when
 * it is stale), the CLI prints `{"error":{"code","message","where"}}` under `--json` with the same exit code as
 * without, and the REST API turns the same fields into problem-details bodies.
 *
 * Exit codes: 2 = the input is wrong (a flag, a file, its content): fix the command line; 1 = the operation
 * failed or found problems (an invalid policy, a speaker that refused, a locked state directory).
 */

export interface ErrorDefinition {
  readonly code: `FT_E_${string}`;
  /** Message template: `{name}` placeholders are filled from the error's params. */
  readonly template: string;
  readonly exitCode: 1 | 2;
  readonly httpStatus: number;
  /** What it means and what to do, for docs/errors.md. */
  readonly doc: string;
}

export type ErrorParams = Record<string, string | number>;

export interface FtErrorOptions {
  /** Where the problem is: a file, `file:line:column path`, a flag (`--now`), a rule id. */
  where?: string;
  /** Structured detail a client can use (e.g. every problem of a policy). */
  details?: unknown;
  cause?: unknown;
}

/** An error with a registered code. `instanceof` is avoided across plugins: check `isFtError`. */
export class FtError extends Error {
  readonly code: ErrorDefinition['code'];
  readonly exitCode: 1 | 2;
  readonly httpStatus: number;
  readonly where?: string;
  readonly details?: unknown;
  /** Marks the object for isFtError across copies of the sdk. */
  readonly ftError = true;

  constructor(def: ErrorDefinition, params: ErrorParams = {}, options: FtErrorOptions = {}) {
    super(fill(def.template, params), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FtError';
    this.code = def.code;
    this.exitCode = def.exitCode;
    this.httpStatus = def.httpStatus;
    if (options.where !== undefined) this.where = options.where;
    if (options.details !== undefined) this.details = options.details;
  }

  /** The `--json` and API body: code, message, where (and details when there are any). */
  toJSON(): { code: string; message: string; where?: string; details?: unknown } {
    return {
      code: this.code,
      message: this.message,
      ...(this.where !== undefined ? { where: this.where } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
    };
  }
}

export function isFtError(err: unknown): err is FtError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as FtError).ftError === true &&
    typeof (err as FtError).code === 'string'
  );
}

function fill(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (params[k] === undefined ? m : String(params[k])));
}

const registry = new Map<string, ErrorDefinition>();

/** Declares one code; the returned class is what code throws (`throw new PolicyInvalid({ count: 3 })`). */
export function defineError(
  code: ErrorDefinition['code'],
  template: string,
  o: { exitCode: 1 | 2; httpStatus: number; doc: string },
): { new (params?: ErrorParams, options?: FtErrorOptions): FtError; readonly definition: ErrorDefinition } {
  if (registry.has(code)) throw new Error(`error code ${code} is declared twice`);
  const def: ErrorDefinition = Object.freeze({ code, template, ...o });
  registry.set(code, def);
  return class extends FtError {
    static readonly definition = def;
    constructor(params?: ErrorParams, options?: FtErrorOptions) {
      super(def, params, options);
    }
  };
}

/** Every declared code, sorted: what docs/errors.md lists. */
export function errorDefinitions(): ErrorDefinition[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}

// ── The codes ────────────────────────────────────────────────────────────────────────────────────────────────

export const UsageError = defineError('FT_E_USAGE', '{message}', {
  exitCode: 2,
  httpStatus: 400,
  doc: 'A flag or argument is missing, unknown or malformed (e.g. `--now` that is not an ISO 8601 time). `ft <command> --help` lists them.',
});
export const FileUnreadable = defineError('FT_E_FILE_UNREADABLE', '{file}: {reason}', {
  exitCode: 2,
  httpStatus: 404,
  doc: 'A file named on the command line (policy, incident, `--active`, `--vrps`, a plan or rule) does not exist or cannot be read.',
});
export const JsonInvalid = defineError('FT_E_JSON_INVALID', '{file}: not valid JSON: {reason}', {
  exitCode: 2,
  httpStatus: 400,
  doc: 'A file or standard input that must hold JSON does not parse. The message gives the parser position.',
});
export const IncidentInvalid = defineError('FT_E_INCIDENT_INVALID', '{source}: {summary}', {
  exitCode: 2,
  httpStatus: 422,
  doc: 'An incident (JSON file, stdin or `--simulate`) is not a valid report: every problem is listed with its field.',
});
export const ActiveRulesInvalid = defineError('FT_E_ACTIVE_INVALID', '{source}: {summary}', {
  exitCode: 2,
  httpStatus: 422,
  doc: 'A `--active` list of rules is not valid: a rule lacks a field its kind needs, or its id does not match its content.',
});
export const PolicyInvalid = defineError('FT_E_POLICY_INVALID', '{file}: {count} problem(s) in the policy', {
  exitCode: 1,
  httpStatus: 422,
  doc: 'The policy has problems; each is listed as `file:line:column: path: what was expected` (`details` under `--json`). `ft policy validate FILE` shows them all.',
});
export const VrpsInvalid = defineError('FT_E_VRPS_INVALID', '{message}', {
  exitCode: 2,
  httpStatus: 422,
  doc: 'A VRP file (`--vrps`, `rpki check --file`) is not the rpki-client/stayrtr JSON format, or is unreadable.',
});
export const AddressInvalid = defineError('FT_E_ADDRESS_INVALID', '{message}', {
  exitCode: 2,
  httpStatus: 400,
  doc: 'An address, prefix, AS number or HOST:PORT given on the command line is not valid.',
});
export const StateLocked = defineError('FT_E_STATE_LOCKED', '{message}', {
  exitCode: 1,
  httpStatus: 409,
  doc: 'Another ft process holds the state directory (one writer per directory): stop it, use its control socket (`ft mitigate` talks to a running `ft run`), or give `--state-dir`.',
});
export const StateCorrupt = defineError('FT_E_STATE_CORRUPT', '{message}', {
  exitCode: 1,
  httpStatus: 500,
  doc: 'The embedded journal is damaged beyond its torn tail. Nothing is changed until `ft run --repair-state` (see docs/operations.md).',
});
export const FleetConfigInvalid = defineError('FT_E_FLEET_CONFIG', '{message}', {
  exitCode: 2,
  httpStatus: 400,
  doc: 'A fleet setting is wrong: the `--redis` URL, a POP or fleet name.',
});
export const FleetUnavailable = defineError('FT_E_FLEET_UNAVAILABLE', '{message}', {
  exitCode: 1,
  httpStatus: 503,
  doc: 'Redis (the fleet store and queues) could not be read or reached.',
});
export const ActionSetupFailed = defineError('FT_E_ACTION_SETUP', '{message}', {
  exitCode: 1,
  httpStatus: 500,
  doc: 'An action instance (speaker, scrubber, filter, on-node action) could not be created: its plugin is missing, its options or a credential are wrong.',
});
export const AlertSetupFailed = defineError('FT_E_ALERT_SETUP', '{message}', {
  exitCode: 1,
  httpStatus: 500,
  doc: 'An alert channel could not be created: its plugin is missing, its options are wrong or a credential is not set in the environment.',
});
export const RtrUnavailable = defineError('FT_E_RTR_UNAVAILABLE', '{message}', {
  exitCode: 1,
  httpStatus: 503,
  doc: 'No RTR cache delivered a complete VRP set in time (each cache is listed with its last error).',
});
export const CommandFailed = defineError('FT_E_FAILED', '{message}', {
  exitCode: 1,
  httpStatus: 500,
  doc: 'The command could not do what it was asked; the message says why.',
});
export const InternalError = defineError('FT_E_INTERNAL', 'internal error: {message}', {
  exitCode: 1,
  httpStatus: 500,
  doc: 'An unexpected error inside ft (a bug): please report it with the command line. `FT_DEBUG=1` prints the stack.',
});

// ── Any error, as a command reports it ──────────────────────────────────────────────────────────────────────

interface OclifLike {
  oclif?: { exit?: number };
  code?: unknown;
  path?: unknown;
  parse?: unknown;
}

/**
 * Any thrown value as an FtError: registered errors as they are; the CLI framework's own errors (an unknown flag, a
 * missing argument, `this.error(msg, { exit })`) by their exit code; a file the system could not open as
 * FT_E_FILE_UNREADABLE; anything else is FT_E_INTERNAL (a bug). Hosts map their own error classes first.
 */
export function toFtError(err: unknown): FtError {
  if (isFtError(err)) return err;
  const e = err as Error & OclifLike;
  const message = e instanceof Error ? e.message : String(err);
  if (e && typeof e === 'object' && typeof e.oclif?.exit === 'number')
    return e.oclif.exit === 2 || e.parse !== undefined ? new UsageError({ message }) : new CommandFailed({ message });
  if (
    e &&
    typeof e === 'object' &&
    typeof e.path === 'string' &&
    typeof e.code === 'string' &&
    /^E[A-Z]+$/.test(e.code)
  )
    return new FileUnreadable(
      {
        file: e.path,
        reason: e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : message,
      },
      { where: e.path },
    );
  return new InternalError({ message }, { cause: err });
}

/** True for the framework's "exit now with this code" signal (not an error to report). */
export function isExitSignal(err: unknown): boolean {
  return (err as OclifLike)?.code === 'EEXIT';
}

/** What a command prints for an error: one JSON document on stdout, or lines on stderr; and its exit code. */
export function renderCommandError(
  err: FtError,
  options: { json: boolean; formatDetail?: (d: unknown) => string | undefined; debug?: boolean },
): { exitCode: 1 | 2; json?: { error: ReturnType<FtError['toJSON']> }; lines?: string[] } {
  if (options.json) return { exitCode: err.exitCode, json: { error: err.toJSON() } };
  const lines: string[] = [];
  if (Array.isArray(err.details) && options.formatDetail)
    for (const d of err.details) {
      const line = options.formatDetail(d);
      if (line) lines.push(line);
    }
  const where = err.where !== undefined && !err.message.includes(err.where) ? ` (at ${err.where})` : '';
  lines.push(`Error ${err.code}: ${err.message}${where}`);
  if (options.debug && err.cause instanceof Error && err.cause.stack) lines.push(err.cause.stack);
  return { exitCode: err.exitCode, lines };
}

/**
 * An oclif command's `catch`: prints the error as renderCommandError says and sets the exit code, the same with and
 * without `--json`. Every ft command (core's and plugins') overrides `catch` with this:
 * `override async catch(err: Error) { return reportCommandError(this, err); }`.
 */
export async function reportCommandError(
  cmd: { jsonEnabled(): boolean },
  err: unknown,
  options: { map?: (err: unknown) => FtError; formatDetail?: (d: unknown) => string | undefined } = {},
): Promise<void> {
  if (isExitSignal(err)) throw err;
  const e = (options.map ?? toFtError)(err);
  const out = renderCommandError(e, {
    json: cmd.jsonEnabled(),
    ...(options.formatDetail ? { formatDetail: options.formatDetail } : {}),
    debug: Boolean(process.env.FT_DEBUG),
  });
  process.exitCode = out.exitCode;
  if (out.json) process.stdout.write(`${JSON.stringify(out.json, null, 2)}\n`);
  else for (const line of out.lines ?? []) process.stderr.write(`${line}\n`);
}
