import { Command } from '@oclif/core';
import { reportCommandError } from '@ft/sdk';
import { dirFlags } from '../../cli/dir.js';

export default class PcapList extends Command {
  // Errors as registered FT_E_ codes, one exit code with and without --json (docs/errors.md).
  override async catch(err: Error): Promise<void> {
    return reportCommandError(this, err);
  }

  static override summary = "List ft's incident captures: state, target, packets, size.";
  static override description =
    'Reads the capture directory of the pcap detector (0700, root-owned when ft runs as root). One line per incident capture, oldest first; --json prints the records.';
  static override enableJsonFlag = true;
  static override flags = { ...dirFlags };
  static override examples = ['sudo <%= config.bin %> pcap list', 'sudo <%= config.bin %> pcap list --json'];

  async run(): Promise<unknown> {
    const { flags } = await this.parse(PcapList);
    const { captureDirFrom } = await import('../../cli/dir.js');
    const { CaptureStore } = await import('../../capture/store.js');
    const dir = await captureDirFrom(flags);
    const records = await new CaptureStore(dir).list();
    if (!this.jsonEnabled()) {
      if (records.length === 0) this.log(`no captures in ${dir}`);
      else {
        const { table } = await import('../../cli/render.js');
        this.log(
          table(
            ['ID', 'STATE', 'TARGET', 'STARTED', 'PACKETS', 'BYTES', 'SPOOFED', 'BOTNET'],
            records.map((r) => [
              r.id,
              r.state,
              r.target,
              r.attack_start,
              r.packets ? String(r.packets.pre_attack + r.packets.attack) : '-',
              r.bytes !== undefined ? String(r.bytes) : '-',
              r.summary ? String(r.summary.spoofing_detected) : '-',
              r.summary ? String(r.summary.botnet_detected) : '-',
            ]),
          ),
        );
      }
    }
    return { dir, captures: records };
  }
}
