import { Command, Flags } from '@oclif/core';
import { reportCommandError } from '@ft/sdk';
import type { Sample } from '@ft/sdk';

const MAX_KEPT_WINDOWS = 3600;

export default class FlowListen extends Command {
  // Errors as registered FT_E_ codes, one exit code with and without --json (docs/errors.md).
  override async catch(err: Error): Promise<void> {
    return reportCommandError(this, err);
  }

  static override summary = 'Listen for sFlow, NetFlow and IPFIX and show per-target traffic live.';
  static override description =
    'Opens the collector as `ft run` would (same decoders, same aggregation) and prints, every window, the targets by bit rate with their protocol mix, distinct sources, top source and top destination port, then one line per exporter (loss from sequence gaps, template misses, sampling rate). Without --listen it uses the reference ports 6343, 2055 and 4739 on every IPv4 and IPv6 address. --json prints every window and the exporter health at the end (use --duration); --ndjson prints one JSON line per window as it closes.';
  static override enableJsonFlag = true;
  static override flags = {
    listen: Flags.string({
      multiple: true,
      description:
        'socket as [protocol@]address:port (protocol auto|sflow|netflow|ipfix), e.g. auto@0.0.0.0:2055 or [::]:6343',
    }),
    allow: Flags.string({
      multiple: true,
      description: 'allowed exporter address or prefix (others are dropped and counted)',
    }),
    mirror: Flags.string({ multiple: true, description: 'copy every datagram to address:port, byte for byte' }),
    protect: Flags.string({
      multiple: true,
      description: 'protected prefix: only destinations inside count, plus one row per prefix',
    }),
    sampling: Flags.integer({ min: 1, default: 1, description: 'sampling rate for exporters that do not state one' }),
    'window-ms': Flags.integer({ min: 100, max: 60000, default: 1000, description: 'window length' }),
    duration: Flags.integer({ min: 0, default: 0, description: 'stop after this many seconds (0: until Ctrl-C)' }),
    workers: Flags.string({
      default: 'auto',
      description:
        'receive workers, each with its own SO_REUSEPORT socket (auto: one per core, one core left; 0: receive on the main thread)',
    }),
    'receive-buffer': Flags.integer({
      min: 65536,
      default: 32 << 20,
      description: 'UDP receive buffer in bytes (capped by net.core.rmem_max)',
    }),
    rows: Flags.integer({ min: 1, default: 20, description: 'targets shown per window' }),
    ndjson: Flags.boolean({ description: 'one JSON line per window instead of the table' }),
  };
  static override examples = [
    '<%= config.bin %> flow listen',
    '<%= config.bin %> flow listen --listen auto@0.0.0.0:2055 --protect 203.0.113.0/24 --sampling 1000',
    '<%= config.bin %> flow listen --listen 127.0.0.1:9995 --duration 10 --json',
  ];

  async run(): Promise<unknown> {
    const { flags } = await this.parse(FlowListen);
    const { parseEndpoint, renderWindow } = await import('../../cli/listen-view.js');
    const { flowConfigSchema } = await import('../../config.js');
    const { FlowDetector } = await import('../../detector.js');
    let config;
    try {
      const raw = {
        ...(flags.listen
          ? { listeners: flags.listen.map((l) => ({ protocol: 'auto', ...parseEndpoint(l, true) })) }
          : {}),
        allowedExporters: flags.allow ?? [],
        mirror: (flags.mirror ?? []).map((m) => parseEndpoint(m, false)),
        protect: flags.protect ?? [],
        sampling: { default: flags.sampling, exporters: {} },
        windowMs: flags['window-ms'],
        workers: /^\d+$/.test(flags.workers) ? Number(flags.workers) : flags.workers,
        receiveBufferBytes: flags['receive-buffer'],
      };
      const parsed = flowConfigSchema.safeParse(raw);
      if (!parsed.success) {
        throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; '));
      }
      config = parsed.data;
    } catch (err) {
      this.error((err as Error).message, { exit: 2 });
    }
    const json = this.jsonEnabled();
    // Errors carry their message (JSON.stringify of an Error is "{}").
    const text = (o: object | string) =>
      typeof o === 'string' ? o : JSON.stringify(o, (_k, v: unknown) => (v instanceof Error ? v.message : v));
    const warn = (o: object | string, msg?: string) => {
      if (!json && !flags.ndjson) this.logToStderr(`warning: ${msg ?? ''} ${text(o)}`);
    };
    const logger = {
      debug() {},
      info() {},
      warn,
      error: warn,
      child() {
        return logger;
      },
    };
    const detector = new FlowDetector(config, { name: 'flow-listen', logger });
    const windows: { at: number; samples: Sample[] }[] = [];
    const stdoutTty = process.stdout.isTTY === true;
    detector.onWindow = async (at, samples) => {
      if (json) {
        windows.push({ at, samples });
        if (windows.length > MAX_KEPT_WINDOWS) windows.shift();
      } else if (flags.ndjson) {
        this.log(JSON.stringify({ at, samples }));
      } else {
        const view = renderWindow(samples, await detector.status(), flags.rows);
        this.log(stdoutTty ? `\x1b[2J\x1b[H${view}` : `${view}\n`);
      }
    };
    try {
      await detector.start(() => {});
    } catch (err) {
      this.error((err as Error).message, { exit: 2 });
    }
    // Whichever comes first: Ctrl-C, SIGTERM or the end of --duration; the others are then disarmed, so the
    // process exits as soon as the detector is stopped (a pending --duration timer kept it alive until then).
    let timer: NodeJS.Timeout | undefined;
    let done = () => {};
    await new Promise<void>((resolve) => {
      done = () => resolve();
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
      if (flags.duration > 0) timer = setTimeout(done, flags.duration * 1000);
    });
    clearTimeout(timer);
    process.off('SIGINT', done);
    process.off('SIGTERM', done);
    await detector.tick();
    const status = await detector.status();
    await detector.stop();
    if (!json && !flags.ndjson)
      this.log(`stopped after ${status.totals.datagrams} datagrams, ${status.totals.records} records`);
    return {
      listeners: status.listener.bound,
      windows,
      totals: status.totals,
      listener: status.listener,
      exporters: status.exporters,
    };
  }
}
