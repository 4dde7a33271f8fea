import { FtCommand } from '../../cli/command.js';
import { runLab } from './up.js';

export default class LabDown extends FtCommand {
  static override summary = 'Remove every namespace, daemon and file of the namespace lab, also after a crashed run.';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> lab down'];

  async run(): Promise<Record<string, unknown>> {
    await this.parse(LabDown);
    const { code, result } = await runLab(this.config.root, ['down']);
    if (code !== 0 || !result) this.error('lab down failed (see the messages above)', { exit: 1 });
    if (!this.jsonEnabled()) {
      const removed = result.removed as string[];
      this.log(removed.length ? `removed ${removed.join(', ')}` : 'no lab namespaces were present');
    }
    return result;
  }
}
