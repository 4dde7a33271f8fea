import { DistinctSketch, Prefix, type Sample } from '@ft/sdk';
import type { HttpRecord } from './record.js';
import { TopK } from './sketch.js';

/** Heavy-hitter table size per site and dimension per window. */
const TOP_CAPACITY = 512;
/** Sites keep getting (zero) samples this long after their last request, so incidents resolve and views stay. */
const SITE_IDLE_MS = 60_000;
/** Lines this much older than the oldest open window (history, a stalled log) are not counted. */
const MAX_LATE_MS = 10_000;
/** Lines stamped this far ahead of the clock (a skewed server clock) are counted now. */
const MAX_AHEAD_MS = 2_000;
export const OTHER_SITE = 'other';
const MAX_PORTS = 16;

class SiteWindow {
  requests = 0;
  bytes = 0;
  readonly statuses = [0, 0, 0, 0, 0];
  readonly clients = new TopK(TOP_CAPACITY);
  readonly paths = new TopK(TOP_CAPACITY);
  readonly agents = new TopK(TOP_CAPACITY);
  readonly distinct = new DistinctSketch();
  /** Server ports, when the format logs them (a site listens on a handful). */
  readonly ports = new Map<number, number>();

  add(r: HttpRecord): void {
    this.requests++;
    this.bytes += r.bytes;
    this.statuses[Math.floor(r.status / 100) - 1]!++;
    this.clients.add(r.client);
    this.paths.add(r.path);
    if (r.agent !== undefined) this.agents.add(r.agent);
    this.distinct.add(r.client);
    if (r.port !== undefined && (this.ports.has(r.port) || this.ports.size < MAX_PORTS))
      this.ports.set(r.port, (this.ports.get(r.port) ?? 0) + 1);
  }
}

export interface AggregatorOptions {
  source: string;
  windowMs: number;
  graceMs: number;
  topN: number;
  maxSites: number;
  /** Configured sites and their protected addresses (always tracked by name). */
  sites: Record<string, string>;
}

export interface AggregatorStats {
  counted: number;
  /** Lines older than the open windows, not counted. */
  stale: number;
  /** Lines stamped in the future beyond the allowed skew, counted in the newest window. */
  ahead: number;
}

/**
 * Buckets records by the server's own time stamp into windows of windowMs and turns each finished window into one
 * Sample per site: request rate, status mix and top clients/paths/agents per second, distinct clients. A window is
 * finished graceMs after it ends (so slightly late lines still land in it); sites seen in the last minute get a
 * Sample every window, zero when idle.
 */
export class Aggregator {
  private readonly buckets = new Map<number, Map<string, SiteWindow>>();
  /** Start of the oldest window not yet emitted. */
  private openFrom: number;
  private readonly lastSeen = new Map<string, number>();
  private readonly prefixes = new Map<string, Prefix>();
  private readonly ipOk = new Map<string, string | null>();
  readonly stats: AggregatorStats = { counted: 0, stale: 0, ahead: 0 };

  constructor(
    private readonly o: AggregatorOptions,
    now: number,
  ) {
    this.openFrom = Math.floor(now / o.windowMs) * o.windowMs;
    for (const [site, addr] of Object.entries(o.sites)) this.prefixes.set(site, Prefix.parse(addr));
  }

  add(r: HttpRecord, site: string, now: number): void {
    let t = r.time;
    if (t > now + MAX_AHEAD_MS) {
      this.stats.ahead++;
      t = now;
    }
    if (t < this.openFrom) {
      if (t < this.openFrom - MAX_LATE_MS) {
        this.stats.stale++;
        return;
      }
      t = this.openFrom;
    }
    const start = Math.floor(t / this.o.windowMs) * this.o.windowMs;
    let sites = this.buckets.get(start);
    if (!sites) this.buckets.set(start, (sites = new Map<string, SiteWindow>()));
    let key = site;
    if (!sites.has(key) && !this.prefixes.has(key) && sites.size >= this.o.maxSites) key = OTHER_SITE;
    let w = sites.get(key);
    if (!w) sites.set(key, (w = new SiteWindow()));
    w.add(r);
    this.stats.counted++;
  }

  /** Samples of every window that ended at least graceMs before `now`, oldest first. */
  flush(now: number): Sample[] {
    const out: Sample[] = [];
    const w = this.o.windowMs;
    // After a stall (suspend, a clock step) do not replay every missed window: skip to the last minute.
    const skipTo = Math.floor((now - this.o.graceMs - SITE_IDLE_MS) / w) * w;
    if (skipTo > this.openFrom) {
      for (const start of this.buckets.keys()) if (start < skipTo) this.buckets.delete(start);
      this.openFrom = skipTo;
    }
    while (this.openFrom + w + this.o.graceMs <= now) {
      const start = this.openFrom;
      const end = start + w;
      const sites = this.buckets.get(start) ?? new Map<string, SiteWindow>();
      this.buckets.delete(start);
      for (const site of sites.keys()) this.lastSeen.set(site, end);
      for (const [site, seen] of this.lastSeen) {
        if (end - seen > SITE_IDLE_MS) {
          this.lastSeen.delete(site);
          continue;
        }
        out.push(this.sample(site, end, sites.get(site)));
      }
      this.openFrom = end;
    }
    return out;
  }

  /** A logged client address in canonical form, or null when it is not an address (then it is never offered for blocking). */
  private canonicalIp(ip: string): string | null {
    let v = this.ipOk.get(ip);
    if (v !== undefined) return v;
    try {
      const p = Prefix.parse(ip);
      v = p.isHost ? p.address : null;
    } catch {
      v = null;
    }
    if (this.ipOk.size > 50_000) this.ipOk.clear();
    this.ipOk.set(ip, v);
    return v;
  }

  private sample(site: string, end: number, win: SiteWindow | undefined): Sample {
    const secs = this.o.windowMs / 1000;
    const rate = (n: number) => Math.round((n / secs) * 100) / 100;
    const n = this.o.topN;
    const rates = (list: { key: string; count: number }[]) => list.map((c) => ({ key: c.key, count: rate(c.count) }));
    const s: Sample = {
      source: this.o.source,
      sourceKind: 'l7',
      target: `site:${site}`,
      at: end,
      windowMs: this.o.windowMs,
      direction: 'in',
      pps: rate(win?.requests ?? 0),
      // Request sizes are not in access logs; response bytes are outbound. Detection runs on request rates.
      bps: 0,
    };
    const prefix = this.prefixes.get(site);
    if (prefix) s.prefix = prefix;
    const st = win?.statuses ?? [0, 0, 0, 0, 0];
    const clients = win
      ? win.clients
          .top(n * 2)
          .map((c) => ({ key: this.canonicalIp(c.key), count: c.count }))
          .filter((c): c is { key: string; count: number } => c.key !== null)
          .slice(0, n)
      : [];
    const unique = win?.distinct.estimate() ?? 0;
    s.http = {
      site,
      rps: s.pps,
      statuses: {
        '1xx': rate(st[0]!),
        '2xx': rate(st[1]!),
        '3xx': rate(st[2]!),
        '4xx': rate(st[3]!),
        '5xx': rate(st[4]!),
      },
      topPaths: rates(win?.paths.top(n) ?? []),
      topClients: rates(clients),
      topAgents: rates(win?.agents.top(n) ?? []),
      uniqueClients: unique,
    };
    s.topSrcIps = s.http.topClients!;
    if (win && win.ports.size > 0) {
      s.topDstPorts = [...win.ports]
        .sort((a, b) => b[1] - a[1] || a[0] - b[0])
        .slice(0, n)
        .map(([key, count]) => ({ key, count: rate(count) }));
    }
    s.sourceCount = unique;
    return s;
  }
}
