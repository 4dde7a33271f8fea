// What every lab scenario needs besides the topology: daemons started inside a lab namespace (stayrtr, ft run,
// softflowd), nft probes that time when packets pass, a step recorder and the audit trail of the ft that ran.
// Daemons are children of the scenario and are stopped in its `finally`; `ft lab down` kills anything left.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prefix } from '@ft/sdk';
import { REPO } from '../lab.js';
import { Node } from '../topology.js';

export const say = (msg: string): void => void process.stderr.write(`${msg}\n`);

export interface Step {
  step: string;
  ok: boolean;
  detail?: string;
}

/** One moment of the scenario's timeline: milliseconds since the attack started (negative: before it). */
export interface TimelineEntry {
  event: string;
  at: string;
  sinceAttackMs?: number;
  source: 'audit' | 'probe';
  detail?: string;
}

export interface ScenarioResult {
  scenario: string;
  ok: boolean;
  steps: Step[];
  timeline: TimelineEntry[];
  [more: string]: unknown;
}

export class Recorder {
  readonly steps: Step[] = [];
  readonly probes: { event: string; at: number; detail?: string }[] = [];

  step(step: string, ok: boolean, detail?: string): boolean {
    this.steps.push({ step, ok, ...(detail ? { detail } : {}) });
    say(`${ok ? 'ok  ' : 'FAIL'} ${step}${detail ? ` (${detail})` : ''}`);
    return ok;
  }

  /** Records the first time `event` was observed; later observations are ignored. */
  mark(event: string, at = Date.now(), detail?: string): void {
    if (!this.probes.some((p) => p.event === event)) this.probes.push({ event, at, ...(detail ? { detail } : {}) });
  }

  seen(event: string): number | undefined {
    return this.probes.find((p) => p.event === event)?.at;
  }

  get ok(): boolean {
    return this.steps.length > 0 && this.steps.every((s) => s.ok);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(
  check: () => boolean | Promise<boolean>,
  ms: number,
  everyMs = 20,
): Promise<number | undefined> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await check()) return Date.now();
    await sleep(everyMs);
  }
  return undefined;
}

/** A child started inside a namespace, output to a log file. */
export class NsProcess {
  readonly exited: Promise<number | null>;
  private code: number | null | undefined;

  constructor(
    readonly node: Node,
    readonly argv: string[],
    readonly log: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const out = openSync(log, 'a');
    this.child = spawn('ip', node.argv(argv).slice(1), { stdio: ['ignore', out, out], env });
    closeSync(out);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.code = code ?? (signal ? 128 : null);
        resolve(this.code);
      }),
    );
  }

  readonly child: ChildProcess;

  get running(): boolean {
    return this.code === undefined;
  }

  output(): string {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8') : '';
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null | undefined> {
    if (!this.running) return this.code;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    return this.code;
  }
}

/** The interface of `node` that holds `address` (the lab's names depend on its prefix). */
export function interfaceWithAddress(node: Node, address: string): string {
  const out = node.exec(['ip', '-o', 'addr', 'show']).stdout;
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3]?.split('/')[0] === address) return (f[1] as string).split('@')[0] as string;
  }
  throw new Error(`no interface in ${node.name} holds ${address}`);
}

/** A VRP file in stayrtr's JSON format, written atomically with a fresh build time (stayrtr refuses old data). */
export function writeVrps(file: string, roas: { prefix: string; maxLength: number; asn: number }[]): void {
  for (const r of roas) Prefix.parse(r.prefix);
  writeFileSync(
    `${file}.tmp`,
    JSON.stringify({
      metadata: { buildtime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
      roas: roas.map((r) => ({ ...r, asn: `AS${r.asn}` })),
    }),
  );
  renameSync(`${file}.tmp`, file);
}

/** stayrtr inside `node`, serving `vrpFile` over RTR on that namespace's loopback. */
export async function startStayrtr(node: Node, dir: string, vrpFile: string, port: number): Promise<NsProcess> {
  const p = new NsProcess(
    node,
    [
      'stayrtr',
      '-bind',
      `127.0.0.1:${port}`,
      '-cache',
      vrpFile,
      '-metrics.addr',
      `127.0.0.1:${port + 1}`,
      '-refresh',
      '3600',
      '-rtr.refresh',
      '3600',
      '-rtr.retry',
      '600',
      '-rtr.expire',
      '7200',
      '-protocol',
      '1',
      '-log.verbose=false',
    ],
    join(dir, 'stayrtr.log'),
  );
  const up = await until(
    () => !p.running || node.exec(['ss', '-Htln', `sport = :${port}`], { allowFail: true }).stdout.includes(`:${port}`),
    10_000,
    50,
  );
  if (up === undefined || !p.running)
    throw new Error(`stayrtr did not start in ${node.name} (see ${join(dir, 'stayrtr.log')})`);
  return p;
}

/** `ft run` inside `node` from this checkout; resolves once it logged its start-up line. */
export async function startFtRun(
  node: Node,
  dir: string,
  o: { policy: string; detectors: string; stateDir: string; tickMs?: number },
): Promise<NsProcess> {
  mkdirSync(o.stateDir, { recursive: true });
  const log = join(dir, 'ft-run.log');
  const p = new NsProcess(
    node,
    [
      process.execPath,
      join(REPO, 'bin', 'run.js'),
      'run',
      '--policy',
      o.policy,
      '--detectors',
      o.detectors,
      '--state-dir',
      o.stateDir,
      '--metrics',
      'off',
      '--tick-ms',
      String(o.tickMs ?? 200),
    ],
    log,
    { ...process.env, NO_COLOR: '1', FT_LOG_LEVEL: process.env.FT_LOG_LEVEL ?? 'info' },
  );
  const started = await until(() => !p.running || p.output().includes('ft run: '), 30_000, 50);
  if (started === undefined || !p.running) {
    await p.stop(1000);
    throw new Error(`ft run did not start in ${node.name}: ${p.output().split('\n').slice(-8).join('\n')}`);
  }
  return p;
}

/**
 * softflowd on `ifname` in `node`, exporting NetFlow v9 (or IPFIX) to `collector`. Timeouts of 1 s: a flow is
 * exported within about a second of its first packet, as a router with a 1 s active timeout would.
 */
export function startSoftflowd(
  node: Node,
  dir: string,
  ifname: string,
  collector: string,
  version: 9 | 10 = 9,
): NsProcess {
  return new NsProcess(
    node,
    [
      'softflowd',
      '-d',
      '-i',
      ifname,
      '-n',
      collector,
      '-v',
      String(version),
      '-N',
      '-t',
      'maxlife=1',
      '-t',
      'expint=1',
      '-t',
      'udp=1',
      '-p',
      join(dir, 'softflowd.pid'),
      '-c',
      join(dir, 'softflowd.ctl'),
    ],
    join(dir, 'softflowd.log'),
  );
}

/**
 * pmacctd's sfprobe on `ifname` in `node`: sFlow v5 packet samples (1 in `sampling`) to `collector`, sent as they
 * are taken (small plugin buffer), with `agent` as the sFlow agent address.
 */
export function startSfprobe(
  node: Node,
  dir: string,
  ifname: string,
  collector: string,
  agent: string,
  sampling: number,
): NsProcess {
  const conf = join(dir, 'sfprobe.conf');
  writeFileSync(
    conf,
    [
      'daemonize: false',
      `pcap_interface: ${ifname}`,
      'promisc: false',
      'plugins: sfprobe',
      `sfprobe_receiver: ${collector}`,
      `sfprobe_agentip: ${agent}`,
      `sfprobe_source_ip: ${agent}`,
      `sampling_rate: ${sampling}`,
      'plugin_pipe_size: 1024000',
      'plugin_buffer_size: 0',
      '',
    ].join('\n'),
  );
  return new NsProcess(node, ['pmacctd', '-f', conf], join(dir, 'sfprobe.log'));
}

const COUNT_RE = /^[a-z_]{1,30}$/;

/** An nft table of counters inside a namespace, read as packets per counter (rules in the order given). */
export function nftCounters(
  node: Node,
  table: string,
  chain: { hook: 'input' | 'forward' | 'prerouting'; rules: string[] },
): { read(): number[]; remove(): void } {
  if (!COUNT_RE.test(table)) throw new Error(`table name ${table} is invalid`);
  node.exec(['nft', '-f', '-'], {
    input: `add table inet ${table}\ndelete table inet ${table}\ntable inet ${table} {\n  chain c {\n    type filter hook ${chain.hook} priority -300; policy accept;\n${chain.rules.map((r) => `    ${r} counter\n`).join('')}  }\n}\n`,
  });
  return {
    read() {
      const r = node.exec(['nft', '-j', 'list', 'table', 'inet', table], { allowFail: true });
      if (r.status !== 0) return [];
      return rulesCounters(r.stdout);
    },
    remove() {
      node.exec(['nft', 'delete', 'table', 'inet', table], { allowFail: true });
    },
  };
}

/** Packets counted by each rule of an `nft -j list table` answer, in order. */
export function rulesCounters(json: string): number[] {
  const j = JSON.parse(json) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] };
  return j.nftables.flatMap((i) => (i.rule ? [i.rule.expr.reduce((n, e) => n + (e.counter?.packets ?? 0), 0)] : []));
}

/** A bounded flood running in the background: resolves when every generator exited (or was killed at its timeout). */
export function backgroundFlood(
  node: Node,
  dir: string,
  generators: string[][],
  seconds: number,
): { done: Promise<void>; stop(): Promise<void> } {
  const procs = generators.map(
    (g, i) => new NsProcess(node, ['timeout', String(seconds), ...g], join(dir, `flood-${i}.log`)),
  );
  return {
    done: Promise.all(procs.map((p) => p.exited)).then(() => undefined),
    async stop() {
      await Promise.all(procs.map((p) => p.stop(500, 'SIGINT')));
    },
  };
}

/** The audit trail of a stopped (or running) ft, via `ft audit --json`. */
export function readAudit(stateDir: string): AuditRow[] {
  const r = spawnJson([process.execPath, join(REPO, 'bin', 'run.js'), 'audit', '--json', '--state-dir', stateDir]);
  const rows = (Array.isArray(r) ? r : ((r as { records?: unknown[] }).records ?? [])) as AuditRow[];
  return rows.sort((a, b) => a.at.localeCompare(b.at));
}

export interface AuditRow {
  id: string;
  phase: 'start' | 'end' | 'event';
  at: string;
  op: string;
  ruleId?: string;
  incidentId?: string;
  rule?: { kind: string; target: string; level?: number; action?: { type?: string } };
  rpki?: { state: string; reason?: string };
  outcome?: string;
  message?: string;
  reason?: unknown;
  incident?: { id: string; target: string; attack_family: string; vector?: string[]; state: 'open' | 'resolved' };
  results?: { adapter: string; outcome: string; ms: number }[];
}

function spawnJson(argv: string[]): unknown {
  const [cmd, ...args] = argv as [string, ...string[]];
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`${argv.slice(1).join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as unknown;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A GoBGP client's path listing, as the edge watch needs it. */
interface RibReader {
  listPath(table: 'GLOBAL', family: unknown): Promise<{ prefix: string; isWithdraw?: boolean }[]>;
}

/**
 * Watches the edge every 25 ms while an attack runs, marking on the recorder: the first datagram at the collector
 * (once `attackStarted()`), the FlowSpec route (one whose NLRI text names `routeMatch`) in and gone from the edge
 * RIB, the enforcer's nft rule installed and removed, and the first packet it dropped. `stop()` ends the loop;
 * `dropped()` is the enforcer's counter so far.
 */
export function watchEdge(o: {
  rec: Recorder;
  edge: Node;
  rib: RibReader;
  family: unknown;
  routeMatch: string;
  atCollector: { read(): number[] };
  attackStarted: () => boolean;
}): { stop(): Promise<void>; dropped(): number } {
  const { rec, edge } = o;
  const collectorBase = o.atCollector.read()[0] ?? 0;
  let enforced = 0;
  let polling = true;
  const loop = (async () => {
    while (polling) {
      const now = Date.now();
      if (o.attackStarted() && (o.atCollector.read()[0] ?? 0) > collectorBase)
        rec.mark('first datagram at the collector', now);
      const paths = await o.rib.listPath('GLOBAL', o.family).catch(() => []);
      const hasRoute = paths.some((p) => p.prefix.includes(o.routeMatch) && !p.isWithdraw);
      if (hasRoute) rec.mark('FlowSpec route in the edge RIB', now);
      else if (rec.seen('FlowSpec route in the edge RIB')) rec.mark('FlowSpec route gone from the edge RIB', now);
      const table = edge.exec(['nft', '-j', 'list', 'table', 'inet', 'ft_flowspec'], { allowFail: true });
      const counters = table.status === 0 ? rulesCounters(table.stdout) : [];
      if (counters.length > 0) {
        rec.mark('nft rule installed at the edge', now);
        enforced = Math.max(
          enforced,
          counters.reduce((a, b) => a + b, 0),
        );
        if (enforced > 0) rec.mark('first packet dropped at the edge', now, `nft counter ${enforced}`);
      } else if (rec.seen('nft rule installed at the edge')) rec.mark('nft rule removed at the edge', now);
      await sleep(25);
    }
  })();
  return {
    async stop() {
      polling = false;
      await loop;
    },
    dropped: () => enforced,
  };
}
