import {
  decodeDatagram,
  TemplateCache,
  type FlowRecord,
  type InterfaceCounters,
  type ProtocolChoice,
} from '../decode/index.js';
import { closeSync, openSync } from 'node:fs';
import { CaptureError, FileSource, isCapture, readCapture, type CapturedDatagram } from '../pcap.js';

export interface DecodedEntry {
  index: number;
  file: string;
  time?: number;
  exporter: string;
  srcPort?: number;
  dstPort?: number;
  length: number;
  ok: boolean;
  protocol?: string;
  error?: { offset: number; reason: string };
  domain?: number;
  sequence?: number;
  agent?: string;
  templatesLearned?: number;
  templatesWithdrawn?: number;
  templateMisses?: number;
  records?: FlowRecord[];
  counters?: InterfaceCounters[];
}

export interface DestinationTotal {
  destination: string;
  /** As exported (unscaled), and scaled by the sampling rate (stated, else `defaultSamplingRate`). */
  packets: number;
  bytes: number;
  scaledPackets: number;
  scaledBytes: number;
}

export interface DecodeReport {
  files: { file: string; format: 'pcap' | 'pcapng' | 'raw'; datagrams: number; skippedFrames: number }[];
  summary: {
    datagrams: number;
    decoded: number;
    errors: number;
    records: number;
    templateMisses: number;
    byDestination: DestinationTotal[];
  };
}

export interface DecodeOptions {
  protocol: ProtocolChoice;
  /** Only datagrams to this UDP port (captures often hold other traffic). */
  port?: number;
  /** Exporter name for raw datagram files (a capture has the real source addresses). */
  exporter: string;
  defaultSamplingRate: number;
}

/** A file that cannot be read at all (exit 2), as opposed to datagrams that do not decode (exit 1). */
export class DecodeFileError extends Error {}

/** The largest UDP payload: a file that is not a capture and is larger cannot be one raw datagram. */
const MAX_DATAGRAM = 65_535;

/**
 * Decodes captures (pcap/pcapng of exported datagrams) or raw datagram files in order, sharing one template cache
 * as a collector would, so templates seen early decode data seen later. Streams: captures are read in chunks and
 * each datagram goes to `each` (awaited, so a slow stdout holds the reading back) and is then forgotten; what is
 * kept is per-destination totals. Memory stays flat in the capture's size.
 */
export async function decodeFiles(
  files: string[],
  o: DecodeOptions,
  each: (entry: DecodedEntry) => unknown,
): Promise<DecodeReport> {
  const cache = new TemplateCache({ expiryMs: Number.MAX_SAFE_INTEGER });
  const report: DecodeReport = {
    files: [],
    summary: { datagrams: 0, decoded: 0, errors: 0, records: 0, templateMisses: 0, byDestination: [] },
  };
  const totals = new Map<string, DestinationTotal>();
  let index = 0;
  const decodeOne = async (
    file: string,
    d: Pick<CapturedDatagram, 'payload'> & Partial<Omit<CapturedDatagram, 'payload'>>,
  ): Promise<void> => {
    const exporter = d.srcAddr ?? o.exporter;
    const entry: DecodedEntry = { index: ++index, file, exporter, length: d.payload.length, ok: false };
    if (d.time !== undefined) entry.time = d.time;
    if (d.srcPort !== undefined) entry.srcPort = d.srcPort;
    if (d.dstPort !== undefined) entry.dstPort = d.dstPort;
    const r = decodeDatagram(d.payload, { exporter, now: d.time ?? 0, cache, protocol: o.protocol });
    if (r.protocol) entry.protocol = r.protocol;
    if (!r.ok) {
      entry.error = { offset: r.offset, reason: r.reason };
      report.summary.errors++;
    } else {
      entry.ok = true;
      Object.assign(entry, {
        domain: r.domain,
        sequence: r.sequence,
        templatesLearned: r.templatesLearned,
        templatesWithdrawn: r.templatesWithdrawn,
        templateMisses: r.templateMisses,
        records: r.records,
        counters: r.counters,
      });
      if (r.agent) entry.agent = r.agent;
      report.summary.decoded++;
      report.summary.records += r.records.length;
      report.summary.templateMisses += r.templateMisses;
      for (const rec of r.records) {
        const rate = rec.samplingRate ?? o.defaultSamplingRate;
        let t = totals.get(rec.dstAddr);
        if (!t) {
          t = { destination: rec.dstAddr, packets: 0, bytes: 0, scaledPackets: 0, scaledBytes: 0 };
          totals.set(rec.dstAddr, t);
        }
        t.packets += rec.packets;
        t.bytes += rec.bytes;
        t.scaledPackets += rec.packets * rate;
        t.scaledBytes += rec.bytes * rate;
      }
    }
    report.summary.datagrams++;
    await each(entry);
  };
  for (const name of files) {
    let fd: number;
    try {
      fd = openSync(name, 'r');
    } catch (err) {
      throw new DecodeFileError(
        `cannot read ${name}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    try {
      const src = new FileSource(fd);
      if (isCapture(src.at(0, 4))) {
        const cap = readCapture(src);
        let n = 0;
        for (const d of cap.datagrams()) {
          if (o.port !== undefined && d.dstPort !== o.port) continue;
          n++;
          await decodeOne(name, d);
        }
        report.files.push({ file: name, format: cap.format, datagrams: n, skippedFrames: cap.skipped });
      } else {
        const payload = Buffer.from(src.at(0, MAX_DATAGRAM + 1));
        if (payload.length > MAX_DATAGRAM)
          throw new DecodeFileError(
            `${name} is not a pcap/pcapng capture, and is too large to be one raw datagram (over ${MAX_DATAGRAM} bytes)`,
          );
        await decodeOne(name, { payload });
        report.files.push({ file: name, format: 'raw', datagrams: 1, skippedFrames: 0 });
      }
    } catch (err) {
      if (err instanceof CaptureError) throw new DecodeFileError(`broken capture ${name}: ${err.message}`);
      throw err;
    } finally {
      closeSync(fd);
    }
  }
  report.summary.byDestination = [...totals.values()].sort(
    (a, b) => b.scaledBytes - a.scaledBytes || a.destination.localeCompare(b.destination),
  );
  return report;
}

const FLAG_LETTERS = 'FSRPAUEC';

export function flagText(flags: number): string {
  let s = '';
  for (let i = 0; i < 8; i++) if (flags & (1 << i)) s += FLAG_LETTERS[i];
  return s || '-';
}

export function protoName(p: number): string {
  return p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 1 ? 'icmp' : p === 58 ? 'icmp6' : String(p);
}

const hostPort = (a: string, p: number) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);

/** The human rendering of one datagram: a line, then one indented line per record when `showRecords`. */
export function renderEntry(d: DecodedEntry, showRecords: boolean): string[] {
  const where = `#${d.index} ${d.srcPort !== undefined ? hostPort(d.exporter, d.srcPort) : d.exporter} ${d.length} B`;
  if (!d.ok) return [`${where} ${d.protocol ?? '?'} ERROR at byte ${d.error?.offset}: ${d.error?.reason}`];
  const extra = [
    d.templatesLearned ? `${d.templatesLearned} template(s) learned` : '',
    d.templatesWithdrawn ? `${d.templatesWithdrawn} withdrawn` : '',
    d.templateMisses ? `${d.templateMisses} set(s) with unknown template` : '',
    d.counters?.length ? `${d.counters.length} interface counter(s)` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const lines = [
    `${where} ${d.protocol} domain ${d.domain} seq ${d.sequence}: ${d.records?.length ?? 0} record(s)${extra ? `, ${extra}` : ''}`,
  ];
  if (showRecords) {
    for (const rec of d.records ?? []) {
      lines.push(
        `  ${hostPort(rec.srcAddr ?? '(no source)', rec.srcPort)} -> ${hostPort(rec.dstAddr, rec.dstPort)} ${protoName(rec.protocol)} ${rec.packets} pkt ${rec.bytes} B flags ${flagText(rec.tcpFlags)} rate ${rec.samplingRate ?? '?'}`,
      );
    }
  }
  return lines;
}

/** The summary line after the datagrams. */
export function renderSummary(r: DecodeReport): string {
  const s = r.summary;
  return `${s.datagrams} datagram(s): ${s.decoded} decoded, ${s.errors} error(s), ${s.records} record(s), ${s.templateMisses} template miss(es)`;
}
