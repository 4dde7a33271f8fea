import ipaddr from 'ipaddr.js';

export type AddressFamily = 4 | 6;

/** Thrown for any text that is not a prefix or address ft accepts; `input` is what was given. */
export class PrefixError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`${JSON.stringify(input)} is not a valid prefix: ${reason}`);
    this.name = 'PrefixError';
  }
}

export interface ParseOptions {
  /**
   * Host bits set under the mask ("203.0.113.10/24") are a typo in a policy far more often than they are meant,
   * so they are an error unless the caller asks to truncate.
   */
  truncate?: boolean;
}

/**
 * An IPv4 or IPv6 prefix in canonical form: host bits zero, IPv6 in RFC 5952 text.
 * IPv4-mapped IPv6 (::ffff:a.b.c.d/len, len >= 96) is normalised to the IPv4 prefix it maps, because a router
 * filters the IPv4 packet: a rule or a never-target entry written either way means the same hosts.
 */
export class Prefix {
  /** Network address, host bits zero; 4 or 16 bytes. */
  readonly bytes: Uint8Array;
  readonly length: number;
  readonly family: AddressFamily;

  private constructor(bytes: Uint8Array, length: number) {
    this.bytes = bytes;
    this.length = length;
    this.family = bytes.length === 4 ? 4 : 6;
    Object.freeze(this);
  }

  static parse(text: string, options: ParseOptions = {}): Prefix {
    if (typeof text !== 'string') throw new PrefixError(String(text), 'expected a string');
    const trimmed = text.trim();
    if (trimmed === '') throw new PrefixError(text, 'empty');
    const slash = trimmed.indexOf('/');
    const addrText = slash === -1 ? trimmed : trimmed.slice(0, slash);
    const lenText = slash === -1 ? undefined : trimmed.slice(slash + 1);
    const bytes = parseAddressBytes(addrText, text);
    const max = bytes.length * 8;
    let length = max;
    if (lenText !== undefined) {
      if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText))
        throw new PrefixError(text, `prefix length "${lenText}" is not a number`);
      length = Number(lenText);
      if (length > max) throw new PrefixError(text, `prefix length ${length} exceeds ${max}`);
    }
    return Prefix.fromBytes(bytes, length, { ...options, input: text });
  }

  /** The prefix of `length` bits that contains `address` (host bits are dropped: this is for computing coverings). */
  static covering(address: Prefix | string, length: number): Prefix {
    const p = typeof address === 'string' ? Prefix.parse(address) : address;
    if (!Number.isInteger(length) || length < 0 || length > p.bytes.length * 8) {
      throw new PrefixError(p.toString(), `cannot take a /${length} of it`);
    }
    if (length > p.length) throw new PrefixError(p.toString(), `/${length} is longer than the prefix itself`);
    return Prefix.fromBytes(p.bytes, length, { truncate: true });
  }

  static fromBytes(raw: Uint8Array, length: number, options: ParseOptions & { input?: string } = {}): Prefix {
    const input = options.input ?? `${Array.from(raw).join('.')}/${length}`;
    if (raw.length !== 4 && raw.length !== 16) throw new PrefixError(input, 'address must be 4 or 16 bytes');
    let bytes = Uint8Array.from(raw);
    let len = length;
    if (bytes.length === 16 && len >= 96 && isV4Mapped(bytes)) {
      bytes = bytes.slice(12);
      len -= 96;
    }
    const masked = maskBytes(bytes, len);
    if (!options.truncate && !sameBytes(masked, bytes)) {
      const suggestion = new Prefix(masked, len).toString();
      throw new PrefixError(input, `host bits are set below /${len} (did you mean ${suggestion}?)`);
    }
    return new Prefix(masked, len);
  }

  get isHost(): boolean {
    return this.length === this.bytes.length * 8;
  }

  /** The network address as text, without the length. */
  get address(): string {
    return prefixText(this).address;
  }

  toString(): string {
    return prefixText(this).text;
  }

  toJSON(): string {
    return this.toString();
  }

  equals(other: Prefix): boolean {
    return this.length === other.length && sameBytes(this.bytes, other.bytes);
  }

  /** True when every address of `other` is inside this prefix (a prefix contains itself). */
  contains(other: Prefix): boolean {
    if (this.family !== other.family || this.length > other.length) return false;
    // Compared in place (no masked copy): rails and scope checks call this for every rule of every plan.
    const full = this.length >> 3;
    for (let i = 0; i < full; i++) if (this.bytes[i] !== other.bytes[i]) return false;
    const rest = this.length & 7;
    if (rest === 0) return true;
    const mask = (0xff << (8 - rest)) & 0xff;
    return ((other.bytes[full] as number) & mask) === this.bytes[full];
  }

  overlaps(other: Prefix): boolean {
    return this.contains(other) || other.contains(this);
  }

  /** Total order: IPv4 before IPv6, then by address, then shorter first. */
  compare(other: Prefix): number {
    if (this.family !== other.family) return this.family - other.family;
    for (let i = 0; i < this.bytes.length; i++) {
      const d = (this.bytes[i] as number) - (other.bytes[i] as number);
      if (d !== 0) return d;
    }
    return this.length - other.length;
  }
}

/**
 * A prefix is frozen, so its text is kept beside it: logs, reasons and rule keys print the same prefix many times
 * a second, and RFC 5952 formatting is not cheap.
 */
const texts = new WeakMap<Prefix, { address: string; text: string }>();
function prefixText(p: Prefix): { address: string; text: string } {
  let t = texts.get(p);
  if (t === undefined) {
    const address =
      p.family === 4
        ? `${p.bytes[0]}.${p.bytes[1]}.${p.bytes[2]}.${p.bytes[3]}`
        : (ipaddr.fromByteArray(Array.from(p.bytes)) as ipaddr.IPv6).toRFC5952String();
    t = { address, text: `${address}/${p.length}` };
    texts.set(p, t);
  }
  return t;
}

/** Duck-typed check: never `instanceof` across the plugin boundary (each plugin may carry its own copy). */
export function isPrefix(value: unknown): value is Prefix {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Prefix).bytes instanceof Uint8Array &&
    typeof (value as Prefix).length === 'number' &&
    typeof (value as Prefix).contains === 'function'
  );
}

function parseAddressBytes(text: string, input: string): Uint8Array {
  if (text.includes('%')) throw new PrefixError(input, 'zone ids (%iface) have no meaning in a prefix');
  if (text.includes(':')) {
    const v6 = embeddedIPv4AsHex(text, input);
    if (!ipaddr.IPv6.isValid(v6)) throw new PrefixError(input, 'not an IPv6 address');
    return Uint8Array.from(ipaddr.IPv6.parse(v6).toByteArray());
  }
  // Only dotted-quad decimal: ipaddr.js would otherwise accept "0x7f.1" or octal "010.0.0.1", which no router does.
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) throw new PrefixError(input, 'not a dotted-quad IPv4 address');
  return Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray());
}

/**
 * IPv6 text may end in a dotted quad (RFC 4291 §2.2): "::ffff:203.0.113.10" and "::203.0.113.10" mean exactly the
 * bits "::ffff:cb00:710a" and "::cb00:710a". ipaddr.js reads every "::a.b.c.d" as IPv4-mapped, so one address
 * would mean IPv4 in one spelling and IPv6 in the other: the quad is rewritten as two hex groups first, and the
 * bits alone decide (only ::ffff:0:0/96 is IPv4; the deprecated IPv4-compatible ::a.b.c.d stays IPv6).
 */
function embeddedIPv4AsHex(text: string, input: string): string {
  const colon = text.lastIndexOf(':');
  const quad = text.slice(colon + 1);
  if (!quad.includes('.')) return text;
  if (!ipaddr.IPv4.isValidFourPartDecimal(quad))
    throw new PrefixError(input, `"${quad}" is not a dotted-quad IPv4 address`);
  const b = ipaddr.IPv4.parse(quad).toByteArray() as [number, number, number, number];
  const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  return `${text.slice(0, colon + 1)}${hex(b[0], b[1])}:${hex(b[2], b[3])}`;
}

/** True for the deprecated IPv4-compatible range ::a.b.c.d (RFC 4291 §2.5.5.1), except :: and ::1. */
export function isIPv4Compatible(p: Prefix): boolean {
  if (p.family !== 6) return false;
  for (let i = 0; i < 12; i++) if (p.bytes[i] !== 0) return false;
  const low = ((p.bytes[12] as number) << 24) | ((p.bytes[13] as number) << 16) | ((p.bytes[14] as number) << 8);
  return (low | (p.bytes[15] as number)) >>> 0 > 1;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, length - i * 8));
    out[i] = (bytes[i] as number) & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
