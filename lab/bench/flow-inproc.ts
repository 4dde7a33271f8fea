// In-process harness for the flow collector's hot path (no sockets): decode-only and decode+aggregate records
// per CPU-second on the bench corpora. `node --import tsx lab/bench/flow-inproc.ts DIR [FORMAT]` writes the
// corpora to DIR on first use (softflowd/pmacctd needed) and reuses them after; run it under --cpu-prof to see
// where the collector spends its time.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prefix } from '@ft/sdk';
import { Collector, COLLECTOR_DEFAULTS } from '../../plugins/detector-flow/src/aggregate/collector.js';
import { decodeDatagram, TemplateCache } from '../../plugins/detector-flow/src/decode/index.js';
import { captureExport, pmacctSfprobe, softflowd } from '../../plugins/detector-flow/test/helpers/exporters.js';
import { rng, trafficPcap, type PacketSpec } from '../../plugins/detector-flow/test/helpers/pcap-writer.js';

export type Format = 'netflow5' | 'netflow9' | 'ipfix' | 'sflow';
export const FORMATS: Format[] = ['netflow5', 'netflow9', 'ipfix', 'sflow'];

/** 40,000 distinct flows from 250 sources to 250 hosts of 203.0.113.0/24 (the bench's traffic). */
export function benchTraffic(): PacketSpec[] {
  const r = rng(42);
  const out: PacketSpec[] = [];
  let t = 1_700_000_000;
  for (let i = 0; i < 40_000; i++) {
    t += 0.0001;
    const udp = r() < 0.6;
    out.push({
      time: t,
      src: `198.51.100.${1 + Math.floor(r() * 250)}`,
      dst: `203.0.113.${1 + Math.floor(r() * 250)}`,
      protocol: udp ? 'udp' : 'tcp',
      srcPort: 1024 + Math.floor(r() * 60000),
      dstPort: [53, 80, 443, 123, 11211][i % 5]!,
      payload: 40 + Math.floor(r() * 1200),
      flags: 0x02,
    });
  }
  return out;
}

/** The four corpora as exported by softflowd (v5, v9, IPFIX) and pmacctd sfprobe (sFlow). */
export async function exportCorpora(dir: string): Promise<Record<Format, Buffer[]>> {
  const pcap = join(dir, 'bench.pcap');
  writeFileSync(pcap, trafficPcap(benchTraffic()));
  const out = {} as Record<Format, Buffer[]>;
  for (const [format, version] of [
    ['netflow5', 5],
    ['netflow9', 9],
    ['ipfix', 10],
  ] as const) {
    out[format] = (await captureExport(softflowd(dir, pcap, version, { tag: format }))).datagrams;
  }
  out.sflow = (
    await captureExport(pmacctSfprobe(dir, pcap, { source: '127.0.0.1', sampling: 1, tag: 'sflow' }))
  ).datagrams;
  return out;
}

export function writeCorpus(file: string, datagrams: Buffer[]): void {
  writeFileSync(
    file,
    Buffer.concat(
      datagrams.flatMap((d) => {
        const h = Buffer.alloc(2);
        h.writeUInt16BE(d.length);
        return [h, d];
      }),
    ),
  );
}

export function readCorpus(file: string): Buffer[] {
  const raw = readFileSync(file);
  const out: Buffer[] = [];
  for (let o = 0; o + 2 <= raw.length; o += 2 + raw.readUInt16BE(o))
    out.push(raw.subarray(o + 2, o + 2 + raw.readUInt16BE(o)));
  return out;
}

function cpuSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/** Decoders alone: records per CPU-second. */
export function decodeOnly(datagrams: Buffer[], reps = 10): number {
  const cache = new TemplateCache();
  let records = 0;
  const c0 = process.cpuUsage();
  for (let rep = 0; rep < reps; rep++) {
    for (const d of datagrams) {
      const r = decodeDatagram(d, { exporter: '127.0.0.1', now: 0, cache });
      if (r.ok) records += r.records.length;
    }
  }
  return records / cpuSince(c0);
}

/** Decode + aggregate as the listener drives it (a window closed every 100k records): records per CPU-second. */
export function collectorOnly(datagrams: Buffer[], reps = 10): number {
  const c = new Collector({
    ...COLLECTOR_DEFAULTS,
    source: 'bench',
    protect: ['203.0.113.0/24', '198.51.100.0/24', '2001:db8::/32'].map((p) => Prefix.parse(p)),
    exporterSamplingRates: new Map(),
  });
  let next = 100_000;
  const c0 = process.cpuUsage();
  for (let rep = 0; rep < reps; rep++) {
    for (const d of datagrams) {
      c.ingest(d, '127.0.0.1', rep);
      if (c.records >= next) {
        c.flush(rep);
        next += 100_000;
      }
    }
  }
  return c.records / cpuSince(c0);
}

if (import.meta.filename === process.argv[1]) {
  const dir = process.argv[2] ?? '/tmp/ft-flow-inproc';
  const only = process.argv[3] as Format | undefined;
  mkdirSync(dir, { recursive: true });
  if (!FORMATS.every((f) => existsSync(join(dir, `${f}.corpus`)))) {
    const corpora = await exportCorpora(dir);
    for (const f of FORMATS) writeCorpus(join(dir, `${f}.corpus`), corpora[f]);
  }
  for (const f of FORMATS) {
    if (only && f !== only) continue;
    const d = readCorpus(join(dir, `${f}.corpus`));
    decodeOnly(d, 3);
    collectorOnly(d, 3);
    const reps = Number(process.env.REPS ?? 20);
    console.log(
      `${f.padEnd(8)} decode ${Math.round(decodeOnly(d, reps))} rec/CPU-s, decode+aggregate ${Math.round(collectorOnly(d, reps))} rec/CPU-s`,
    );
  }
}
