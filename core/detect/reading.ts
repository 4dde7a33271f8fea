import type { Counted, HttpBreakdown, Sample, TcpFlagName } from '@ft/sdk';

export type Protocols = { tcp: number; udp: number; icmp: number; other: number };

/**
 * What one source saw of one target over the sliding window (or, merged, what all sources saw): rates per second
 * and the breakdowns the source could provide. Top-list counts keep the unit the source used (per second for ft's
 * own detectors); the classifier only compares them with each other.
 */
export interface Reading {
  pps: number;
  bps: number;
  protocols?: Protocols;
  tcpFlags?: Partial<Record<TcpFlagName, number>>;
  topSrcIps?: Counted<string>[];
  topSrcPorts?: Counted<number>[];
  topDstPorts?: Counted<number>[];
  sourceCount?: number;
  packetLength?: { min: number; max: number; mean: number };
  ttl?: { distinct: number; topShare: number };
  connections?: number;
  http?: HttpBreakdown;
}

export interface SourceReading extends Reading {
  source: string;
  sourceKind: string;
  /** End of the newest sample in the window. */
  at: number;
  /** How much of the window the source's samples cover, ms. */
  coverageMs: number;
}

const TOP_N = 10;

/**
 * One source's samples for one target, and the rate over the newest `windowMs` of them. Samples may cover any
 * span (100 ms slices from proc, 1 s from flow collectors); each is weighted by how much of it lies in the window,
 * so a sub-second source gives a true sliding 1 s rate and a 1 s source is not double counted.
 */
export class SourceWindow {
  private samples: Sample[] = [];
  /** The reading only changes when a sample arrives (it ends at the newest sample), so it is computed once per push. */
  private cached: { windowMs: number; reading: SourceReading | undefined } | undefined;

  constructor(
    readonly source: string,
    readonly sourceKind: string,
  ) {}

  get lastAt(): number {
    return this.samples.at(-1)?.at ?? -Infinity;
  }

  push(sample: Sample, windowMs: number): void {
    this.cached = undefined;
    // Out-of-order samples are kept in time order; duplicates of one window end replace the older one.
    const last = this.samples.at(-1);
    if (!last || sample.at > last.at) this.samples.push(sample);
    else if (sample.at === last.at) this.samples[this.samples.length - 1] = sample;
    else {
      const i = this.samples.findIndex((s) => s.at >= sample.at);
      if (this.samples[i]?.at === sample.at) this.samples[i] = sample;
      else this.samples.splice(i, 0, sample);
    }
    this.prune(windowMs);
  }

  private prune(windowMs: number): void {
    const from = this.lastAt - windowMs;
    let drop = 0;
    while (drop < this.samples.length && (this.samples[drop] as Sample).at <= from) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }

  /** The windowed reading ending at the newest sample, or undefined when there is none. */
  reading(windowMs: number): SourceReading | undefined {
    if (this.cached?.windowMs !== windowMs) this.cached = { windowMs, reading: this.compute(windowMs) };
    return this.cached.reading;
  }

  private compute(windowMs: number): SourceReading | undefined {
    const end = this.lastAt;
    if (!Number.isFinite(end)) return undefined;
    const from = end - windowMs;
    const parts: { s: Sample; w: number }[] = [];
    for (const s of this.samples) {
      const overlap = Math.min(s.at, end) - Math.max(s.at - s.windowMs, from);
      if (overlap > 0) parts.push({ s, w: overlap });
    }
    const coverage = parts.reduce((a, p) => a + p.w, 0);
    if (coverage <= 0) return undefined;
    const avg = (get: (s: Sample) => number) => parts.reduce((a, p) => a + get(p.s) * p.w, 0) / coverage;
    const withField = <K extends keyof Sample>(k: K) => parts.filter((p) => p.s[k] !== undefined);

    const out: SourceReading = {
      source: this.source,
      sourceKind: this.sourceKind,
      at: end,
      coverageMs: coverage,
      pps: avg((s) => s.pps),
      bps: avg((s) => s.bps),
    };

    const proto = withField('protocols');
    if (proto.length > 0) {
      const cov = proto.reduce((a, p) => a + p.w, 0);
      const f = (k: keyof Protocols) => proto.reduce((a, p) => a + (p.s.protocols as Protocols)[k] * p.w, 0) / cov;
      out.protocols = { tcp: f('tcp'), udp: f('udp'), icmp: f('icmp'), other: f('other') };
    }
    const flags = withField('tcpFlags');
    if (flags.length > 0) {
      const cov = flags.reduce((a, p) => a + p.w, 0);
      const acc: Partial<Record<TcpFlagName, number>> = {};
      for (const p of flags) {
        for (const [k, v] of Object.entries(p.s.tcpFlags as object) as [TcpFlagName, number][])
          acc[k] = (acc[k] ?? 0) + (v * p.w) / cov;
      }
      out.tcpFlags = acc;
    }
    const top = <T extends string | number>(
      k: 'topSrcIps' | 'topSrcPorts' | 'topDstPorts',
    ): Counted<T>[] | undefined => {
      const ps = withField(k);
      if (ps.length === 0) return undefined;
      const cov = ps.reduce((a, p) => a + p.w, 0);
      const acc = new Map<T, number>();
      for (const p of ps)
        for (const c of p.s[k] as Counted<T>[]) acc.set(c.key, (acc.get(c.key) ?? 0) + (c.count * p.w) / cov);
      return [...acc]
        .map(([key, count]) => ({ key, count }))
        .sort((a, b) => b.count - a.count || String(a.key).localeCompare(String(b.key)))
        .slice(0, TOP_N);
    };
    const ips = top<string>('topSrcIps');
    if (ips) out.topSrcIps = ips;
    const sp = top<number>('topSrcPorts');
    if (sp) out.topSrcPorts = sp;
    const dp = top<number>('topDstPorts');
    if (dp) out.topDstPorts = dp;

    const counts = withField('sourceCount');
    if (counts.length > 0) out.sourceCount = Math.max(...counts.map((p) => p.s.sourceCount as number));
    const lens = withField('packetLength');
    if (lens.length > 0) {
      const cov = lens.reduce((a, p) => a + p.w, 0);
      out.packetLength = {
        min: Math.min(...lens.map((p) => p.s.packetLength!.min)),
        max: Math.max(...lens.map((p) => p.s.packetLength!.max)),
        mean: lens.reduce((a, p) => a + p.s.packetLength!.mean * p.w, 0) / cov,
      };
    }
    // Point-in-time facts: the newest sample that has them.
    const newest = <K extends 'ttl' | 'connections' | 'http'>(k: K) => withField(k).at(-1)?.s[k];
    const ttl = newest('ttl');
    if (ttl) out.ttl = ttl;
    const conns = newest('connections');
    if (conns !== undefined) out.connections = conns;
    const http = newest('http');
    if (http) out.http = http;
    return out;
  }
}

/**
 * The target's merged view: rates are the highest any source reports (a router's flow export and the host's own
 * counters see the same traffic; the higher one is the less-sampled one), and each breakdown comes from the
 * busiest source that has it.
 */
export function mergeReadings(readings: SourceReading[]): Reading {
  const merged: Reading = { pps: 0, bps: 0 };
  for (const r of readings) {
    merged.pps = Math.max(merged.pps, r.pps);
    merged.bps = Math.max(merged.bps, r.bps);
  }
  const busiest = [...readings].sort((a, b) => b.pps - a.pps || b.bps - a.bps);
  const fields = [
    'protocols',
    'tcpFlags',
    'topSrcIps',
    'topSrcPorts',
    'topDstPorts',
    'sourceCount',
    'packetLength',
    'ttl',
    'connections',
    'http',
  ] as const;
  for (const f of fields) {
    const from = busiest.find((r) => r[f] !== undefined);
    if (from) (merged as unknown as Record<string, unknown>)[f] = from[f];
  }
  return merged;
}
