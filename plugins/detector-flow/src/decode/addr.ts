import ipaddr from 'ipaddr.js';

// Recently seen IPv4 texts by numeric value: the same few thousand addresses recur in every datagram, and one
// shared string per address saves building it again and re-hashing it in every table it is looked up in.
const V4_CACHE_MAX = 65_536;
let v4Cache = new Map<number, string>();

/**
 * The big-endian unsigned 32-bit value at `off` (the caller has bounds-checked). Small so that V8 inlines it:
 * a call that is not inlined (Buffer#readUInt32BE often was not) returns values of 2^31 and above, every address
 * from 128.0.0.0 up, as a new heap number, two per flow. Where a caller is too large for V8 to inline even this
 * (templated.ts's per-field switch and fixed-layout reader), the same expression is written out in place.
 */
export function u32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** Dotted quad of an IPv4 address given as its unsigned 32-bit value. */
export function ipv4Text(n: number): string {
  let text = v4Cache.get(n);
  if (text === undefined) {
    text = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    if (v4Cache.size >= V4_CACHE_MAX) v4Cache = new Map();
    v4Cache.set(n, text);
  }
  return text;
}

/** Dotted quad of the 4 bytes at `offset` (the caller has bounds-checked). */
export function ipv4At(buf: Buffer, offset: number): string {
  return ipv4Text(buf.readUInt32BE(offset));
}

/** True when the 16 bytes at `offset` are an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
export function isV4Mapped(buf: Buffer, offset: number): boolean {
  if (buf[offset + 10] !== 0xff || buf[offset + 11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (buf[offset + i] !== 0) return false;
  return true;
}

/** RFC 5952 text of the 16 bytes at `offset`, not IPv4-mapped (see isV4Mapped). */
export function ipv6TextAt(buf: Buffer, offset: number): string {
  const bytes = new Array<number>(16);
  for (let i = 0; i < 16; i++) bytes[i] = buf[offset + i] as number;
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

/** RFC 5952 text of the 16 bytes at `offset`; IPv4-mapped addresses come out as the IPv4 they map. */
export function ipv6At(buf: Buffer, offset: number): string {
  return isV4Mapped(buf, offset) ? ipv4At(buf, offset + 12) : ipv6TextAt(buf, offset);
}

/**
 * Stores the 16-byte address at `offset` as batch columns do: IPv4-mapped as its IPv4 value in v4[i], else
 * its text in v6[i].
 */
export function setV6At(buf: Buffer, offset: number, i: number, v4: Uint32Array, v6: (string | undefined)[]): void {
  if (isV4Mapped(buf, offset)) {
    v4[i] = buf.readUInt32BE(offset + 12);
    v6[i] = undefined;
  } else v6[i] = ipv6TextAt(buf, offset);
}

/** Address family of an address text produced above. */
export function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}
