import { Args } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import type { ExplainedTarget } from '../../policy/explain.js';
import type { ExplainedChannel } from '../../policy/alerts.js';

export default class PolicyExplain extends FtCommand {
  static override summary = 'Say in words what a policy does at each level for each protected prefix and target.';
  static override description =
    'A human summary of a validated policy: triggers, actions, where each goes, caps, TTL, cooldown, RPKI and rails, and which alert channel hears what.';
  static override enableJsonFlag = true;
  static override args = { file: Args.string({ description: 'Policy YAML file', required: true }) };
  static override examples = ['<%= config.bin %> policy explain policies/examples/game-host.yaml'];

  async run(): Promise<{ file: string; targets: ExplainedTarget[]; alerts: ExplainedChannel[] }> {
    const { args } = await this.parse(PolicyExplain);
    const { loadRegistry } = await import('../../plugin-host/load.js');
    const { loadPolicy, explainPolicy } = await import('../../policy/index.js');
    const registry = await loadRegistry(this.config);
    // An invalid policy is FT_E_POLICY_INVALID, every problem listed (FtCommand).
    const policy = await loadPolicy(args.file, registry);
    const e = explainPolicy(policy);
    if (!this.jsonEnabled()) this.log(e.text);
    return { file: args.file, targets: e.targets, alerts: e.alerts };
  }
}
