/**
 * `ft doctor`: a list of checks, each producing one line per finding. Other parts of ft add their own checks
 * (speakers reachable, RTR cache synced, policy valid) by appending a DoctorCheck to `doctorChecks` in checks.ts.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id for scripts ("tool.nft", "kernel.xdp"). */
  id: string;
  status: CheckStatus;
  /** One line an operator reads. */
  summary: string;
  /** What to do about it, when there is something to do. */
  hint?: string;
}

export interface DoctorOptions {
  /** Run the kernel probes inside a throwaway network namespace (root only). */
  probe: boolean;
  /** Policy file, for checks that need one (none of the host checks do). */
  policyPath?: string;
  /** The oclif config of the running ft: the policy checks load the installed plugins through it. */
  config?: unknown;
  /** ft's package root (bin/, package.json): the runtime check reads the Node floor there. */
  root?: string;
}

export interface DoctorCheck {
  /** Group shown before each line ("host", "kernel", "firewall"). */
  group: string;
  run(options: DoctorOptions): Promise<CheckResult[]>;
}

export interface DoctorReport {
  ok: boolean;
  checks: (CheckResult & { group: string })[];
}
