import { Args } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import type { PolicyIssue } from '../../policy/errors.js';

export default class PolicyValidate extends FtCommand {
  static override summary = 'Check a policy file and report every problem with file:line:column.';
  static override description =
    "Validates the YAML, units (100Mbps, 50kpps, 5m, 90%), prefixes, references between sections, and each adapter's options against the schema its plugin declares. Exits 1 listing all problems at once; warnings (an adapter kind not installed here) do not fail.";
  static override enableJsonFlag = true;
  static override args = { file: Args.string({ description: 'Policy YAML file', required: true }) };
  static override examples = ['<%= config.bin %> policy validate policies/quickstart.yaml'];

  async run(): Promise<{
    file: string;
    valid: boolean;
    issues: PolicyIssue[];
    warnings: string[];
    error?: { code: string; message: string; where?: string };
  }> {
    const { args } = await this.parse(PolicyValidate);
    const { loadRegistry } = await import('../../plugin-host/load.js');
    const { loadPolicy, PolicyError, formatIssue } = await import('../../policy/index.js');
    const registry = await loadRegistry(this.config);
    // A plugin that failed to register explains why its kinds look "not installed".
    if (!this.jsonEnabled()) for (const f of registry.failures) this.logToStderr(`warning: ${f.message}`);
    try {
      const policy = await loadPolicy(args.file, registry);
      if (!this.jsonEnabled()) {
        for (const w of policy.warnings) this.logToStderr(`warning: ${w}`);
        this.log(
          `${args.file}: valid (tenant ${policy.tenant}, mode ${policy.mode}, ${policy.escalation.length} levels, ${policy.onNode.length} on-node rules, ${policy.speakers.size} speakers, ${policy.scrubbers.size} scrubbers, ${policy.filters.size} filters)`,
        );
      }
      return { file: args.file, valid: true, issues: [], warnings: policy.warnings };
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      process.exitCode = 1;
      if (!this.jsonEnabled()) {
        for (const issue of err.issues) this.logToStderr(formatIssue(issue));
        this.logToStderr(`${args.file}: ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}`);
      }
      // The issues are this command's result; `error` carries the same code every other command reports.
      const { cliError } = await import('../../cli/errors.js');
      const { code, message, where } = cliError(err).toJSON();
      return {
        file: args.file,
        valid: false,
        issues: err.issues,
        warnings: [],
        error: { code, message, ...(where ? { where } : {}) },
      };
    }
  }
}
