import ipaddr from 'ipaddr.js';

// Recently seen IPv4 texts by numeric value: the same few thousand addresses recur in every datagram, and one
// shared string per address saves building it again and re-hashing it in every table it is looked up in.
const V4_CACHE_MAX = 65_536;
let v4Cache = new Map<number, string>();

/** Dotted quad of the 4 bytes at `offset` (the caller has bounds-checked). */
export function ipv4At(buf: Buffer, offset: number): string {
  const n = buf.readUInt32BE(offset);
  let text = v4Cache.get(n);
  if (text === undefined) {
    text = `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
    if (v4Cache.size >= V4_CACHE_MAX) v4Cache = new Map();
    v4Cache.set(n, text);
  }
  return text;
}

/** RFC 5952 text of the 16 bytes at `offset`; IPv4-mapped addresses come out as the IPv4 they map. */
export function ipv6At(buf: Buffer, offset: number): string {
  let mapped = buf[offset + 10] === 0xff && buf[offset + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (buf[offset + i] !== 0) mapped = false;
  if (mapped) return ipv4At(buf, offset + 12);
  const bytes = new Array<number>(16);
  for (let i = 0; i < 16; i++) bytes[i] = buf[offset + i] as number;
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

/** Address family of an address text produced above. */
export function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}
