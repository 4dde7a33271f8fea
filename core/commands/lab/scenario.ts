import { Args, Command } from '@oclif/core';
import { runLab } from './up.js';

export default class LabScenario extends Command {
  static override summary = 'Run a lab scenario against the running lab and check its expected outcome.';
  static override description =
    'udp-amplification: a bounded UDP flood from source port 53 at 203.0.113.10; ft announces a FlowSpec discard ' +
    "through ctl's gobgpd; edge-linux's enforcer must drop the flood within 2 s while HTTP to .10 and .11 still " +
    'answers; after the TTL (FT_LAB_TTL seconds, default 3) the rule is withdrawn and traffic passes again. Exit 1 when an expectation fails.';
  static override enableJsonFlag = true;
  static override args = { name: Args.string({ required: true, options: ['udp-amplification'], description: 'scenario name' }) };
  static override examples = ['<%= config.bin %> lab scenario udp-amplification'];

  async run(): Promise<Record<string, unknown>> {
    const { args } = await this.parse(LabScenario);
    const { code, result } = await runLab(this.config.root, ['scenario', args.name]);
    if (!result) this.error(`scenario ${args.name} could not run (see the messages above)`, { exit: 2 });
    if (!this.jsonEnabled()) this.log(result.ok ? `scenario ${args.name}: every expectation held` : `scenario ${args.name}: FAILED`);
    if (code !== 0) process.exitCode = 1;
    return result;
  }
}
