import { Args, Command } from '@oclif/core';
import type { ExplainedTarget } from '../../policy/explain.js';
import type { ExplainedChannel } from '../../policy/alerts.js';

export default class PolicyExplain extends Command {
  static override summary = 'Say in words what a policy does at each level for each protected prefix and target.';
  static override description =
    'A human summary of a validated policy: triggers, actions, where each goes, caps, TTL, cooldown, RPKI and rails, and which alert channel hears what.';
  static override enableJsonFlag = true;
  static override args = { file: Args.string({ description: 'Policy YAML file', required: true }) };
  static override examples = ['<%= config.bin %> policy explain policies/examples/game-host.yaml'];

  async run(): Promise<{ file: string; targets: ExplainedTarget[]; alerts: ExplainedChannel[] }> {
    const { args } = await this.parse(PolicyExplain);
    const { loadRegistry } = await import('../../plugin-host/load.js');
    const { loadPolicy, PolicyError, formatIssue, explainPolicy } = await import('../../policy/index.js');
    const registry = await loadRegistry(this.config);
    try {
      const policy = await loadPolicy(args.file, registry);
      const e = explainPolicy(policy);
      if (!this.jsonEnabled()) this.log(e.text);
      return { file: args.file, targets: e.targets, alerts: e.alerts };
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      for (const issue of err.issues) this.logToStderr(formatIssue(issue));
      this.error(`${args.file}: ${err.issues.length} problem(s); fix them first (ft policy validate lists them)`, {
        exit: 1,
      });
    }
  }
}
