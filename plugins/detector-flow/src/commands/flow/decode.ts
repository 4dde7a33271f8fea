import { Args, Command, Flags } from '@oclif/core';
import { reportCommandError } from '@ft/sdk';
import { once } from 'node:events';

export default class FlowDecode extends Command {
  // Errors as registered FT_E_ codes, one exit code with and without --json (docs/errors.md).
  override async catch(err: Error): Promise<void> {
    return reportCommandError(this, err);
  }

  static override summary = 'Decode sFlow v5, NetFlow v5/v9 or IPFIX datagrams from a capture or raw datagram files.';
  static override description =
    'Reads pcap/pcapng captures of exported datagrams (e.g. `tcpdump -w export.pcap udp port 2055`) or files holding one raw datagram each, and decodes them as the collector would: one template cache for all files in order, so templates seen first decode data seen later. A malformed datagram is reported with the byte offset and reason; the rest still decode. Exits 1 when any datagram failed to decode.';
  static override enableJsonFlag = true;
  static override strict = false;
  static override args = {
    file: Args.string({ required: true, description: 'capture (pcap/pcapng) or raw datagram file; several allowed' }),
  };
  static override flags = {
    protocol: Flags.string({
      options: ['auto', 'sflow', 'netflow', 'netflow5', 'netflow9', 'ipfix'],
      default: 'auto',
      description: 'force a format instead of detecting it per datagram',
    }),
    port: Flags.integer({ min: 1, max: 65535, description: 'only datagrams sent to this UDP port (captures)' }),
    exporter: Flags.string({
      default: 'file',
      description: 'exporter name for raw datagram files (templates are kept per exporter)',
    }),
    sampling: Flags.integer({
      min: 1,
      default: 1,
      description: 'sampling rate for records whose exporter does not state one',
    }),
    summary: Flags.boolean({
      description: 'print only per-datagram lines and per-destination totals, not every record',
    }),
  };
  static override examples = [
    '<%= config.bin %> flow decode export.pcap',
    '<%= config.bin %> flow decode export.pcap --port 2055 --json',
    '<%= config.bin %> flow decode datagram1.bin datagram2.bin --exporter 192.0.2.1',
  ];

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(FlowDecode);
    const { decodeFiles, DecodeFileError, renderEntry, renderSummary } = await import('../../cli/decode-file.js');
    const { tableLines } = await import('../../cli/table.js');
    // Written as it is decoded, and held back while stdout is full: a capture of any size takes flat memory.
    const out = (text: string): Promise<unknown> | undefined =>
      process.stdout.write(`${text}\n`) ? undefined : once(process.stdout, 'drain');
    const json = this.jsonEnabled();
    const showRecords = !flags.summary;
    let first = true;
    if (json) await out('{"datagrams": [');
    let report;
    try {
      report = await decodeFiles(
        argv as string[],
        {
          protocol: flags.protocol as never,
          port: flags.port,
          exporter: flags.exporter,
          defaultSamplingRate: flags.sampling,
        },
        (entry) => {
          if (json) {
            const { records, ...rest } = entry;
            const text = JSON.stringify(showRecords && records !== undefined ? { ...rest, records } : rest);
            const comma = first ? '' : ',';
            first = false;
            return out(`${comma}${text}`);
          }
          let wait: Promise<unknown> | undefined;
          for (const line of renderEntry(entry, showRecords)) wait = out(line) ?? wait;
          return wait;
        },
      );
    } catch (err) {
      if (err instanceof DecodeFileError) this.error(err.message, { exit: 2 });
      throw err;
    }
    if (json) {
      await out(`], "files": ${JSON.stringify(report.files)}, "summary": ${JSON.stringify(report.summary)}}`);
    } else {
      await out(renderSummary(report));
      if (report.summary.byDestination.length > 0) {
        await out('');
        const rows = report.summary.byDestination.map((t) => [
          t.destination,
          String(t.packets),
          String(t.bytes),
          String(t.scaledPackets),
          String(t.scaledBytes),
        ]);
        for (const line of tableLines(['DESTINATION', 'PACKETS', 'BYTES', 'SCALED PACKETS', 'SCALED BYTES'], rows))
          await out(line);
      }
    }
    if (report.summary.errors > 0) process.exitCode = 1;
  }
}
