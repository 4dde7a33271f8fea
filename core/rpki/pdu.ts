// The RTR wire codec (RFC 6810 v0, RFC 8210 v1): pure functions from Buffers to PDUs and back.
// No sockets, no timers, no state: the session in client.ts decides what a PDU means.

export type RtrVersion = 0 | 1;

/** The highest version this codec speaks; a peer's higher version is answered with error 4. */
export const MAX_VERSION: RtrVersion = 1;

export const PDU_TYPE = {
  serialNotify: 0,
  serialQuery: 1,
  resetQuery: 2,
  cacheResponse: 3,
  ipv4Prefix: 4,
  ipv6Prefix: 6,
  endOfData: 7,
  cacheReset: 8,
  routerKey: 9,
  errorReport: 10,
} as const;

export const ERROR_CODE = {
  corruptData: 0,
  internalError: 1,
  noDataAvailable: 2,
  invalidRequest: 3,
  unsupportedVersion: 4,
  unsupportedPduType: 5,
  withdrawalOfUnknownRecord: 6,
  duplicateAnnouncement: 7,
  unexpectedProtocolVersion: 8,
} as const;

export type ErrorCode = (typeof ERROR_CODE)[keyof typeof ERROR_CODE];

const ERROR_NAMES: Record<number, string> = {
  0: 'Corrupt Data',
  1: 'Internal Error',
  2: 'No Data Available',
  3: 'Invalid Request',
  4: 'Unsupported Protocol Version',
  5: 'Unsupported PDU Type',
  6: 'Withdrawal of Unknown Record',
  7: 'Duplicate Announcement Received',
  8: 'Unexpected Protocol Version',
};

export function errorCodeName(code: number): string {
  return ERROR_NAMES[code] ?? `unknown error code ${code}`;
}

/** Timers a v1 End of Data carries; v0 has none (the session uses RFC 8210's defaults). */
export interface RtrTimers {
  refresh: number;
  retry: number;
  expire: number;
}

export const DEFAULT_TIMERS: RtrTimers = { refresh: 3600, retry: 600, expire: 7200 };
/** RFC 8210 §6 upper bounds; lower bounds are relaxed to 1 s so a lab cache can expire data within a test. */
export const TIMER_MAX: RtrTimers = { refresh: 86400, retry: 7200, expire: 172800 };

export type Pdu =
  | { type: 'serial-notify'; version: number; sessionId: number; serial: number }
  | { type: 'serial-query'; version: number; sessionId: number; serial: number }
  | { type: 'reset-query'; version: number }
  | { type: 'cache-response'; version: number; sessionId: number }
  | {
      type: 'prefix';
      version: number;
      family: 4 | 6;
      announce: boolean;
      prefixLength: number;
      maxLength: number;
      /** Network address, 4 or 16 bytes, host bits below prefixLength cleared. */
      address: Uint8Array;
      asn: number;
    }
  | { type: 'end-of-data'; version: number; sessionId: number; serial: number; timers?: RtrTimers }
  | { type: 'cache-reset'; version: number }
  | { type: 'router-key'; version: number; announce: boolean; ski: Uint8Array; asn: number; spki: Uint8Array }
  | { type: 'error-report'; version: number; code: number; encapsulated: Uint8Array; text: string };

/** What the receiver must answer with (an Error Report of `code`) when a PDU cannot be accepted. */
export interface PduError {
  code: ErrorCode;
  message: string;
  /** The offending bytes, to encapsulate in the Error Report (empty when unknown). */
  offending: Uint8Array;
}

export type DecodeResult = { ok: true; pdu: Pdu } | { ok: false; error: PduError };

export const HEADER_LENGTH = 8;
/**
 * No legitimate PDU comes near this (an Error Report with a long text is the largest); a bigger length field is
 * corruption, and accepting it would let a peer make us buffer without bound.
 */
export const MAX_PDU_LENGTH = 64 * 1024;

export type FrameStatus =
  { status: 'complete'; length: number } | { status: 'incomplete' } | { status: 'invalid'; error: PduError };

/** Looks at the header at `offset` and says whether a whole PDU is there (framing is by the length field only). */
export function frameAt(buf: Uint8Array, offset = 0): FrameStatus {
  const available = buf.length - offset;
  if (available < HEADER_LENGTH) return { status: 'incomplete' };
  const length = readU32(buf, offset + 4);
  if (length < HEADER_LENGTH || length > MAX_PDU_LENGTH) {
    return {
      status: 'invalid',
      error: fail(
        ERROR_CODE.corruptData,
        `PDU length ${length} is outside ${HEADER_LENGTH}..${MAX_PDU_LENGTH}`,
        buf.subarray(offset, offset + HEADER_LENGTH),
      ),
    };
  }
  return available >= length ? { status: 'complete', length } : { status: 'incomplete' };
}

/** Decodes exactly one PDU (`frame` is the whole PDU as framed by its length field). */
export function decodePdu(frame: Uint8Array): DecodeResult {
  if (frame.length < HEADER_LENGTH)
    return bad(ERROR_CODE.corruptData, `PDU shorter than its ${HEADER_LENGTH}-byte header`, frame);
  const version = frame[0] as number;
  const type = frame[1] as number;
  const field = readU16(frame, 2);
  const length = readU32(frame, 4);
  if (length !== frame.length)
    return bad(ERROR_CODE.corruptData, `length field says ${length} bytes, frame has ${frame.length}`, frame);
  if (version > MAX_VERSION)
    return bad(
      ERROR_CODE.unsupportedVersion,
      `protocol version ${version} is not supported (highest: ${MAX_VERSION})`,
      frame,
    );
  const expect = (n: number, what: string): DecodeResult | undefined =>
    length === n ? undefined : bad(ERROR_CODE.corruptData, `${what} must be ${n} bytes, got ${length}`, frame);

  switch (type) {
    case PDU_TYPE.serialNotify:
    case PDU_TYPE.serialQuery: {
      const name = type === PDU_TYPE.serialNotify ? 'Serial Notify' : 'Serial Query';
      const wrong = expect(12, name);
      if (wrong) return wrong;
      return ok({
        type: type === PDU_TYPE.serialNotify ? 'serial-notify' : 'serial-query',
        version,
        sessionId: field,
        serial: readU32(frame, 8),
      });
    }
    case PDU_TYPE.resetQuery:
    case PDU_TYPE.cacheReset: {
      const wrong = expect(8, type === PDU_TYPE.resetQuery ? 'Reset Query' : 'Cache Reset');
      if (wrong) return wrong;
      return ok({ type: type === PDU_TYPE.resetQuery ? 'reset-query' : 'cache-reset', version });
    }
    case PDU_TYPE.cacheResponse: {
      const wrong = expect(8, 'Cache Response');
      if (wrong) return wrong;
      return ok({ type: 'cache-response', version, sessionId: field });
    }
    case PDU_TYPE.ipv4Prefix:
    case PDU_TYPE.ipv6Prefix: {
      const family = type === PDU_TYPE.ipv4Prefix ? 4 : 6;
      const addrLen = family === 4 ? 4 : 16;
      const wrong = expect(16 + addrLen, `IPv${family} Prefix`);
      if (wrong) return wrong;
      const flags = frame[8] as number;
      const prefixLength = frame[9] as number;
      const maxLength = frame[10] as number;
      const bits = addrLen * 8;
      if (prefixLength > bits || maxLength > bits || prefixLength > maxLength) {
        return bad(
          ERROR_CODE.corruptData,
          `IPv${family} Prefix with prefix length ${prefixLength} and max length ${maxLength} (need prefix ≤ max ≤ ${bits})`,
          frame,
        );
      }
      const address = maskAddress(frame.subarray(12, 12 + addrLen), prefixLength);
      return ok({
        type: 'prefix',
        version,
        family,
        announce: (flags & 1) === 1,
        prefixLength,
        maxLength,
        address,
        asn: readU32(frame, 12 + addrLen),
      });
    }
    case PDU_TYPE.endOfData: {
      if (version === 0) {
        const wrong = expect(12, 'End of Data (v0)');
        if (wrong) return wrong;
        return ok({ type: 'end-of-data', version, sessionId: field, serial: readU32(frame, 8) });
      }
      const wrong = expect(24, 'End of Data (v1)');
      if (wrong) return wrong;
      const timers = { refresh: readU32(frame, 12), retry: readU32(frame, 16), expire: readU32(frame, 20) };
      return ok({ type: 'end-of-data', version, sessionId: field, serial: readU32(frame, 8), timers });
    }
    case PDU_TYPE.routerKey: {
      if (version === 0) return bad(ERROR_CODE.unsupportedPduType, 'Router Key PDUs do not exist in version 0', frame);
      if (length < 32) return bad(ERROR_CODE.corruptData, `Router Key must be at least 32 bytes, got ${length}`, frame);
      const flags = field >> 8;
      return ok({
        type: 'router-key',
        version,
        announce: (flags & 1) === 1,
        ski: frame.slice(8, 28),
        asn: readU32(frame, 28),
        spki: frame.slice(32),
      });
    }
    case PDU_TYPE.errorReport: {
      if (length < 16)
        return bad(ERROR_CODE.corruptData, `Error Report must be at least 16 bytes, got ${length}`, frame);
      const encLen = readU32(frame, 8);
      if (encLen > length - 16)
        return bad(
          ERROR_CODE.corruptData,
          `Error Report encapsulates ${encLen} bytes but only ${length - 16} remain`,
          frame,
        );
      const textLenAt = 12 + encLen;
      const textLen = readU32(frame, textLenAt);
      if (textLenAt + 4 + textLen !== length) {
        return bad(
          ERROR_CODE.corruptData,
          `Error Report text length ${textLen} does not fill the PDU (${length} bytes)`,
          frame,
        );
      }
      const text = Buffer.from(frame.subarray(textLenAt + 4, length))
        .toString('utf8')
        .replace(/\0+$/, '');
      return ok({ type: 'error-report', version, code: field, encapsulated: frame.slice(12, 12 + encLen), text });
    }
    default:
      return bad(ERROR_CODE.unsupportedPduType, `PDU type ${type} is not supported`, frame);
  }
}

export function encodePdu(pdu: Pdu): Buffer {
  switch (pdu.type) {
    case 'serial-notify':
    case 'serial-query': {
      const b = header(
        pdu.version,
        pdu.type === 'serial-notify' ? PDU_TYPE.serialNotify : PDU_TYPE.serialQuery,
        pdu.sessionId,
        12,
      );
      b.writeUInt32BE(pdu.serial >>> 0, 8);
      return b;
    }
    case 'reset-query':
      return header(pdu.version, PDU_TYPE.resetQuery, 0, 8);
    case 'cache-reset':
      return header(pdu.version, PDU_TYPE.cacheReset, 0, 8);
    case 'cache-response':
      return header(pdu.version, PDU_TYPE.cacheResponse, pdu.sessionId, 8);
    case 'prefix': {
      const addrLen = pdu.family === 4 ? 4 : 16;
      const b = header(pdu.version, pdu.family === 4 ? PDU_TYPE.ipv4Prefix : PDU_TYPE.ipv6Prefix, 0, 16 + addrLen);
      b[8] = pdu.announce ? 1 : 0;
      b[9] = pdu.prefixLength;
      b[10] = pdu.maxLength;
      b.set(pdu.address.subarray(0, addrLen), 12);
      b.writeUInt32BE(pdu.asn >>> 0, 12 + addrLen);
      return b;
    }
    case 'end-of-data': {
      if (pdu.version === 0 || !pdu.timers) {
        const b = header(pdu.version, PDU_TYPE.endOfData, pdu.sessionId, pdu.version === 0 ? 12 : 24);
        b.writeUInt32BE(pdu.serial >>> 0, 8);
        if (pdu.version !== 0) writeTimers(b, DEFAULT_TIMERS);
        return b;
      }
      const b = header(pdu.version, PDU_TYPE.endOfData, pdu.sessionId, 24);
      b.writeUInt32BE(pdu.serial >>> 0, 8);
      writeTimers(b, pdu.timers);
      return b;
    }
    case 'router-key': {
      const b = header(pdu.version, PDU_TYPE.routerKey, (pdu.announce ? 1 : 0) << 8, 32 + pdu.spki.length);
      b.set(pdu.ski.subarray(0, 20), 8);
      b.writeUInt32BE(pdu.asn >>> 0, 28);
      b.set(pdu.spki, 32);
      return b;
    }
    case 'error-report':
      return encodeErrorReport(pdu.version, pdu.code, pdu.encapsulated, pdu.text);
  }
}

export function encodeErrorReport(version: number, code: number, encapsulated: Uint8Array, text: string): Buffer {
  // The encapsulated PDU is evidence, not payload: cap it so an error about a huge PDU stays a small PDU.
  const enc = encapsulated.subarray(0, Math.min(encapsulated.length, 1024));
  const textBytes = Buffer.from(text, 'utf8').subarray(0, 4096);
  const length = 16 + enc.length + textBytes.length;
  const b = header(version, PDU_TYPE.errorReport, code, length);
  b.writeUInt32BE(enc.length, 8);
  b.set(enc, 12);
  b.writeUInt32BE(textBytes.length, 12 + enc.length);
  b.set(textBytes, 16 + enc.length);
  return b;
}

function header(version: number, type: number, field: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  b[0] = version;
  b[1] = type;
  b.writeUInt16BE(field & 0xffff, 2);
  b.writeUInt32BE(length, 4);
  return b;
}

function writeTimers(b: Buffer, t: RtrTimers): void {
  b.writeUInt32BE(t.refresh >>> 0, 12);
  b.writeUInt32BE(t.retry >>> 0, 16);
  b.writeUInt32BE(t.expire >>> 0, 20);
}

function maskAddress(raw: Uint8Array, length: number): Uint8Array {
  const out = Uint8Array.from(raw);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    out[i] = (out[i] as number) & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function readU16(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}

function readU32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  );
}

function ok(pdu: Pdu): DecodeResult {
  return { ok: true, pdu };
}

function fail(code: ErrorCode, message: string, offending: Uint8Array): PduError {
  return { code, message, offending: Uint8Array.from(offending.subarray(0, 1024)) };
}

function bad(code: ErrorCode, message: string, frame: Uint8Array): DecodeResult {
  return { ok: false, error: fail(code, message, frame) };
}
