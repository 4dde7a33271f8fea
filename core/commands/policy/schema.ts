import { FtCommand } from '../../cli/command.js';

export default class PolicySchema extends FtCommand {
  static override summary = 'Print the JSON Schema of policy files (for editors: completion and validation).';
  static override description =
    'The same schema ft validates with, generated from its source; policies/policy.schema.json is this output. Add `# yaml-language-server: $schema=<path>/policy.schema.json` to a policy for completion in editors using the YAML language server.';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> policy schema > policies/policy.schema.json'];

  async run(): Promise<Record<string, unknown>> {
    await this.parse(PolicySchema);
    const { policyJsonSchema } = await import('../../policy/schema.js');
    const schema = policyJsonSchema();
    if (!this.jsonEnabled()) this.log(JSON.stringify(schema, null, 2));
    return schema;
  }
}
