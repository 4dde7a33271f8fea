import { Args, Command, Flags } from '@oclif/core';
import { reportCommandError } from '@ft/sdk';

export default class PcapAnalyze extends Command {
  // Errors as registered FT_E_ codes, one exit code with and without --json (docs/errors.md).
  override async catch(err: Error): Promise<void> {
    return reportCommandError(this, err);
  }

  static override summary =
    'Analyse any pcap/pcapng: breakdowns, top talkers, TTL spoofing verdict, botnet signatures, IOCs.';
  static override description =
    "Works on any capture the operator has (no root needed). Pre-attack packets teach the hop-count table the spoofing verdict compares with: ft's own incident captures say in their section comment when the attack started and at which target; for other files give --attack-start (and --target to judge only packets to it). A malformed or truncated file is an error naming the byte offset (exit 2); --partial reads a file still being written up to its last whole record.";
  static override enableJsonFlag = true;
  static override args = { file: Args.string({ required: true, description: 'pcap or pcapng file' }) };
  static override flags = {
    target: Flags.string({ summary: 'Only packets to this address or prefix are the attack.' }),
    'attack-start': Flags.string({
      summary: 'ISO time (or epoch seconds) the attack began: packets before it are pre-attack (the learning set).',
    }),
    ioc: Flags.string({ summary: "IOC file (YAML/JSON, the pcap detector's format) to match against." }),
    top: Flags.integer({ min: 1, max: 1000, default: 10, summary: 'Length of the top lists.' }),
    sources: Flags.integer({ min: 0, max: 100_000, default: 50, summary: 'Judged sources listed (all are counted).' }),
    partial: Flags.boolean({ default: false, summary: 'Stop at an incomplete last record instead of failing.' }),
  };
  static override examples = [
    '<%= config.bin %> pcap analyze attack.pcapng',
    '<%= config.bin %> pcap analyze edge.pcap --target 203.0.113.10 --attack-start 2026-12-07T10:00:00Z --ioc ioc.yaml --json',
  ];

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(PcapAnalyze);
    const { readFile } = await import('node:fs/promises');
    const { Prefix } = await import('@ft/sdk');
    const { analyzeCapture } = await import('../../analyze/analyze.js');
    const { CaptureError } = await import('../../format/read.js');
    const fail = (code: string, message: string): never => this.error(`${code}: ${message}`, { exit: 2, code });
    let buf: Buffer;
    try {
      buf = await readFile(args.file);
    } catch (err) {
      return fail(
        'FT_E_FILE',
        `cannot read ${args.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    let target;
    if (flags.target) {
      try {
        target = Prefix.parse(flags.target);
      } catch (err) {
        return fail('FT_E_USAGE', `--target: ${(err as Error).message}`);
      }
    }
    let attackStart: number | undefined;
    if (flags['attack-start']) {
      const t = flags['attack-start'];
      attackStart = /^\d+(\.\d+)?$/.test(t) ? Number(t) * 1000 : Date.parse(t);
      if (!Number.isFinite(attackStart))
        return fail('FT_E_USAGE', `--attack-start: "${t}" is not an ISO time or epoch seconds`);
    }
    let matcher;
    if (flags.ioc) {
      const { IocMatcher } = await import('../../ioc/matcher.js');
      const { parseIocFile, IocFileError } = await import('../../ioc/file.js');
      matcher = new IocMatcher();
      try {
        matcher.set(`file:${flags.ioc}`, parseIocFile(await readFile(flags.ioc, 'utf8'), flags.ioc));
      } catch (err) {
        if (err instanceof IocFileError) return fail(err.code, err.message);
        return fail(
          'FT_E_FILE',
          `cannot read ${flags.ioc}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    }
    let analysis;
    try {
      analysis = analyzeCapture(buf, {
        top: flags.top,
        listSources: flags.sources,
        partialTail: flags.partial,
        ...(target ? { target } : {}),
        ...(attackStart !== undefined ? { attackStart } : {}),
        ...(matcher ? { matcher } : {}),
      });
    } catch (err) {
      if (err instanceof CaptureError) return fail(err.code, `${args.file}: ${err.message}`);
      throw err;
    }
    if (!this.jsonEnabled()) {
      const { renderAnalysis } = await import('../../cli/render.js');
      for (const line of renderAnalysis(analysis)) this.log(line);
    }
    return { file: args.file, ...analysis };
  }
}
