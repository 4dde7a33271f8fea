import { Args, Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import type { ExecReport } from '../../exec/executor.js';

export default class MitigateWithdraw extends FtCommand {
  static override summary = 'Withdraw live rules by id, or all of them.';
  static override description =
    'Withdrawn from every action that carries them, recorded in the audit trail. When `ft run` owns the state directory it does the ' +
    'work; otherwise pass --policy so ft can reach the actions itself. A rule that is not live is reported, not an error.';
  static override enableJsonFlag = true;
  static override strict = false;
  static override args = { id: Args.string({ description: 'Rule id(s) as `ft mitigate list` shows them.' }) };
  static override flags = {
    all: Flags.boolean({ summary: 'Withdraw every live rule.', default: false }),
    forget: Flags.boolean({
      summary:
        'Drop the rules from the store without touching any action (the action is gone for good and you cleaned up by hand).',
      default: false,
      exclusive: ['all'],
    }),
    policy: Flags.string({ char: 'p', summary: 'Policy YAML file (needed when no ft run is running).' }),
    'state-dir': Flags.string({ summary: 'Rule store directory (default: as `ft run`).' }),
  };
  static override examples = [
    '<%= config.bin %> mitigate withdraw fs-1a2b3c4d5e6f7a8b',
    '<%= config.bin %> mitigate withdraw --all --json',
  ];

  async run(): Promise<{ through: string; report: ExecReport }> {
    const { argv, flags } = await this.parse(MitigateWithdraw);
    const { isRuleId } = await import('@ft/sdk');
    const { createLogger } = await import('../../log/logger.js');
    const { defaultStateDir } = await import('../../state/state-dir.js');
    const { executeRequest, operator } = await import('../../run/manual.js');
    const ids = argv as string[];
    if (flags.all === ids.length > 0) this.error('give rule ids or --all (one of them)', { exit: 2 });
    const bad = ids.filter((id) => !isRuleId(id));
    if (bad.length > 0)
      this.error(`not rule ids: ${bad.join(', ')} (expected e.g. fs-1a2b3c4d5e6f7a8b; see \`ft mitigate list\`)`, {
        exit: 2,
      });
    const logger = await createLogger({ level: process.env.FT_LOG_LEVEL ?? 'warn' });
    const stateDir = flags['state-dir'] ?? defaultStateDir();
    const plannedBy = operator();
    const request = flags.all
      ? { op: 'withdraw-all' as const, plannedBy }
      : flags.forget
        ? { op: 'forget' as const, ids, plannedBy }
        : { op: 'withdraw' as const, ids, plannedBy };
    const { through, report } = await executeRequest(
      { config: this.config, stateDir, logger, ...(flags.policy ? { policyFile: flags.policy } : {}) },
      request,
    ).catch((err: Error) => this.error(err.message, { exit: 1 }));
    if (!this.jsonEnabled()) {
      if (report.ops.length === 0) this.log('No live rules.');
      for (const op of report.ops) {
        this.log(
          `${op.message === 'not live' ? 'NOT LIVE' : op.message === 'forgotten' ? 'FORGOTTEN' : op.outcome.toUpperCase().padEnd(8)} ${op.ruleId}${op.results
            .filter((r) => r.outcome !== 'ok')
            .map((r) => ` [${r.adapter}: ${r.error ?? r.outcome}; will retry]`)
            .join('')}`,
        );
      }
    }
    if (report.ops.some((o) => o.outcome !== 'ok')) process.exitCode = 1;
    return { through, report };
  }
}
