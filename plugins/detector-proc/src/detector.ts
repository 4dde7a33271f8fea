import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { Prefix, type Detector, type Health, type PluginLogger, type Sample } from '@ft/sdk';
import { isOwnProcRoot, type ProcConfig } from './config.js';
import {
  attributeProtocols,
  interfaceDelta,
  protocolCounters,
  protocolDelta,
  type ProtocolCounters,
} from './counters.js';
import {
  parseConntrackStat,
  parseKeyedPairs,
  parseNetDev,
  parseSingleCount,
  parseSnmp6,
  parseSockstat,
  type InterfaceCounters,
  type Parsed,
} from './parse.js';

interface Snapshot {
  /** performance.now() of the read, for exact elapsed time. */
  mono: number;
  interfaces: Map<string, InterfaceCounters>;
  protocols?: ProtocolCounters;
}

interface Group {
  target: string;
  prefix?: Prefix;
  interfaces: string[];
}

/** How long a problem stays in health() after it was last seen. */
const PROBLEM_TTL_MS = 10_000;
const ADDRESS_REFRESH_MS = 5_000;
/** Several 400G ports at minimum-size frames; anything above is a counter artefact. */
const MAX_PLAUSIBLE_PPS = 2e9;

/**
 * Reads the kernel's interface and protocol counters every tick and emits one Sample per target: the rate over the
 * tick, with the namespace's protocol mix, SYN estimate and connection count. Needs no privileges. Any file but
 * net/dev may be missing or odd: the detector reports it in health() and carries on with the rest.
 */
export class ProcDetector implements Detector {
  private timer: NodeJS.Timeout | undefined;
  private previous: Snapshot | undefined;
  private busy = false;
  private devReadable = true;
  private readonly problems = new Map<string, number>();
  private readonly logged = new Set<string>();
  private addressCache: { at: number; map: Map<string, Prefix | undefined> } | undefined;

  constructor(
    readonly config: ProcConfig,
    private readonly name: string,
    private readonly logger?: PluginLogger,
    private readonly now: () => number = Date.now,
  ) {}

  async start(sink: (sample: Sample) => void): Promise<void> {
    if (this.timer) return;
    // The first read only sets the counters rates are measured from; it also proves procRoot is usable.
    const first = await this.read();
    if (!first)
      throw new Error(
        `proc detector ${this.name}: cannot read ${this.path('net/dev')}: ${[...this.problems.keys()].join('; ')}`,
      );
    this.previous = first;
    this.timer = setInterval(() => void this.tick(sink), this.config.tickMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  health(): Health {
    const cutoff = this.now() - PROBLEM_TTL_MS;
    for (const [p, at] of this.problems) if (at < cutoff) this.problems.delete(p);
    if (!this.devReadable) return { status: 'down', detail: [...this.problems.keys()].join('; ') };
    if (this.problems.size > 0) return { status: 'degraded', detail: [...this.problems.keys()].join('; ') };
    return { status: 'ok' };
  }

  /** One read-diff-emit cycle; public so tests can drive it without a timer. */
  async tick(sink: (sample: Sample) => void): Promise<void> {
    if (this.busy) return; // a slow read (loaded box) must not pile up overlapping reads
    this.busy = true;
    try {
      const current = await this.read();
      if (!current) return;
      const prev = this.previous;
      this.previous = current;
      if (!prev) return;
      for (const s of this.samples(prev, current)) sink(s);
    } catch (err) {
      this.problem(`tick failed: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  private path(rel: string): string {
    return join(this.config.procRoot, rel);
  }

  private problem(text: string): void {
    this.problems.set(text, this.now());
    if (!this.logged.has(text) && this.logged.size < 200) {
      this.logged.add(text);
      this.logger?.warn({ detector: this.name }, `proc detector: ${text}`);
    }
  }

  private async readText(rel: string, optional = false): Promise<string | undefined> {
    try {
      return await readFile(this.path(rel), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!(optional && code === 'ENOENT'))
        this.problem(`cannot read ${this.path(rel)}: ${code ?? (err as Error).message}`);
      return undefined;
    }
  }

  private parsed<T>(rel: string, r: Parsed<T>): T {
    for (const p of r.problems.slice(0, 5)) this.problem(`${this.path(rel)} line ${p.line}: ${p.reason}`);
    return r.value;
  }

  private async read(): Promise<Snapshot | undefined> {
    const own = isOwnProcRoot(this.config.procRoot);
    const [dev, snmp, snmp6, netstat, conntrack, conntrackCount] = await Promise.all([
      this.readText('net/dev'),
      this.readText('net/snmp'),
      this.readText('net/snmp6', true), // absent when IPv6 is disabled
      this.readText('net/netstat', true),
      this.readText('net/stat/nf_conntrack', true), // absent without the conntrack module
      own ? this.readText('sys/net/netfilter/nf_conntrack_count', true) : Promise.resolve(undefined),
    ]);
    const mono = performance.now();
    this.devReadable = dev !== undefined;
    if (dev === undefined) return undefined;
    const snapshot: Snapshot = { mono, interfaces: this.parsed('net/dev', parseNetDev(dev)) };
    if (snmp !== undefined) {
      snapshot.protocols = protocolCounters(
        this.parsed('net/snmp', parseKeyedPairs(snmp)),
        snmp6 === undefined ? undefined : this.parsed('net/snmp6', parseSnmp6(snmp6)),
        netstat === undefined ? undefined : this.parsed('net/netstat', parseKeyedPairs(netstat)),
      );
    }
    this.connections = undefined;
    if (conntrack !== undefined) this.connections = this.parsed('net/stat/nf_conntrack', parseConntrackStat(conntrack));
    else if (conntrackCount !== undefined)
      this.connections = this.parsed('sys/net/netfilter/nf_conntrack_count', parseSingleCount(conntrackCount));
    if (this.connections === undefined) {
      const sock = await this.readText('net/sockstat');
      if (sock !== undefined) {
        const s = this.parsed('net/sockstat', parseSockstat(sock));
        if (s.tcpInUse !== undefined) this.connections = s.tcpInUse + (s.tcpTimeWait ?? 0);
      }
    }
    return snapshot;
  }

  private connections: number | undefined;

  private watched(current: Snapshot): { name: string; address?: string }[] {
    const c = this.config.interfaces;
    // On this host's own /proc an interface with a single address protects that address unless told otherwise.
    const fallback = this.config.address ?? (isOwnProcRoot(this.config.procRoot) ? 'auto' : 'none');
    const entries =
      c === 'auto'
        ? [...current.interfaces.keys()].filter((n) => n !== 'lo').map((name) => ({ name }))
        : c.map((i) => (typeof i === 'string' ? { name: i } : i));
    return entries.map((e) => {
      const address = (e as { address?: string }).address ?? fallback;
      return address === 'none' ? { name: e.name } : { name: e.name, address };
    });
  }

  /** Interfaces grouped by the target they carry traffic for (several interfaces may serve one address). */
  private groups(current: Snapshot): Group[] {
    const groups = new Map<string, Group>();
    for (const w of this.watched(current)) {
      if (!current.interfaces.has(w.name)) {
        this.problem(`interface ${w.name} is not in ${this.path('net/dev')}`);
        continue;
      }
      const prefix = w.address === 'auto' ? this.autoAddress(w.name) : w.address ? Prefix.parse(w.address) : undefined;
      const target = prefix ? prefix.toString() : `if:${w.name}`;
      let g = groups.get(target);
      if (!g) groups.set(target, (g = prefix ? { target, prefix, interfaces: [] } : { target, interfaces: [] }));
      g.interfaces.push(w.name);
    }
    return [...groups.values()];
  }

  /** The interface's only address (IPv4 preferred, link-local ignored); none when it has several. */
  private autoAddress(name: string): Prefix | undefined {
    const now = this.now();
    if (!this.addressCache || now - this.addressCache.at > ADDRESS_REFRESH_MS) {
      const map = new Map<string, Prefix | undefined>();
      for (const [ifname, addrs] of Object.entries(networkInterfaces())) {
        const usable = (addrs ?? []).filter(
          (a) => !a.internal && !/^fe80:/i.test(a.address) && !/^169\.254\./.test(a.address),
        );
        const v4 = usable.filter((a) => a.family === 'IPv4');
        const pick = v4.length > 0 ? v4 : usable;
        map.set(ifname, pick.length === 1 ? Prefix.parse(pick[0]!.address) : undefined);
      }
      this.addressCache = { at: now, map };
    }
    return this.addressCache.map.get(name);
  }

  private samples(prev: Snapshot, cur: Snapshot): Sample[] {
    const elapsedMs = cur.mono - prev.mono;
    if (!(elapsedMs > 0)) return [];
    const perSecond = 1000 / elapsedMs;
    const at = this.now();
    const mix = prev.protocols && cur.protocols ? protocolDelta(prev.protocols, cur.protocols) : undefined;
    if (prev.protocols && cur.protocols && !mix)
      this.problem('protocol counters went backwards (namespace recreated?): breakdown skipped for one tick');
    const out: Sample[] = [];
    for (const g of this.groups(cur)) {
      let rxP = 0,
        rxB = 0,
        txP = 0,
        txB = 0,
        counted = 0;
      for (const name of g.interfaces) {
        const a = prev.interfaces.get(name);
        const b = cur.interfaces.get(name)!;
        if (!a) continue; // appeared this tick: rates start next tick
        const d = interfaceDelta(a, b);
        if (!d) {
          this.problem(`counters of ${name} went backwards (interface reset or recreated): skipped one tick`);
          continue;
        }
        rxP += d.rxPackets;
        rxB += d.rxBytes;
        txP += d.txPackets;
        txB += d.txBytes;
        counted++;
      }
      if (counted === 0) continue;
      if (rxP * perSecond > MAX_PLAUSIBLE_PPS || txP * perSecond > MAX_PLAUSIBLE_PPS) {
        // A reset that looked like a 32-bit wrap: no link carries this, so the tick is unknown, not a flood.
        this.problem(
          `counters of ${g.interfaces.join(',')} jumped by more than any link carries (reset?): skipped one tick`,
        );
        continue;
      }
      const base = { source: this.name, sourceKind: 'proc', target: g.target, at, windowMs: elapsedMs } as const;
      const inbound: Sample = { ...base, direction: 'in', pps: rxP * perSecond, bps: rxB * 8 * perSecond };
      if (g.prefix) inbound.prefix = g.prefix;
      if (mix) {
        const { protocols, syn } = attributeProtocols(inbound.pps, mix);
        inbound.protocols = protocols;
        inbound.tcpFlags = { syn };
      }
      if (this.connections !== undefined) inbound.connections = this.connections;
      out.push(inbound);
      if (this.config.direction === 'both') {
        const outbound: Sample = { ...base, direction: 'out', pps: txP * perSecond, bps: txB * 8 * perSecond };
        if (g.prefix) outbound.prefix = g.prefix;
        out.push(outbound);
      }
    }
    return out;
  }
}
