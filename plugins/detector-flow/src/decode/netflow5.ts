import { ipv4At } from './addr.js';
import { emptyDatagram, WireError, type DecodedDatagram, type FlowRecord } from './types.js';

const HEADER = 24;
const RECORD = 48;
const MAX_RECORDS = 30;

/** NetFlow v5: fixed header and 48-byte records. Throws WireError (caught by decodeDatagram). */
export function decodeNetflow5(buf: Buffer): DecodedDatagram {
  if (buf.length < HEADER) throw new WireError(0, `NetFlow v5 header needs ${HEADER} bytes, datagram has ${buf.length}`);
  const count = buf.readUInt16BE(2);
  if (count > MAX_RECORDS) throw new WireError(2, `NetFlow v5 count ${count} exceeds ${MAX_RECORDS}`);
  if (buf.length < HEADER + RECORD * count) {
    throw new WireError(buf.length, `NetFlow v5 datagram of ${buf.length} bytes is too short for ${count} records (${HEADER + RECORD * count})`);
  }
  const out = emptyDatagram('netflow5');
  out.sequence = buf.readUInt32BE(16);
  out.sequenceCounts = 'flows';
  out.sequenceAdvance = count;
  out.domain = buf.readUInt16BE(20);
  const sampling = buf.readUInt16BE(22);
  // Top two bits are the mode, the low 14 the interval. 0 is what unsampled exporters send, but also what many
  // sampled routers send: it stays "unknown" and the collector applies the exporter's configured rate.
  const interval = sampling & 0x3fff;
  const samplingRate = interval === 0 ? undefined : interval;
  for (let i = 0; i < count; i++) {
    const o = HEADER + i * RECORD;
    const record: FlowRecord = {
      family: 4,
      srcAddr: ipv4At(buf, o),
      dstAddr: ipv4At(buf, o + 4),
      inputIf: buf.readUInt16BE(o + 12),
      outputIf: buf.readUInt16BE(o + 14),
      packets: buf.readUInt32BE(o + 16),
      bytes: buf.readUInt32BE(o + 20),
      srcPort: buf.readUInt16BE(o + 32),
      dstPort: buf.readUInt16BE(o + 34),
      tcpFlags: buf[o + 37] as number,
      protocol: buf[o + 38] as number,
    };
    if (samplingRate !== undefined) record.samplingRate = samplingRate;
    out.records.push(record);
  }
  return out;
}
