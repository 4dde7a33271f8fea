import {
  Prefix,
  type Detector,
  type DetectorMetric,
  type Health,
  type IncidentEventView,
  type IncidentEvidence,
  type PluginContext,
} from '@ft/sdk';
import { CaptureManager, type CaptureSettings } from './capture/manager.js';
import { captureBlocker } from './capture/privilege.js';
import { captureDir } from './capture/store.js';
import { protectFilter } from './capture/argv.js';
import type { PcapConfig } from './config.js';
import { IocMatcher } from './ioc/matcher.js';
import { IocFileWatcher } from './ioc/watch.js';

/** What limited mode turns off, said the same way in the log, health and docs/pcap.md. */
export const LIMITED =
  'packet capture is off (limited mode): no pre-attack ring, no incident pcaps, no TTL spoofing verdicts, no botnet signatures, no IOC matches';

export function captureSettings(config: PcapConfig, stateDir: string): CaptureSettings {
  const filter = config.ring.filter ?? protectFilter(config.ring.protect.map((p) => Prefix.parse(p)));
  return {
    interfaces: config.interfaces,
    ...(config.netns ? { netns: config.netns } : {}),
    dir: config.dir ?? captureDir(stateDir),
    snaplen: config.snaplen,
    bufferMiB: config.bufferMiB,
    ring: {
      packets: config.ring.packets,
      seconds: config.ring.seconds,
      files: config.ring.files,
      ...(filter ? { filter } : {}),
    },
    incident: { packets: config.incident.packets, bytes: config.incident.bytes, seconds: config.incident.duration },
    quotaBytes: config.quota,
    retentionMs: config.retention * 1000,
    analyzeEveryMs: 1000,
    learnEveryMs: 1000,
    learnDelayMs: config.learnDelay * 1000,
  };
}

/**
 * The `pcap` detector: it reports no rates (the rates come from proc, flow or mirror); it keeps the pre-attack
 * rings, captures each incident's packets, and attaches the verdicts to the incident (Detector.observe).
 */
export class PcapDetector implements Detector {
  readonly matcher = new IocMatcher();
  manager: CaptureManager | undefined;
  private watcher: IocFileWatcher | undefined;
  /** Set when capture is off, with why. */
  limited: string | undefined;

  constructor(
    readonly config: PcapConfig,
    private readonly ctx: Pick<PluginContext, 'name' | 'logger' | 'stateDir'>,
  ) {}

  async start(): Promise<void> {
    const blocker = this.config.mode === 'off' ? 'mode: off in the policy' : captureBlocker();
    if (blocker) {
      if (this.config.mode === 'on') throw new Error(`pcap detector ${this.ctx.name}: mode: on, but ${blocker}`);
      this.limited = blocker;
      this.ctx.logger.warn({ detector: this.ctx.name }, `${LIMITED}: ${blocker}`);
      return;
    }
    if (this.config.ioc) {
      this.watcher = new IocFileWatcher(this.config.ioc, this.matcher, this.ctx.logger);
      await this.watcher.start();
    }
    const manager = new CaptureManager(captureSettings(this.config, this.ctx.stateDir), {
      logger: this.ctx.logger,
      matcher: this.matcher,
    });
    try {
      await manager.start();
    } catch (err) {
      this.watcher?.stop();
      await manager.stop().catch(() => undefined);
      throw err;
    }
    this.manager = manager;
    this.ctx.logger.info(
      { interfaces: this.config.interfaces, dir: manager.settings.dir, quota: this.config.quota },
      'pcap: pre-attack rings running',
    );
  }

  observe(event: IncidentEventView, report: (evidence: IncidentEvidence) => void): void {
    this.manager?.observe(event.type, event.incident, report);
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.manager?.stop();
  }

  health(): Health {
    if (this.limited) return { status: 'degraded', detail: `${LIMITED}: ${this.limited}` };
    if (!this.manager) return { status: 'down', detail: 'not started' };
    const s = this.manager.status();
    const problems = s.rings.filter((r) => !r.running).map((r) => r.problem ?? `ring on ${r.iface} not running`);
    if (this.watcher?.state.error) problems.push(this.watcher.state.error);
    if (problems.length > 0) return { status: 'degraded', detail: problems.join('; ') };
    return {
      status: 'ok',
      detail: `rings on ${s.rings.map((r) => r.iface).join(', ')}; ${s.active.length} capture(s) in progress, ${s.finished} finished`,
    };
  }

  metrics(): DetectorMetric[] {
    const s = this.manager?.status();
    if (!s) return [];
    return [
      ...s.rings.map((r): DetectorMetric => ({
        name: 'ft_pcap_ring_running',
        help: 'Whether the pre-attack ring capture of an interface is running.',
        type: 'gauge',
        value: r.running ? 1 : 0,
        labels: { iface: r.iface },
      })),
      ...(['finished', 'failed', 'skipped'] as const).map((state): DetectorMetric => ({
        name: 'ft_pcap_captures_total',
        help: 'Incident captures by outcome since start.',
        type: 'counter',
        value: s[state],
        labels: { state },
      })),
      {
        name: 'ft_pcap_captures_in_progress',
        help: 'Incident captures running now.',
        type: 'gauge',
        value: s.active.length,
      },
      { name: 'ft_pcap_ioc_entries', help: 'IOCs loaded, all sets.', type: 'gauge', value: this.matcher.size },
    ];
  }
}
