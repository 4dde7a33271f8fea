import { FtCommand } from '../../cli/command.js';
import { runLab } from './up.js';

export default class LabStatus extends FtCommand {
  static override summary = "Show whether the namespace lab is up, its namespaces and the API of ft's speaker.";
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> lab status --json'];

  async run(): Promise<Record<string, unknown>> {
    await this.parse(LabStatus);
    const { code, result } = await runLab(this.config.root, ['status']);
    if (code !== 0 || !result) this.error('lab status failed (see the messages above)', { exit: 1 });
    if (!this.jsonEnabled()) {
      this.log(
        result.up
          ? `lab is up: ${(result.namespaces as string[]).join(', ')}; ft's speaker: ${String(result.ctlApi)}`
          : 'lab is down',
      );
    }
    return result;
  }
}
