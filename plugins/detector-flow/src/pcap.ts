import { decodeFrame, frames, captureFormat, type ByteSource } from '@ft/pcap';

// The capture reader is @ft/pcap's (pcap and pcapng, streamed from a ByteSource): this is its UDP view.
export { bufferSource, CaptureError, FileSource, isCapture, type ByteSource } from '@ft/pcap';

/** One UDP datagram found in a capture. */
export interface CapturedDatagram {
  /** Capture time in ms since the epoch. */
  time: number;
  srcAddr: string;
  srcPort: number;
  dstAddr: string;
  dstPort: number;
  payload: Buffer;
}

export interface CaptureReader {
  format: 'pcap' | 'pcapng';
  /** The UDP datagrams, one at a time. */
  datagrams(): Generator<CapturedDatagram>;
  /** Frames that were not IPv4/IPv6 UDP (or were truncated by the snap length), so far. */
  readonly skipped: number;
}

class UdpReader implements CaptureReader {
  readonly format: 'pcap' | 'pcapng';
  skipped = 0;

  constructor(private readonly src: ByteSource) {
    this.format = captureFormat(src);
  }

  *datagrams(): Generator<CapturedDatagram> {
    for (const frame of frames(this.src)) {
      const p = decodeFrame(frame);
      // Fragments, other protocols, and datagrams the snap length cut would decode as garbage: skipped, not errors.
      if (
        typeof p === 'string' ||
        p.protocol !== 17 ||
        p.fragment !== 'none' ||
        p.srcPort === undefined ||
        p.dstPort === undefined ||
        p.payload.length !== p.payloadLength
      ) {
        this.skipped++;
        continue;
      }
      yield {
        time: frame.time,
        srcAddr: p.src,
        srcPort: p.srcPort,
        dstAddr: p.dst,
        dstPort: p.dstPort,
        payload: Buffer.from(p.payload),
      };
    }
  }
}

/** Reads the UDP datagrams out of a pcap or pcapng capture, front to back. Throws CaptureError on a broken file. */
export function readCapture(src: ByteSource): CaptureReader {
  return new UdpReader(src);
}
