import { Args, Command, Flags } from '@oclif/core';
import { reportCommandError } from '@ft/sdk';
import { dirFlags } from '../../cli/dir.js';

export default class PcapExport extends Command {
  // Errors as registered FT_E_ codes, one exit code with and without --json (docs/errors.md).
  override async catch(err: Error): Promise<void> {
    return reportCommandError(this, err);
  }

  static override summary = "Copy an incident's capture out of ft's directory (pcapng, or classic pcap).";
  static override description =
    "Writes the finished capture of the incident to FILE, 0600 (a capture holds other people's packets: hand it on deliberately). --format pcap converts with editcap for tools and upload endpoints that take classic pcap only (the section comment with the incident id is then lost). Refuses to overwrite FILE without --force. Exits 2 when the capture is not finished or does not exist.";
  static override enableJsonFlag = true;
  static override args = {
    id: Args.string({ required: true, description: 'incident id' }),
    file: Args.string({ required: true, description: 'where to write it' }),
  };
  static override flags = {
    ...dirFlags,
    format: Flags.string({ options: ['pcapng', 'pcap'], default: 'pcapng', summary: 'File format written.' }),
    force: Flags.boolean({ default: false, summary: 'Overwrite FILE if it exists.' }),
  };
  static override examples = [
    'sudo <%= config.bin %> pcap export inc-mb3k2x1a-1f2e3d4c /root/inc.pcapng',
    'sudo <%= config.bin %> pcap export inc-mb3k2x1a-1f2e3d4c /root/inc.pcap --format pcap',
  ];

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(PcapExport);
    const { captureDirFrom } = await import('../../cli/dir.js');
    const { CaptureStore } = await import('../../capture/store.js');
    const { copyFile, constants, chmod, unlink } = await import('node:fs/promises');
    const dir = await captureDirFrom(flags);
    const store = new CaptureStore(dir);
    const done = await store.finished(args.id);
    if (!done) {
      const r = await store.read(args.id);
      this.error(
        r
          ? `FT_E_PCAP_NOT_READY: the capture of ${args.id} is ${r.state}${r.reason ? ` (${r.reason})` : ''}: nothing to export yet`
          : `FT_E_PCAP_NOT_FOUND: no capture for ${args.id} in ${dir}`,
        { exit: 2, code: r ? 'FT_E_PCAP_NOT_READY' : 'FT_E_PCAP_NOT_FOUND' },
      );
    }
    const { existsSync } = await import('node:fs');
    if (existsSync(args.file) && !flags.force)
      this.error(`FT_E_EXISTS: ${args.file} exists (use --force to overwrite)`, { exit: 2, code: 'FT_E_EXISTS' });
    try {
      if (flags.format === 'pcap') {
        const { execFile } = await import('node:child_process');
        const { promisify } = await import('node:util');
        const { toPcapArgv } = await import('../../capture/argv.js');
        if (flags.force) await unlink(args.file).catch(() => undefined);
        const argv = toPcapArgv(done.file, args.file);
        await promisify(execFile)(argv[0]!, argv.slice(1), { timeout: 120_000 });
      } else {
        await copyFile(done.file, args.file, flags.force ? 0 : constants.COPYFILE_EXCL);
      }
      await chmod(args.file, 0o600);
    } catch (err) {
      this.error(`cannot write ${args.file}: ${(err as Error).message}`, { exit: 1 });
    }
    if (!this.jsonEnabled())
      this.log(
        `${args.file}: ${done.record.packets ? done.record.packets.pre_attack + done.record.packets.attack : '?'} packets (${flags.format})`,
      );
    return { id: args.id, file: args.file, format: flags.format, source: done.file, sha256: done.sha256 };
  }
}
