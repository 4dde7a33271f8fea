import type { Detector, DetectorMetric, Health } from '@ft/sdk';
import { draft, type EventAppender, type EventDraft, type EventLogger } from './log.js';

/** What the watch needs of an action instance (core/exec's ActionHandle fits). */
export interface WatchedAction {
  name: string;
  kind: string;
  timeoutMs: number;
  action: { health(): Promise<Health> };
}

/** One RTR cache as the RTR client reports it (core/rpki's CacheStatus fits). */
export interface WatchedCache {
  cache: string;
  state: string;
  fresh: boolean;
  serial?: number;
  sessionId?: number;
  dataAgeSeconds?: number;
  vrps: { total: number };
  timers: { expire: number };
  lastError?: { message: string };
}

export interface OperationalWatchOptions {
  events: EventAppender;
  logger?: EventLogger;
  now?: () => number;
  actions?: WatchedAction[];
  /** POP of an action instance (fleet). */
  popOf?: (name: string) => string | undefined;
  detectors?: { name: string; kind?: string; detector: Pick<Detector, 'metrics'> }[];
  /** The RTR client's view of its caches (undefined: no RTR caches in the policy). */
  caches?: () => WatchedCache[];
  /** How often action health is asked for (default 10 s). */
  healthEveryMs?: number;
  /** A detector with no sample for this long is silent (default 60 s). */
  detectorSilentMs?: number;
  /** A flow exporter not heard from for this long is silent (default 60 s). */
  exporterSilentMs?: number;
  /** An exporter losing more than this share of its data (sequence gaps) is degraded (default 0.01). */
  exporterLossRatio?: number;
}

/**
 * The operational side of the stream, for alerts: speakers (every action instance's health), RTR caches and the
 * freshness of the RPKI data, detectors falling silent, flow exporters going quiet or losing data. Only changes
 * are events; the first look reports only what is already wrong. `tick()` is called every second.
 */
export class OperationalWatch {
  private readonly now: () => number;
  private readonly speakerDown = new Map<string, number>();
  private healthAt = -Infinity;
  private checking = false;
  private readonly lastSample = new Map<string, number>();
  private readonly silentSince = new Map<string, number>();
  private readonly exporterState = new Map<string, 'silent' | 'degraded'>();
  private readonly cacheUp = new Map<string, boolean>();
  private stale: boolean | undefined;
  private readonly started: number;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly o: OperationalWatchOptions) {
    this.now = o.now ?? Date.now;
    this.started = this.now();
  }

  /** A sample from this detector instance just arrived. */
  sampleSeen(detector: string): void {
    this.lastSample.set(detector, this.now());
  }

  private emit(drafts: EventDraft[]): void {
    if (drafts.length === 0) return;
    const p = this.o.events
      .append(drafts)
      .catch((err: Error) => this.o.logger?.error({ err: err.message }, 'could not record operational events'));
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  tick(): void {
    const now = this.now();
    this.emit([...this.detectorsNow(now), ...this.exportersNow(now), ...this.rpkiNow()]);
    if (now - this.healthAt >= (this.o.healthEveryMs ?? 10_000) && !this.checking) {
      this.healthAt = now;
      this.checking = true;
      const p = this.speakersNow()
        .then((d) => this.emit(d))
        .finally(() => (this.checking = false));
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
  }

  private async speakersNow(): Promise<EventDraft[]> {
    const out: EventDraft[] = [];
    await Promise.all(
      (this.o.actions ?? []).map(async (a) => {
        let h: Health;
        let timer: NodeJS.Timeout | undefined;
        try {
          h = await Promise.race([
            a.action.health(),
            new Promise<Health>((r) => {
              timer = setTimeout(
                () => r({ status: 'down', detail: `health check did not answer within ${a.timeoutMs} ms` }),
                a.timeoutMs,
              );
            }),
          ]);
        } catch (err) {
          h = { status: 'down', detail: (err as Error).message };
        } finally {
          clearTimeout(timer);
        }
        const pop = this.o.popOf?.(a.name);
        const since = this.speakerDown.get(a.name);
        if (h.status === 'ok') {
          if (since === undefined) return;
          this.speakerDown.delete(a.name);
          out.push(
            draft('speaker.up', {
              speaker: a.name,
              adapter: a.kind,
              ...(pop ? { pop } : {}),
              downForMs: Math.max(0, Math.round(this.now() - since)),
              ...(h.detail ? { detail: h.detail } : {}),
            }),
          );
        } else if (since === undefined) {
          this.speakerDown.set(a.name, this.now());
          out.push(
            draft('speaker.down', {
              speaker: a.name,
              adapter: a.kind,
              ...(pop ? { pop } : {}),
              status: h.status,
              ...(h.detail ? { detail: h.detail } : {}),
            }),
          );
        }
      }),
    );
    return out;
  }

  private detectorsNow(now: number): EventDraft[] {
    const limit = this.o.detectorSilentMs ?? 60_000;
    const out: EventDraft[] = [];
    for (const d of this.o.detectors ?? []) {
      const last = this.lastSample.get(d.name) ?? this.started;
      const silentFor = now - last;
      const since = this.silentSince.get(d.name);
      if (silentFor > limit && since === undefined) {
        this.silentSince.set(d.name, last);
        out.push(
          draft('detector.silent', {
            detector: d.name,
            ...(d.kind ? { kind: d.kind } : {}),
            silentForMs: Math.round(silentFor),
            detail: this.lastSample.has(d.name) ? 'no sample since' : 'no sample since ft started',
          }),
        );
      } else if (silentFor <= limit && since !== undefined) {
        this.silentSince.delete(d.name);
        out.push(
          draft('detector.resumed', {
            detector: d.name,
            ...(d.kind ? { kind: d.kind } : {}),
            silentForMs: Math.round(last - since),
          }),
        );
      }
    }
    return out;
  }

  /**
   * Flow exporters, from the detectors' own metrics (the plugin contract's DetectorMetric): an
   * `…_exporter_last_seen_seconds{exporter}` gauge and an `…_exporter_loss_ratio{exporter}` gauge.
   */
  private exportersNow(now: number): EventDraft[] {
    const out: EventDraft[] = [];
    for (const d of this.o.detectors ?? []) {
      let metrics: DetectorMetric[];
      try {
        metrics = d.detector.metrics?.() ?? [];
      } catch {
        continue;
      }
      const seen = new Map<string, number>();
      const loss = new Map<string, number>();
      for (const m of metrics) {
        const ex = m.labels?.exporter;
        if (!ex) continue;
        if (m.name.endsWith('_exporter_last_seen_seconds')) seen.set(ex, m.value * 1000);
        if (m.name.endsWith('_exporter_loss_ratio')) loss.set(ex, m.value);
      }
      for (const [exporter, at] of seen) {
        const key = `${d.name}\n${exporter}`;
        const silentFor = now - at;
        const lossRatio = loss.get(exporter) ?? 0;
        const state =
          silentFor > (this.o.exporterSilentMs ?? 60_000)
            ? 'silent'
            : lossRatio > (this.o.exporterLossRatio ?? 0.01)
              ? 'degraded'
              : undefined;
        const was = this.exporterState.get(key);
        if (state === was) continue;
        if (state) this.exporterState.set(key, state);
        else this.exporterState.delete(key);
        if (state === 'silent')
          out.push(draft('exporter.silent', { detector: d.name, exporter, silentForMs: Math.round(silentFor) }));
        else if (state === 'degraded')
          out.push(
            draft('exporter.degraded', {
              detector: d.name,
              exporter,
              detail: `loses ${(lossRatio * 100).toFixed(1)} % of its data (sequence gaps)`,
            }),
          );
        else out.push(draft('exporter.ok', { detector: d.name, exporter, detail: `was ${was}` }));
      }
    }
    return out;
  }

  private rpkiNow(): EventDraft[] {
    if (!this.o.caches) return [];
    const caches = this.o.caches();
    const out: EventDraft[] = [];
    for (const c of caches) {
      const up = c.state === 'connected';
      const was = this.cacheUp.get(c.cache);
      if (was === up) continue;
      // At first sight a cache still connecting is undecided; only one that has failed is down.
      if (was === undefined && !up && c.lastError === undefined) continue;
      this.cacheUp.set(c.cache, up);
      if (was === undefined && up) continue;
      if (up)
        out.push(
          draft('rtr.up', {
            cache: c.cache,
            ...(c.serial !== undefined ? { serial: c.serial } : {}),
            ...(c.sessionId !== undefined ? { sessionId: c.sessionId } : {}),
          }),
        );
      else out.push(draft('rtr.down', { cache: c.cache, error: c.lastError?.message ?? `state ${c.state}` }));
    }
    // Stale: no cache has fresh data. Only once some data had been loaded, or the first expiry has passed.
    const fresh = caches.find((c) => c.fresh);
    const everLoaded = caches.some((c) => c.dataAgeSeconds !== undefined);
    const expire = Math.max(0, ...caches.map((c) => c.timers.expire));
    const stale = !fresh && (everLoaded || this.now() - this.started > expire * 1000);
    if (stale !== this.stale && (this.stale !== undefined || stale)) {
      if (stale) {
        const age = Math.max(...caches.map((c) => c.dataAgeSeconds ?? -1));
        out.push(
          draft('rpki.stale', {
            ...(age >= 0 ? { dataAgeSeconds: age } : {}),
            expireSeconds: expire,
            detail:
              age >= 0
                ? `RPKI data is ${Math.round(age)} s old, past its expiry of ${expire} s: announcements follow policy rpki mode, diversion fails closed`
                : 'no RTR cache has delivered data: announcements follow policy rpki mode, diversion fails closed',
          }),
        );
      } else if (fresh)
        out.push(
          draft('rpki.fresh', {
            ...(fresh.dataAgeSeconds !== undefined ? { dataAgeSeconds: fresh.dataAgeSeconds } : {}),
            ...(fresh.serial !== undefined ? { serial: fresh.serial } : {}),
            ...(fresh.sessionId !== undefined ? { sessionId: fresh.sessionId } : {}),
            vrps: fresh.vrps.total,
            detail: `fresh data from ${fresh.cache}`,
          }),
        );
    }
    this.stale = stale;
    return out;
  }
}
