import { createSocket } from 'node:dgram';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FlowDetector, flowConfigSchema } from '@ft/detector-flow';
import { captureBlocker, KeptRunning, reapStale } from '@ft/pcap';
import type { Detector, DetectorMetric, Health, PluginContext, Sample } from '@ft/sdk';
import type { MirrorConfig } from './config.js';
import { pmacctdConfig } from './sampler.js';

/** A UDP port on 127.0.0.1 nobody holds now (the OS picks it; the collector binds it right after). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * The `mirror` detector: pmacctd samples the SPAN port (a C program reads the packets, so the cost stays flat
 * with the packet rate), its sFlow goes to ft's own flow collector on loopback, and every address of the segment
 * gets Samples, hence its own baseline and thresholds, like any target.
 */
export class MirrorDetector implements Detector {
  private flow: FlowDetector | undefined;
  private sampler: KeptRunning | undefined;
  limited: string | undefined;
  port: number | undefined;

  constructor(
    readonly config: MirrorConfig,
    private readonly ctx: Pick<PluginContext, 'name' | 'logger' | 'stateDir'>,
  ) {}

  get dir(): string {
    return join(this.ctx.stateDir, 'mirror', this.ctx.name);
  }

  async start(sink: (sample: Sample) => void): Promise<void> {
    const blocker = captureBlocker([{ name: 'pmacctd', package: 'pmacct' }]);
    if (blocker) {
      this.limited = blocker;
      this.ctx.logger.warn(
        { detector: this.ctx.name },
        `mirror detector off (limited mode): ${blocker}; the segment ${this.config.protect.join(', ')} is not watched`,
      );
      return;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const pidDir = join(this.dir, '.pids');
    await reapStale(pidDir);
    this.port = await freeUdpPort();
    const flow = new FlowDetector(
      flowConfigSchema.parse({
        listeners: [{ protocol: 'sflow', address: '127.0.0.1', port: this.port }],
        allowedExporters: ['127.0.0.1'],
        sampling: { default: this.config.sampling },
        protect: this.config.protect,
        windowMs: this.config.windowMs,
        topN: this.config.topN,
        maxTargets: this.config.maxTargets,
        workers: 0,
      }),
      { name: this.ctx.name, logger: this.ctx.logger },
    );
    // Samples say they come from a mirror, not from a router's flow export.
    await flow.start((s) => sink({ ...s, sourceKind: 'mirror' }));
    this.flow = flow;
    const conf = join(this.dir, 'pmacctd.conf');
    await writeFile(conf, pmacctdConfig(this.config, this.port), { mode: 0o600 });
    this.sampler = new KeptRunning(['pmacctd', '-f', conf], {
      name: `pmacctd on ${this.config.interface}`,
      pidDir,
      onProblem: (message) => this.ctx.logger.error({ detector: this.ctx.name }, message),
    });
    try {
      await this.sampler.start();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.ctx.logger.info(
      { interface: this.config.interface, sampling: this.config.sampling, collector: `127.0.0.1:${this.port}` },
      'mirror: pmacctd samples the mirror port into the flow collector',
    );
  }

  /** pmacctd's pid, while it runs. */
  get samplerPid(): number | undefined {
    return this.sampler?.pid;
  }

  async stop(): Promise<void> {
    await this.sampler?.stop();
    await this.flow?.stop();
    this.sampler = undefined;
    this.flow = undefined;
  }

  health(): Health {
    if (this.limited) return { status: 'degraded', detail: `limited mode, nothing watched: ${this.limited}` };
    if (!this.flow || !this.sampler) return { status: 'down', detail: 'not started' };
    if (!this.sampler.running)
      return { status: 'degraded', detail: this.sampler.problem ?? `pmacctd on ${this.config.interface} not running` };
    const flow = this.flow.health();
    // A quiet segment sends nothing: the collector's "no exporter yet" is not a problem here.
    return flow.status === 'ok'
      ? {
          status: 'ok',
          detail: `pmacctd on ${this.config.interface}, 1 in ${this.config.sampling}; ${flow.detail ?? ''}`.trim(),
        }
      : flow;
  }

  metrics(): DetectorMetric[] {
    return [
      {
        name: 'ft_mirror_sampler_running',
        help: 'Whether pmacctd is sampling the mirror port.',
        type: 'gauge',
        value: this.sampler?.running ? 1 : 0,
        labels: { interface: this.config.interface },
      },
      ...(this.flow?.metrics() ?? []),
    ];
  }
}
