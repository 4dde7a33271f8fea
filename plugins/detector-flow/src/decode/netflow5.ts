import { u32 } from './addr.js';
import type { FlowBatch } from './batch.js';
import { emptyDatagram, WireError, type DecodedDatagram } from './types.js';

const HEADER = 24;
const RECORD = 48;
const MAX_RECORDS = 30;

/** NetFlow v5: fixed header and 48-byte records, the records into `batch`. Throws WireError (caught by decodeDatagram). */
export function decodeNetflow5(buf: Buffer, batch: FlowBatch): DecodedDatagram {
  if (buf.length < HEADER)
    throw new WireError(0, `NetFlow v5 header needs ${HEADER} bytes, datagram has ${buf.length}`);
  const count = buf.readUInt16BE(2);
  if (count > MAX_RECORDS) throw new WireError(2, `NetFlow v5 count ${count} exceeds ${MAX_RECORDS}`);
  if (buf.length < HEADER + RECORD * count) {
    throw new WireError(
      buf.length,
      `NetFlow v5 datagram of ${buf.length} bytes is too short for ${count} records (${HEADER + RECORD * count})`,
    );
  }
  const out = emptyDatagram('netflow5', batch.datagram);
  out.sequence = buf.readUInt32BE(16);
  out.sequenceCounts = 'flows';
  out.sequenceAdvance = count;
  out.domain = buf.readUInt16BE(20);
  const sampling = buf.readUInt16BE(22);
  // Top two bits are the mode, the low 14 the interval. 0 is what unsampled exporters send, but also what many
  // sampled routers send: it stays "unknown" and the collector applies the exporter's configured rate.
  const interval = sampling & 0x3fff;
  for (let i = 0; i < count; i++) {
    const o = HEADER + i * RECORD;
    const k = batch.push();
    batch.family[k] = 4;
    batch.src4[k] = u32(buf, o);
    batch.dst4[k] = u32(buf, o + 4);
    batch.inputIf[k] = buf.readUInt16BE(o + 12);
    batch.outputIf[k] = buf.readUInt16BE(o + 14);
    batch.packets[k] = u32(buf, o + 16);
    batch.bytes[k] = u32(buf, o + 20);
    batch.srcPort[k] = buf.readUInt16BE(o + 32);
    batch.dstPort[k] = buf.readUInt16BE(o + 34);
    batch.tcpFlags[k] = buf[o + 37] as number;
    batch.protocol[k] = buf[o + 38] as number;
    batch.samplingRate[k] = interval; // 0: unknown
  }
  return out;
}
