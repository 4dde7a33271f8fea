/**
 * A rule or option ft refuses before anything runs. `where` names the field (e.g. "match.sourcePorts[0]") so an
 * operator can find it in the policy or the planner's output.
 */
export class HostRuleError extends Error {
  constructor(
    readonly kind: string,
    readonly where: string,
    reason: string,
  ) {
    super(`${kind}: ${where}: ${reason}`);
    this.name = 'HostRuleError';
  }
}

/** A tool ft ran exited non-zero or could not be started; carries the argv and what it printed. */
export class HostCommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(
      `${argv.join(' ')} failed (${code === null ? 'not started' : `exit ${code}`}): ${stderr.trim().slice(0, 800) || 'no output'}`,
    );
    this.name = 'HostCommandError';
  }
}
