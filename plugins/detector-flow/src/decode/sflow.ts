import { ipv4At, ipv6At, ipv6TextAt, isV4Mapped, u32 } from './addr.js';
import { decodeEthernet, decodeIPv4, decodeIPv6, type PacketSummary } from './packet.js';
import type { FlowBatch } from './batch.js';
import { emptyDatagram, WireError, type DecodedDatagram, type InterfaceCounters } from './types.js';

const FLOW_SAMPLE = 1;
const COUNTERS_SAMPLE = 2;
const EXPANDED_FLOW_SAMPLE = 3;
const EXPANDED_COUNTERS_SAMPLE = 4;

const RAW_HEADER = 1;
const SAMPLED_IPV4 = 3;
const SAMPLED_IPV6 = 4;
const IF_COUNTERS = 1;

const HEADER_ETHERNET = 1;
const HEADER_IPV4 = 11;
const HEADER_IPV6 = 12;

/** Guards against hostile counts: a 64 KiB datagram cannot hold more than this many 8-byte items anyway. */
const MAX_ITEMS = 8192;

/** sFlow v5 (XDR), the sampled packets into `batch`. Unknown sample and record formats are skipped by their length. */
export function decodeSflow(buf: Buffer, batch: FlowBatch): DecodedDatagram {
  const out = emptyDatagram('sflow', batch.datagram);
  out.sequenceCounts = 'datagrams';
  need(buf, 0, 8, 'sFlow header');
  const addrType = buf.readUInt32BE(4);
  let off = 8;
  if (addrType === 1) {
    need(buf, off, 4, 'agent IPv4 address');
    out.agent = ipv4At(buf, off);
    off += 4;
  } else if (addrType === 2) {
    need(buf, off, 16, 'agent IPv6 address');
    out.agent = ipv6At(buf, off);
    off += 16;
  } else throw new WireError(4, `agent address type ${addrType} is neither 1 (IPv4) nor 2 (IPv6)`);
  need(buf, off, 16, 'sFlow header');
  out.domain = buf.readUInt32BE(off);
  out.sequence = buf.readUInt32BE(off + 4);
  const samples = buf.readUInt32BE(off + 12);
  off += 16;
  if (samples > MAX_ITEMS) throw new WireError(off - 4, `sample count ${samples} is impossible in one datagram`);
  for (let i = 0; i < samples; i++) {
    need(buf, off, 8, `sample ${i + 1} header`);
    const format = buf.readUInt32BE(off);
    const length = buf.readUInt32BE(off + 4);
    const body = off + 8;
    if (length > buf.length - body)
      throw new WireError(off + 4, `sample ${i + 1} length ${length} runs past the datagram`);
    const end = body + length;
    // Enterprise 0 only: vendor sample formats are skipped.
    if (format === FLOW_SAMPLE || format === EXPANDED_FLOW_SAMPLE)
      readFlowSample(buf, body, end, format === EXPANDED_FLOW_SAMPLE, out, batch);
    else if (format === COUNTERS_SAMPLE || format === EXPANDED_COUNTERS_SAMPLE)
      readCountersSample(buf, body, end, format === EXPANDED_COUNTERS_SAMPLE, out);
    off = end;
  }
  return out;
}

function need(buf: Buffer | { length: number }, off: number, n: number, what: string, end = buf.length): number {
  if (off + n > end)
    throw new WireError(off, `${what} needs ${n} bytes at offset ${off}, only ${Math.max(0, end - off)} left`);
  return off;
}

function readFlowSample(
  buf: Buffer,
  off: number,
  end: number,
  expanded: boolean,
  out: DecodedDatagram,
  batch: FlowBatch,
): void {
  // seq, source id (1 or 2 words), rate, pool, drops, input (1 or 2), output (1 or 2), record count
  const words = expanded ? 11 : 8;
  need(buf, off, words * 4, expanded ? 'expanded flow sample' : 'flow sample', end);
  let p = off + 4 + (expanded ? 8 : 4);
  const rate = buf.readUInt32BE(p);
  const drops = buf.readUInt32BE(p + 8);
  p += 12;
  let inputIf: number;
  let outputIf: number;
  if (expanded) {
    inputIf = buf.readUInt32BE(p + 4);
    outputIf = buf.readUInt32BE(p + 12);
    p += 16;
  } else {
    inputIf = buf.readUInt32BE(p) & 0x3fffffff;
    outputIf = buf.readUInt32BE(p + 4) & 0x3fffffff;
    p += 8;
  }
  const records = buf.readUInt32BE(p);
  p += 4;
  if (records > MAX_ITEMS) throw new WireError(p - 4, `flow record count ${records} is impossible`);
  out.exporterDrops += drops;
  let summary: PacketSummary | undefined;
  let bytes = 0;
  for (let r = 0; r < records; r++) {
    need(buf, p, 8, `flow record ${r + 1}`, end);
    const format = buf.readUInt32BE(p);
    const length = buf.readUInt32BE(p + 4);
    const body = p + 8;
    if (length > end - body) throw new WireError(p + 4, `flow record ${r + 1} length ${length} runs past its sample`);
    const recEnd = body + length;
    if (format === RAW_HEADER && summary === undefined) {
      need(buf, body, 16, 'raw packet header record', recEnd);
      const proto = buf.readUInt32BE(body);
      const frameLength = buf.readUInt32BE(body + 4);
      const headerLength = buf.readUInt32BE(body + 12);
      if (headerLength > recEnd - body - 16)
        throw new WireError(body + 12, `sampled header length ${headerLength} runs past its record`);
      const h = body + 16;
      const hEnd = h + headerLength;
      summary =
        proto === HEADER_ETHERNET
          ? decodeEthernet(buf, h, hEnd)
          : proto === HEADER_IPV4
            ? decodeIPv4(buf, h, hEnd)
            : proto === HEADER_IPV6
              ? decodeIPv6(buf, h, hEnd)
              : undefined;
      // IP length when the header shows it (the unit NetFlow uses); else the frame as the exporter saw it.
      bytes = summary !== undefined ? summary.ipLength : frameLength;
    } else if ((format === SAMPLED_IPV4 || format === SAMPLED_IPV6) && summary === undefined) {
      summary = readSampledIp(buf, body, recEnd, format === SAMPLED_IPV6);
      if (summary) bytes = summary.ipLength;
    }
    p = recEnd;
  }
  if (summary === undefined) return;
  const k = batch.push();
  batch.family[k] = summary.family;
  batch.src4[k] = summary.src4;
  batch.dst4[k] = summary.dst4;
  batch.src6[k] = summary.src6;
  batch.dst6[k] = summary.dst6;
  batch.srcPort[k] = summary.srcPort;
  batch.dstPort[k] = summary.dstPort;
  batch.protocol[k] = summary.protocol;
  batch.tcpFlags[k] = summary.tcpFlags;
  batch.packets[k] = 1;
  batch.bytes[k] = bytes;
  batch.inputIf[k] = inputIf;
  batch.outputIf[k] = outputIf;
  batch.ttl[k] = summary.ttl;
  // Rate 0 is a broken exporter: it stays unknown (0) so the per-exporter default applies.
  batch.samplingRate[k] = rate;
}

function readSampledIp(buf: Buffer, off: number, end: number, v6: boolean): PacketSummary | undefined {
  // length, protocol, src, dst, src port, dst port, tcp flags, tos/priority
  const size = v6 ? 4 + 4 + 16 + 16 + 4 + 4 + 4 + 4 : 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4;
  need(buf, off, size, v6 ? 'sampled IPv6 record' : 'sampled IPv4 record', end);
  const alen = v6 ? 16 : 4;
  const src = off + 8;
  const dst = src + alen;
  const ports = dst + alen;
  const protocol = buf.readUInt32BE(off + 4) & 0xff;
  const isIcmp = protocol === 1 || protocol === 58;
  const mappedSrc = v6 && isV4Mapped(buf, src);
  const mappedDst = v6 && isV4Mapped(buf, dst);
  return {
    family: v6 ? 6 : 4,
    src4: !v6 ? u32(buf, src) : mappedSrc ? u32(buf, src + 12) : 0,
    dst4: !v6 ? u32(buf, dst) : mappedDst ? u32(buf, dst + 12) : 0,
    src6: v6 && !mappedSrc ? ipv6TextAt(buf, src) : undefined,
    dst6: v6 && !mappedDst ? ipv6TextAt(buf, dst) : undefined,
    protocol,
    srcPort: isIcmp ? 0 : buf.readUInt32BE(ports) & 0xffff,
    dstPort: buf.readUInt32BE(ports + 4) & 0xffff,
    tcpFlags: buf.readUInt32BE(ports + 8) & 0xff,
    ttl: 0,
    ipLength: buf.readUInt32BE(off),
  };
}

function readCountersSample(buf: Buffer, off: number, end: number, expanded: boolean, out: DecodedDatagram): void {
  const head = expanded ? 16 : 12;
  need(buf, off, head, 'counters sample', end);
  const records = buf.readUInt32BE(off + head - 4);
  if (records > MAX_ITEMS) throw new WireError(off + head - 4, `counter record count ${records} is impossible`);
  let p = off + head;
  for (let r = 0; r < records; r++) {
    need(buf, p, 8, `counter record ${r + 1}`, end);
    const format = buf.readUInt32BE(p);
    const length = buf.readUInt32BE(p + 4);
    const body = p + 8;
    if (length > end - body)
      throw new WireError(p + 4, `counter record ${r + 1} length ${length} runs past its sample`);
    if (format === IF_COUNTERS && length >= 88) {
      const u64 = (o: number) => buf.readUInt32BE(o) * 4294967296 + buf.readUInt32BE(o + 4);
      out.counters.push({
        ifIndex: buf.readUInt32BE(body),
        ifSpeed: u64(body + 8),
        ifInOctets: u64(body + 24),
        ifInUcastPkts: buf.readUInt32BE(body + 32),
        ifInMulticastPkts: buf.readUInt32BE(body + 36),
        ifInBroadcastPkts: buf.readUInt32BE(body + 40),
        ifInDiscards: buf.readUInt32BE(body + 44),
        ifInErrors: buf.readUInt32BE(body + 48),
        ifOutOctets: u64(body + 56),
        ifOutUcastPkts: buf.readUInt32BE(body + 64),
        ifOutDiscards: buf.readUInt32BE(body + 76),
      } satisfies InterfaceCounters);
    }
    p = body + length;
  }
}
