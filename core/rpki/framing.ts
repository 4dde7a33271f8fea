import { frameAt, type PduError } from './pdu.js';

/**
 * Cuts a byte stream into PDUs by their length field: one read may hold several PDUs or a part of one.
 * Pure bookkeeping over Buffers (the socket lives in client.ts). After an invalid header the stream cannot be
 * resynchronised, so the reader stays failed.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private failure: PduError | undefined;

  /** Adds bytes; returns every complete frame now available, and the framing error if the stream broke. */
  push(chunk: Uint8Array): { frames: Buffer[]; error?: PduError } {
    if (this.failure) return { frames: [], error: this.failure };
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const f = frameAt(this.pending, offset);
      if (f.status === 'incomplete') break;
      if (f.status === 'invalid') {
        this.failure = f.error;
        this.pending = Buffer.alloc(0);
        return { frames, error: f.error };
      }
      frames.push(this.pending.subarray(offset, offset + f.length));
      offset += f.length;
    }
    // Copy the tail so a small leftover does not pin a large read buffer.
    this.pending = offset === 0 ? this.pending : Buffer.from(this.pending.subarray(offset));
    return { frames };
  }

  /** Bytes held that do not yet make a whole PDU. */
  get buffered(): number {
    return this.pending.length;
  }
}
