import { bpffsCheck, managersCheck, sysctlCheck, toolsCheck } from './host.js';
import { policyCheck, rtrCheck, speakersCheck } from './policy.js';
import { kernelProbeCheck } from './probe.js';
import { runtimeCheck } from './runtime.js';
import type { DoctorCheck, DoctorOptions, DoctorReport } from './types.js';

/**
 * Every check `ft doctor` runs, in order. To add one (BGP speakers reachable, RTR cache synced, policy valid),
 * write a DoctorCheck in its own module here and append it.
 */
export const doctorChecks: DoctorCheck[] = [
  runtimeCheck,
  toolsCheck,
  managersCheck,
  bpffsCheck,
  sysctlCheck,
  kernelProbeCheck,
  policyCheck,
  speakersCheck,
  rtrCheck,
];

export async function runDoctor(options: DoctorOptions, checks: DoctorCheck[] = doctorChecks): Promise<DoctorReport> {
  const out: DoctorReport['checks'] = [];
  for (const check of checks) {
    try {
      for (const r of await check.run(options)) out.push({ group: check.group, ...r });
    } catch (err) {
      out.push({
        group: check.group,
        id: `${check.group}.error`,
        status: 'fail',
        summary: `check failed to run: ${(err as Error).message}`,
      });
    }
  }
  return { ok: out.every((c) => c.status !== 'fail'), checks: out };
}

export type { CheckResult, CheckStatus, DoctorCheck, DoctorOptions, DoctorReport } from './types.js';
