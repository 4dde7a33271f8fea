import { Args, Command } from '@oclif/core';
import { reportCommandError } from '@ft/sdk';
import { dirFlags } from '../../cli/dir.js';

export default class PcapShow extends Command {
  // Errors as registered FT_E_ codes, one exit code with and without --json (docs/errors.md).
  override async catch(err: Error): Promise<void> {
    return reportCommandError(this, err);
  }

  static override summary = "One incident's capture: what was captured, the file, the verdicts.";
  static override description =
    'The record the pcap detector keeps beside each capture: target, interfaces, BPF filter, state, packets before and during the attack, the file and its SHA-256, and the analysis (spoofing, botnet signatures, IOC matches). Exits 2 when there is no capture for the id.';
  static override enableJsonFlag = true;
  static override args = { id: Args.string({ required: true, description: 'incident id' }) };
  static override flags = { ...dirFlags };
  static override examples = ['sudo <%= config.bin %> pcap show inc-mb3k2x1a-1f2e3d4c --json'];

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(PcapShow);
    const { captureDirFrom } = await import('../../cli/dir.js');
    const { CaptureStore } = await import('../../capture/store.js');
    const dir = await captureDirFrom(flags);
    const record = await new CaptureStore(dir).read(args.id);
    if (!record)
      this.error(`FT_E_PCAP_NOT_FOUND: no capture for ${args.id} in ${dir}`, { exit: 2, code: 'FT_E_PCAP_NOT_FOUND' });
    if (!this.jsonEnabled()) {
      const { renderRecord } = await import('../../cli/render.js');
      for (const line of renderRecord(record)) this.log(line);
    }
    return record;
  }
}
