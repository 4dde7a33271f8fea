import type { DecodedDatagram, InterfaceCounters } from '../decode/types.js';

interface SequenceStream {
  prev: number;
  prevAdvance: number;
  mode: 'unknown' | 'exclusive' | 'inclusive';
  lost: number;
  received: number;
  restarts: number;
  uncounted: boolean;
}

/** What ft knows about one exporter: is it alive, is it losing data, can we decode it. */
export interface ExporterHealth {
  exporter: string;
  protocols: string[];
  /** ms since the epoch. */
  firstSeen: number;
  lastSeen: number;
  datagrams: number;
  records: number;
  decodeErrors: number;
  lastError?: string;
  templateMisses: number;
  /** Records whose template has no destination address (L2-only templates): decoded and counted, not traffic. */
  recordsWithoutDestination: number;
  /** Records refused because their counters cannot be true (see decode/plausible.ts), and the latest reason. */
  rejectedRecords: number;
  lastRejected?: string;
  /** Records whose sampling rate the exporter never stated (the configured default was used). */
  unknownSampling: number;
  /** Records whose stated rate was above 1:1,000,000 (kept, but probably a unit mix-up on the exporter). */
  absurdSampling: number;
  lastSamplingRate?: number;
  /** Units the sequence numbers say went missing, and what they count (flows, datagrams or records). */
  sequenceLost: number;
  sequenceUnit?: string;
  /** Estimated share of the exporter's data lost between it and us, from sequence gaps. */
  estimatedLoss: number;
  restarts: number;
  /** sFlow: packets the agent itself dropped before sampling. */
  exporterDrops: number;
  /** sFlow counter samples: the agent's own interface totals, latest per ifIndex. */
  interfaces: (InterfaceCounters & { at: number })[];
}

const MAX_INTERFACES = 256;
/** A jump larger than this is a restart or reordering, not loss. */
const MAX_PLAUSIBLE_GAP = 1_000_000;
/** Backward steps up to two datagrams' worth are reordering (or options records counted differently), not a restart. */
const MIN_REORDER = 2;

/** What one datagram's records added up to, as the collector counted them. */
export interface DatagramTally {
  unknownSampling: number;
  absurdSampling: number;
  rejected: number;
  lastRejected: string | undefined;
  lastRate: number | undefined;
}

class ExporterState {
  readonly protocols = new Set<string>();
  readonly streams = new Map<string, SequenceStream>();
  readonly interfaces = new Map<number, InterfaceCounters & { at: number }>();
  datagrams = 0;
  records = 0;
  decodeErrors = 0;
  lastError: string | undefined;
  templateMisses = 0;
  recordsWithoutDestination = 0;
  rejectedRecords = 0;
  lastRejected: string | undefined;
  unknownSampling = 0;
  absurdSampling = 0;
  lastSamplingRate: number | undefined;
  exporterDrops = 0;
  sequenceUnit: string | undefined;
  lastSeen: number;

  constructor(
    readonly exporter: string,
    readonly firstSeen: number,
  ) {
    this.lastSeen = firstSeen;
  }

  /** The stream of the previous datagram: an exporter's datagrams mostly come from one stream (no key string then). */
  private lastStream: { protocol: string; domain: number; stream: SequenceStream } | undefined;

  sequence(d: DecodedDatagram): void {
    this.sequenceUnit = d.sequenceCounts;
    const last = this.lastStream;
    let s: SequenceStream | undefined;
    let key = '';
    if (last !== undefined && last.protocol === d.protocol && last.domain === d.domain) s = last.stream;
    else {
      key = `${d.protocol}|${d.domain}`;
      s = this.streams.get(key);
      if (s !== undefined) this.lastStream = { protocol: d.protocol, domain: d.domain, stream: s };
    }
    const seq = d.sequence >>> 0;
    const adv = d.sequenceAdvance;
    if (s === undefined) {
      if (this.streams.size < 64)
        this.streams.set(key, {
          prev: seq,
          prevAdvance: adv,
          lost: 0,
          received: adv,
          restarts: 0,
          uncounted: d.sequenceCounts === 'records' && d.templateMisses > 0,
          // NetFlow v5 (flows), v9 and sFlow (datagrams) count what was sent before this datagram, by definition
          // (Cisco's v5 format, RFC 3954 §5.1, sFlow v5 §5): a gap at the very first step is loss too. IPFIX is
          // also defined that way (RFC 7011 §3.1), but some exporters count the current message's records as
          // well (softflowd): that is worked out per stream.
          mode: d.sequenceCounts === 'records' ? 'unknown' : 'exclusive',
        });
      return;
    }
    // RFC numbering counts what was sent BEFORE this message; some exporters (softflowd's IPFIX) count it too.
    const exclusive = (seq - ((s.prev + s.prevAdvance) >>> 0)) | 0;
    const inclusive = (((seq - adv) >>> 0) - s.prev) | 0;
    let gap: number;
    if (s.mode === 'unknown') {
      // Only a step where the two rules disagree (record counts differ) tells them apart; where they agree the
      // gap is the same either way. Neither fitting exactly: at least the smaller gap is lost.
      if (exclusive === inclusive) gap = exclusive;
      else if (exclusive === 0) {
        s.mode = 'exclusive';
        gap = 0;
      } else if (inclusive === 0) {
        s.mode = 'inclusive';
        gap = 0;
      } else gap = exclusive > 0 && inclusive > 0 ? Math.min(exclusive, inclusive) : 0;
    } else gap = s.mode === 'inclusive' ? inclusive : exclusive;
    if (gap > 0 && gap <= MAX_PLAUSIBLE_GAP) {
      // IPFIX counts data records, and those of an unknown template could not be counted: that gap is ours.
      if (!s.uncounted) s.lost += gap;
    } else if (gap > MAX_PLAUSIBLE_GAP || -gap > Math.max(2 * Math.max(adv, s.prevAdvance), MIN_REORDER)) {
      // Far backwards or a huge jump: the exporter restarted; the first gap after a restart is not loss.
      s.restarts++;
      if (d.sequenceCounts === 'records') s.mode = 'unknown';
    }
    // Small negative steps: a reordered datagram, or options records one exporter counts and another does not.
    s.received += adv;
    s.prev = seq;
    s.prevAdvance = adv;
    s.uncounted = d.sequenceCounts === 'records' && d.templateMisses > 0;
  }
}

/** Per-exporter health, bounded: beyond `maxExporters` the least recently seen exporter is forgotten. */
export class ExporterTable {
  private readonly exporters = new Map<string, ExporterState>();

  constructor(private readonly maxExporters = 1024) {}

  private state(exporter: string, now: number): ExporterState {
    let s = this.exporters.get(exporter);
    if (s === undefined) {
      s = new ExporterState(exporter, now);
      while (this.exporters.size >= this.maxExporters)
        this.exporters.delete(this.exporters.keys().next().value as string);
      this.exporters.set(exporter, s);
    } else if (now - s.lastSeen > 1000) {
      // Keep Map order roughly by recency without paying a delete+set per datagram.
      this.exporters.delete(exporter);
      this.exporters.set(exporter, s);
    }
    s.lastSeen = now;
    return s;
  }

  decoded(exporter: string, now: number, d: DecodedDatagram, records: number, t: DatagramTally): void {
    const s = this.state(exporter, now);
    s.datagrams++;
    s.protocols.add(d.protocol);
    s.records += records;
    s.templateMisses += d.templateMisses;
    s.recordsWithoutDestination += d.recordsWithoutDestination;
    s.rejectedRecords += t.rejected;
    if (t.lastRejected !== undefined) s.lastRejected = t.lastRejected;
    s.unknownSampling += t.unknownSampling;
    s.absurdSampling += t.absurdSampling;
    if (t.lastRate !== undefined) s.lastSamplingRate = t.lastRate;
    s.exporterDrops += d.exporterDrops;
    s.sequence(d);
    for (const c of d.counters) {
      if (s.interfaces.size < MAX_INTERFACES || s.interfaces.has(c.ifIndex))
        s.interfaces.set(c.ifIndex, { ...c, at: now });
    }
  }

  failed(exporter: string, now: number, reason: string): void {
    const s = this.state(exporter, now);
    s.datagrams++;
    s.decodeErrors++;
    s.lastError = reason;
  }

  list(): ExporterHealth[] {
    return [...this.exporters.values()]
      .map((s) => {
        let lost = 0;
        let received = 0;
        let restarts = 0;
        for (const st of s.streams.values()) {
          lost += st.lost;
          received += st.received;
          restarts += st.restarts;
        }
        const h: ExporterHealth = {
          exporter: s.exporter,
          protocols: [...s.protocols].sort(),
          firstSeen: s.firstSeen,
          lastSeen: s.lastSeen,
          datagrams: s.datagrams,
          records: s.records,
          decodeErrors: s.decodeErrors,
          templateMisses: s.templateMisses,
          recordsWithoutDestination: s.recordsWithoutDestination,
          rejectedRecords: s.rejectedRecords,
          unknownSampling: s.unknownSampling,
          absurdSampling: s.absurdSampling,
          sequenceLost: lost,
          estimatedLoss: lost + received > 0 ? lost / (lost + received) : 0,
          restarts,
          exporterDrops: s.exporterDrops,
          interfaces: [...s.interfaces.values()],
        };
        if (s.lastError !== undefined) h.lastError = s.lastError;
        if (s.lastRejected !== undefined) h.lastRejected = s.lastRejected;
        if (s.lastSamplingRate !== undefined) h.lastSamplingRate = s.lastSamplingRate;
        if (s.sequenceUnit !== undefined) h.sequenceUnit = s.sequenceUnit;
        return h;
      })
      .sort((a, b) => a.exporter.localeCompare(b.exporter));
  }
}

/**
 * One entry per exporter across receive shards. An exporter normally reaches one shard only; after it restarts
 * from a new source port the kernel may hash it to another, and both shards then know it: counts add up, the
 * newest state (last error, last rate, interfaces) wins, loss is weighed by the datagrams each shard saw.
 */
export function mergeHealth(entries: ExporterHealth[]): ExporterHealth[] {
  const byExporter = new Map<string, ExporterHealth>();
  for (const e of entries) {
    const m = byExporter.get(e.exporter);
    if (m === undefined) {
      byExporter.set(e.exporter, e);
      continue;
    }
    const [older, newer] = m.lastSeen <= e.lastSeen ? [m, e] : [e, m];
    const datagrams = m.datagrams + e.datagrams;
    const merged: ExporterHealth = {
      ...newer,
      protocols: [...new Set([...m.protocols, ...e.protocols])].sort(),
      firstSeen: Math.min(m.firstSeen, e.firstSeen),
      datagrams,
      records: m.records + e.records,
      decodeErrors: m.decodeErrors + e.decodeErrors,
      templateMisses: m.templateMisses + e.templateMisses,
      recordsWithoutDestination: m.recordsWithoutDestination + e.recordsWithoutDestination,
      rejectedRecords: m.rejectedRecords + e.rejectedRecords,
      unknownSampling: m.unknownSampling + e.unknownSampling,
      absurdSampling: m.absurdSampling + e.absurdSampling,
      sequenceLost: m.sequenceLost + e.sequenceLost,
      estimatedLoss: datagrams > 0 ? (m.estimatedLoss * m.datagrams + e.estimatedLoss * e.datagrams) / datagrams : 0,
      restarts: m.restarts + e.restarts,
      exporterDrops: m.exporterDrops + e.exporterDrops,
      interfaces: [...new Map([...older.interfaces, ...newer.interfaces].map((i) => [i.ifIndex, i] as const)).values()],
    };
    if (newer.lastError === undefined && older.lastError !== undefined) merged.lastError = older.lastError;
    if (newer.lastRejected === undefined && older.lastRejected !== undefined) merged.lastRejected = older.lastRejected;
    if (newer.lastSamplingRate === undefined && older.lastSamplingRate !== undefined)
      merged.lastSamplingRate = older.lastSamplingRate;
    byExporter.set(e.exporter, merged);
  }
  return [...byExporter.values()].sort((a, b) => a.exporter.localeCompare(b.exporter));
}
