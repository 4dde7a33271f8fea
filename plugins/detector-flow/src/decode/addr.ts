import ipaddr from 'ipaddr.js';

/** Dotted quad of the 4 bytes at `offset` (the caller has bounds-checked). */
export function ipv4At(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
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
