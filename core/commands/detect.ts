import { Flags } from '@oclif/core';
import { FtCommand } from '../cli/command.js';

type IncidentReport = import('@ft/sdk').IncidentReport;

/** One refresh as `--json` prints it: incidents in the reference JSON (the edge), not core's model. */
export interface DetectTick {
  at: string;
  targets: (Omit<import('../detect/index.js').TargetView, 'incident'> & { incident?: IncidentReport })[];
  events: { type: import('../detect/index.js').DetectionEvent['type']; incident: IncidentReport }[];
  health: { status: string; detail?: string };
}

type DetectionEvent = import('../detect/index.js').DetectionEvent;
type TargetView = import('../detect/index.js').TargetView;
type ToReport = (i: import('../model/incident.js').Incident) => IncidentReport;
const eventReport = (toReport: ToReport, e: DetectionEvent) => ({ type: e.type, incident: toReport(e.incident) });
function viewReport(toReport: ToReport, v: TargetView): DetectTick['targets'][number] {
  const { incident, ...rest } = v;
  return incident ? { ...rest, incident: toReport(incident) } : rest;
}

export default class Detect extends FtCommand {
  static override summary =
    'Live view of per-target traffic, baselines, thresholds and incidents, from this box’s kernel counters.';
  static override description = [
    'Reads /proc/net/dev (and the protocol counters in /proc/net/snmp) with the proc detector, runs the detection engine, and shows each interface or address: packets and bits per second over a sliding 1 s window, the learnt p99 baseline, the threshold, the state (learning, normal, attack) and open incidents. Needs no configuration and no root.',
    'The baseline learns for 300 s before it can fire; --static-pps/--static-bps fire earlier. --policy uses a policy file’s detection settings instead of the defaults.',
    'With --access-log, web-server access logs are watched too (the l7 detector): each site appears as site:NAME beside the interface targets, its PPS being requests per second; --site NAME=ADDRESS gives it the address an incident needs.',
    'With --json, one JSON object per refresh on stdout. --test replays a synthetic NTP reflection attack through the engine (nothing is sent anywhere) and prints the incident it opened and resolved.',
  ].join('\n\n');
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> detect',
    '<%= config.bin %> detect --interface eth0 --address 203.0.113.10 --static-pps 50000',
    '<%= config.bin %> detect --json --ticks 5',
    '<%= config.bin %> detect --proc-root /proc/4242 --interface veth1 --address 198.51.100.2',
    '<%= config.bin %> detect --test',
    '<%= config.bin %> detect --access-log /var/log/nginx/access.log --site shop.example=203.0.113.80 --static-pps 2000',
  ];

  static override flags = {
    interface: Flags.string({
      char: 'i',
      multiple: true,
      description: 'Interface to watch (repeatable). Default: every interface but lo.',
    }),
    address: Flags.string({
      description:
        'Protected address the watched interfaces carry (default: each interface’s only address, when it has exactly one).',
    }),
    'proc-root': Flags.string({
      default: '/proc',
      description: 'procfs to read; /proc/PID reads the network namespace process PID is in.',
    }),
    'static-pps': Flags.integer({
      min: 1,
      description: 'Fire above this many packets/s even while the baseline learns.',
    }),
    'static-bps': Flags.integer({ min: 1, description: 'Fire above this many bits/s even while the baseline learns.' }),
    policy: Flags.string({
      char: 'p',
      description: 'Take detection settings (baseline, floors, overrides, static thresholds) from this policy file.',
    }),
    interval: Flags.integer({
      default: 1000,
      min: 100,
      description: 'Refresh every this many ms (the engine itself evaluates every 100 ms).',
    }),
    duration: Flags.integer({ min: 1, description: 'Stop after this many seconds.' }),
    ticks: Flags.integer({ min: 1, description: 'Stop after this many refreshes.' }),
    test: Flags.boolean({ default: false, description: 'Fire a synthetic incident end to end and print it.' }),
    // ── L7 (issue 10): web-server access logs watched beside the kernel counters ──
    'access-log': Flags.string({
      multiple: true,
      description:
        'Also watch this web-server access log (repeatable; * and ? allowed in the file name) with the l7 detector: one site:NAME target per vhost.',
    }),
    'log-format': Flags.string({
      default: 'auto',
      description:
        'Format of the --access-log files: auto, nginx-combined, apache-common, apache-combined, apache-vhost-combined, caddy-json, litespeed, haproxy-http, or nginx log_format text (anything with a $ in it).',
    }),
    site: Flags.string({
      multiple: true,
      description:
        'NAME=ADDRESS: the protected address of a site in the access logs (incidents need one), e.g. shop.example=203.0.113.80. The first one also names the site of lines that carry no vhost.',
    }),
  };

  async run(): Promise<DetectTick | { target: string; detectedAfterMs: number; events: unknown[] } | undefined> {
    const { flags } = await this.parse(Detect);
    const detect = await import('../detect/index.js');
    const { toReport } = await import('../model/incident.js');
    const { DEFAULT_DETECTION } = await import('../model/detection.js');

    if (flags.test) {
      const run = detect.runSynthetic();
      if (!this.jsonEnabled()) {
        this.log(
          `Synthetic attack on ${run.target} (TEST-NET-1; nothing was sent anywhere): detected ${run.detectedAfterMs} ms after it started.`,
        );
        for (const e of run.events.filter((x) => x.type !== 'update')) this.log(detect.describeEvent(e));
        const resolved = run.events.find((e) => e.type === 'resolve')?.incident;
        this.log(JSON.stringify(resolved && toReport(resolved), null, 2));
      }
      return { ...run, events: run.events.map((e) => eventReport(toReport, e)) };
    }

    const { loadRegistry } = await import('../plugin-host/load.js');
    const registry = await loadRegistry(this.config);
    const entry = registry.detector('proc');
    if (!entry)
      this.error(
        'No `proc` detector is installed (it ships with ft as @ft/detector-proc). Run `ft registry` to see what is.',
        { exit: 2 },
      );

    let settings = { ...DEFAULT_DETECTION };
    if (flags.policy) {
      const { loadPolicy } = await import('../policy/index.js');
      settings = { ...(await loadPolicy(flags.policy, registry)).detection };
    }
    if (flags['static-pps'] !== undefined || flags['static-bps'] !== undefined) {
      settings.static = { ...settings.static };
      if (flags['static-pps'] !== undefined) settings.static.pps = flags['static-pps'];
      if (flags['static-bps'] !== undefined) settings.static.bps = flags['static-bps'];
    }

    const ownNamespace = flags['proc-root'].replace(/\/+$/, '') === '/proc';
    const config: Record<string, unknown> = { procRoot: flags['proc-root'], interfaces: flags.interface ?? 'auto' };
    if (flags.address) config.address = flags.address;
    else if (ownNamespace) config.address = 'auto';
    const parsed = entry.factory.configSchema.safeParse(config);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
      this.error(`Invalid detector options: ${why}`, { exit: 2 });
    }

    const { createLogger } = await import('../log/logger.js');
    const logger = await createLogger({ level: process.env.FT_LOG_LEVEL ?? 'warn' });
    const abort = new AbortController();
    const { tmpdir } = await import('node:os');
    const detector = await entry.factory.create(parsed.data, {
      name: 'proc',
      logger,
      stateDir: tmpdir(),
      secret: (ref: string) => {
        throw new Error(`ft detect has no secrets (asked for ${ref})`);
      },
      signal: abort.signal,
    });
    const l7 = flags['access-log'] ? await accessLogDetector(this, registry, flags, logger, abort.signal) : undefined;
    const engine = new detect.DetectionEngine({ settings, logger });
    let pending: DetectionEvent[] = [];
    engine.on((e) => pending.push(e));

    const tty = process.stdout.isTTY === true && !this.jsonEnabled();
    let drawn = 0;
    let last: DetectTick | undefined;
    const stopAt = flags.duration !== undefined ? Date.now() + flags.duration * 1000 : Infinity;
    let stopping = false;
    const onSignal = () => void (stopping = true);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);

    try {
      await detector.start((s) => engine.ingest(s));
      await l7?.start((s) => engine.ingest(s));
      engine.start();
      for (let n = 0; !stopping; n++) {
        const wait = Math.min(flags.interval, Math.max(0, stopAt - Date.now()));
        await new Promise((r) => setTimeout(r, wait));
        const events = pending;
        pending = [];
        const views = engine.view();
        const tick: DetectTick = {
          at: new Date().toISOString(),
          targets: views.map((v) => viewReport(toReport, v)),
          events: events.map((e) => eventReport(toReport, e)),
          health: combinedHealth(detector.health(), l7?.health()),
        };
        last = tick;
        if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(tick)}\n`);
        else {
          const lines = [
            `ft detect  ${tick.at}  detector ${tick.health.status}${tick.health.detail ? `: ${tick.health.detail}` : ''}`,
            detect.renderView(views),
          ].join('\n');
          if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}F\x1b[J`);
          for (const e of events) {
            if (e.type !== 'update') this.log(detect.describeEvent(e));
          }
          this.log(lines);
          if (tty) drawn = lines.split('\n').length;
          else this.log('');
        }
        if ((flags.ticks !== undefined && n + 1 >= flags.ticks) || Date.now() >= stopAt) break;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      engine.stop();
      await detector.stop();
      await l7?.stop();
      abort.abort();
    }
    // JSON lines were streamed; nothing more to print.
    return this.jsonEnabled() ? undefined : last;
  }
}

// ── L7 (issue 10) ───────────────────────────────────────────────────────────────────────────────────────────────

type Health = { status: string; detail?: string };

/** The worse of the two detectors' health, with both details. */
function combinedHealth(proc: Health, l7: Health | undefined): Health {
  if (!l7) return proc;
  const rank = (h: Health) => ['ok', 'degraded', 'down'].indexOf(h.status);
  const details = [proc.detail && `proc: ${proc.detail}`, l7.detail && `l7: ${l7.detail}`].filter(Boolean).join('; ');
  const worst = rank(l7) > rank(proc) ? l7 : proc;
  return details ? { status: worst.status, detail: details } : { status: worst.status };
}

/** Builds (does not start) an `l7` detector for --access-log, validated by the plugin's own schema. */
async function accessLogDetector(
  cmd: Detect,
  registry: Awaited<ReturnType<typeof import('../plugin-host/load.js').loadRegistry>>,
  flags: { 'access-log'?: string[]; 'log-format': string; site?: string[] },
  logger: import('@ft/sdk').PluginLogger,
  signal: AbortSignal,
): Promise<import('@ft/sdk').Detector> {
  const entry = registry.detector('l7');
  if (!entry)
    cmd.error(
      'No `l7` detector is installed (it ships with ft as @ft/detector-l7). Run `ft registry` to see what is.',
      { exit: 2 },
    );
  const sites: Record<string, string> = {};
  for (const s of flags.site ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) cmd.error(`--site ${s}: expected NAME=ADDRESS, e.g. shop.example=203.0.113.80`, { exit: 2 });
    sites[s.slice(0, eq).toLowerCase()] = s.slice(eq + 1);
  }
  const { resolve } = await import('node:path');
  // A value with a $ in it is nginx log_format text rather than a format name.
  const format = flags['log-format'].includes('$') ? { nginx: flags['log-format'] } : flags['log-format'];
  const config: Record<string, unknown> = { files: (flags['access-log'] ?? []).map((f) => resolve(f)), format, sites };
  const first = Object.keys(sites)[0];
  if (first) config.defaultSite = first;
  const parsed = entry.factory.configSchema.safeParse(config);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    cmd.error(`Invalid access-log options: ${why}`, { exit: 2 });
  }
  const { tmpdir } = await import('node:os');
  return entry.factory.create(parsed.data, {
    name: 'l7',
    logger,
    stateDir: tmpdir(),
    secret: (ref: string) => {
      throw new Error(`ft detect has no secrets (asked for ${ref})`);
    },
    signal,
  });
}
