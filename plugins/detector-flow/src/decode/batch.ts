import { ipv4Text } from './addr.js';
import { emptyDatagram, type DecodedDatagram, type FlowRecord } from './types.js';

const INITIAL_CAPACITY = 64;

/**
 * The flows of one datagram as columns: the decoders write here, the aggregator reads numbers straight from it
 * (no object and no address text per flow), and `decodeDatagram` turns it into FlowRecord objects. Reused from
 * datagram to datagram; it grows to the largest datagram seen (a 64 KiB datagram of 1-byte records at worst).
 * An IPv4 address is its 32-bit value; an IPv6 one its RFC 5952 text (IPv4-mapped IPv6 addresses are stored as
 * the IPv4 they map, as the text decoders always did).
 */
export class FlowBatch {
  length = 0;
  /** The datagram's header facts, reused from datagram to datagram (decodeBatch's result while ok). */
  readonly datagram: DecodedDatagram = emptyDatagram('netflow5');
  private capacity = 0;
  family!: Uint8Array;
  /** 0: the record has no source address (its template lacks one); src4/src6 mean nothing then. */
  srcKnown!: Uint8Array;
  src4!: Uint32Array;
  dst4!: Uint32Array;
  /** IPv6 text of the address, or undefined when the address is the IPv4 value in src4/dst4. */
  src6: (string | undefined)[] = [];
  dst6: (string | undefined)[] = [];
  srcPort!: Uint16Array;
  dstPort!: Uint16Array;
  protocol!: Uint8Array;
  tcpFlags!: Uint8Array;
  packets!: Float64Array;
  bytes!: Float64Array;
  /** 0: the record does not state one. */
  samplingRate!: Float64Array;
  /** -1: the record carries none. */
  ttl!: Int16Array;
  inputIf!: Float64Array;
  outputIf!: Float64Array;

  constructor(capacity = INITIAL_CAPACITY) {
    this.resize(capacity);
  }

  clear(): void {
    this.length = 0;
  }

  /** Appends a record with IPv4 addresses and zeroed fields; returns its index for the caller to fill. */
  push(): number {
    if (this.length === this.capacity) this.resize(this.capacity * 2);
    const i = this.length++;
    this.src6[i] = undefined;
    this.dst6[i] = undefined;
    this.ttl[i] = -1;
    this.samplingRate[i] = 0;
    this.srcKnown[i] = 1;
    return i;
  }

  /** Drops the last record (pushed, then found not to be an IP flow). */
  pop(): void {
    this.length--;
  }

  private resize(capacity: number): void {
    const grow = <T extends { set(a: T): void }>(make: (n: number) => T, old: T | undefined): T => {
      const next = make(capacity);
      if (old !== undefined) next.set(old);
      return next;
    };
    this.family = grow((n) => new Uint8Array(n), this.family);
    this.srcKnown = grow((n) => new Uint8Array(n), this.srcKnown);
    this.src4 = grow((n) => new Uint32Array(n), this.src4);
    this.dst4 = grow((n) => new Uint32Array(n), this.dst4);
    this.srcPort = grow((n) => new Uint16Array(n), this.srcPort);
    this.dstPort = grow((n) => new Uint16Array(n), this.dstPort);
    this.protocol = grow((n) => new Uint8Array(n), this.protocol);
    this.tcpFlags = grow((n) => new Uint8Array(n), this.tcpFlags);
    this.packets = grow((n) => new Float64Array(n), this.packets);
    this.bytes = grow((n) => new Float64Array(n), this.bytes);
    this.samplingRate = grow((n) => new Float64Array(n), this.samplingRate);
    this.ttl = grow((n) => new Int16Array(n), this.ttl);
    this.inputIf = grow((n) => new Float64Array(n), this.inputIf);
    this.outputIf = grow((n) => new Float64Array(n), this.outputIf);
    this.capacity = capacity;
  }

  srcAddr(i: number): string | undefined {
    if (this.srcKnown[i] === 0) return undefined;
    return this.src6[i] ?? ipv4Text(this.src4[i]!);
  }

  dstAddr(i: number): string {
    return this.dst6[i] ?? ipv4Text(this.dst4[i]!);
  }

  /** Record i as the pure decoder API returns it. */
  record(i: number): FlowRecord {
    const r: FlowRecord = {
      family: this.family[i] as 4 | 6,
      dstAddr: this.dstAddr(i),
      srcPort: this.srcPort[i]!,
      dstPort: this.dstPort[i]!,
      protocol: this.protocol[i]!,
      tcpFlags: this.tcpFlags[i]!,
      packets: this.packets[i]!,
      bytes: this.bytes[i]!,
      inputIf: this.inputIf[i]!,
      outputIf: this.outputIf[i]!,
    };
    const src = this.srcAddr(i);
    if (src !== undefined) r.srcAddr = src;
    if (this.samplingRate[i]! > 0) r.samplingRate = this.samplingRate[i]!;
    if (this.ttl[i]! >= 0) r.ttl = this.ttl[i]!;
    return r;
  }

  records(): FlowRecord[] {
    const out = new Array<FlowRecord>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.record(i);
    return out;
  }

  /** Appends a FlowRecord (the aggregator's object API, used by tests and tools). */
  pushRecord(r: FlowRecord): void {
    const i = this.push();
    this.family[i] = r.family;
    if (r.srcAddr === undefined) this.srcKnown[i] = 0;
    else setAddress(r.srcAddr, i, this.src4, this.src6);
    setAddress(r.dstAddr, i, this.dst4, this.dst6);
    this.srcPort[i] = r.srcPort;
    this.dstPort[i] = r.dstPort;
    this.protocol[i] = r.protocol;
    this.tcpFlags[i] = r.tcpFlags;
    this.packets[i] = r.packets;
    this.bytes[i] = r.bytes;
    this.samplingRate[i] = r.samplingRate ?? 0;
    this.ttl[i] = r.ttl ?? -1;
    this.inputIf[i] = r.inputIf;
    this.outputIf[i] = r.outputIf;
  }
}

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function setAddress(text: string, i: number, v4: Uint32Array, v6: (string | undefined)[]): void {
  const m = DOTTED_QUAD.exec(text);
  if (m !== null && m.slice(1).every((o) => Number(o) <= 255)) {
    v4[i] = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
    v6[i] = undefined;
  } else v6[i] = text;
}
