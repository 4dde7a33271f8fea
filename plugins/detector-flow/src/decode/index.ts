import { FlowBatch } from './batch.js';
import { decodeNetflow5 } from './netflow5.js';
import { decodeSflow } from './sflow.js';
import { TemplateCache } from './template-cache.js';
import { decodeIpfix, decodeNetflow9 } from './templated.js';
import { WireError, type DecodeResult, type FlowProtocol } from './types.js';

export * from './types.js';
export { TemplateCache, type TemplateCacheOptions } from './template-cache.js';
export { FlowBatch } from './batch.js';
export { ABSURD_SAMPLING_RATE } from './templated.js';
export { implausibleCounters, MAX_PACKET_BYTES, MAX_RECORD_BYTES, MAX_RECORD_PACKETS } from './plausible.js';

export type ProtocolChoice = FlowProtocol | 'auto' | 'netflow';

export interface DecodeContext {
  /** Who sent the datagram (the UDP source address): templates and sampling rates are per exporter. */
  exporter: string;
  /** Arrival time in ms, for template expiry. */
  now: number;
  cache: TemplateCache;
  /** Forces a format, as a listener may; 'netflow' accepts v5 and v9. Default 'auto'. */
  protocol?: ProtocolChoice;
}

/** Which format a datagram is in, from its first bytes (the UDP port is only a hint). */
export function detectProtocol(buf: Buffer): FlowProtocol | undefined {
  if (buf.length < 4) return undefined;
  if (buf.readUInt32BE(0) === 5) return 'sflow';
  switch (buf.readUInt16BE(0)) {
    case 5:
      return 'netflow5';
    case 9:
      return 'netflow9';
    case 10:
      return 'ipfix';
    default:
      return undefined;
  }
}

function allowed(choice: ProtocolChoice, detected: FlowProtocol): boolean {
  if (choice === 'auto' || choice === detected) return true;
  return choice === 'netflow' && (detected === 'netflow5' || detected === 'netflow9');
}

/** Reused by decodeDatagram: its records are copied out into objects before it returns. */
const shared = new FlowBatch();

/**
 * Decodes one datagram. Never throws: a malformed datagram yields `{ ok: false, offset, reason }` and changes no
 * state (templates it defined are not learned).
 */
export function decodeDatagram(buf: Buffer, ctx: DecodeContext): DecodeResult {
  const result = decodeBatch(buf, ctx, shared);
  // decodeBatch's result is the batch's reused object: the caller gets its own.
  if (result.ok) return { ...result, records: shared.records(), counters: [...result.counters] };
  return result;
}

/**
 * The collector's path: the same decoders, with the flows left in `batch` (cleared first) as columns instead
 * of FlowRecord objects; `records` of the result stays empty. On failure the batch's content is meaningless.
 */
export function decodeBatch(buf: Buffer, ctx: DecodeContext, batch: FlowBatch): DecodeResult {
  batch.clear();
  const protocol = detectProtocol(buf);
  if (protocol === undefined) {
    const head = buf.subarray(0, 4).toString('hex');
    return { ok: false, offset: 0, reason: `not sFlow v5, NetFlow v5/v9 or IPFIX (first bytes ${head || 'none'})` };
  }
  const choice = ctx.protocol ?? 'auto';
  if (!allowed(choice, protocol)) {
    return { ok: false, protocol, offset: 0, reason: `${protocol} datagram on a listener for ${choice}` };
  }
  try {
    switch (protocol) {
      case 'sflow':
        return decodeSflow(buf, batch);
      case 'netflow5':
        return decodeNetflow5(buf, batch);
      case 'netflow9':
        return decodeNetflow9(buf, { exporter: ctx.exporter, now: ctx.now, cache: ctx.cache, batch });
      case 'ipfix':
        return decodeIpfix(buf, { exporter: ctx.exporter, now: ctx.now, cache: ctx.cache, batch });
    }
  } catch (err) {
    if (err instanceof WireError) return { ok: false, protocol, offset: err.offset, reason: err.message };
    // A bug, not bad input: still never let one datagram take the collector down.
    return {
      ok: false,
      protocol,
      offset: 0,
      reason: `internal decoder error: ${(err as Error).message ?? String(err)}`,
    };
  }
}
