import { Prefix } from '@ft/sdk';

/** A Validated ROA Payload: `asn` may originate `prefix` and its more-specifics down to `maxLength`. */
export interface Vrp {
  prefix: Prefix;
  maxLength: number;
  asn: number;
}

export type OriginState = 'valid' | 'invalid' | 'not-found';

/** RFC 6811 outcome; `invalid` says why: a covering VRP exists for our AS but is too short ("length"), or none is for our AS ("as"). */
export type Validation =
  | { readonly state: 'valid' }
  | { readonly state: 'invalid'; readonly reason: 'as' | 'length' }
  | { readonly state: 'not-found' };

// Shared frozen results: the hot path of a validation allocates nothing.
const VALID: Validation = Object.freeze({ state: 'valid' });
const INVALID_AS: Validation = Object.freeze({ state: 'invalid', reason: 'as' });
const INVALID_LENGTH: Validation = Object.freeze({ state: 'invalid', reason: 'length' });
const NOT_FOUND: Validation = Object.freeze({ state: 'not-found' });

export interface VrpChange {
  announce: boolean;
  vrp: Vrp;
}

export interface VrpDelta {
  announced: Vrp[];
  withdrawn: Vrp[];
}

/** An announcement of a VRP already present, or a withdrawal of one that is not (RTR errors 7 and 6). */
export class VrpConflictError extends Error {
  constructor(
    readonly kind: 'duplicate' | 'unknown',
    readonly vrp: Vrp,
  ) {
    super(
      kind === 'duplicate' ? `duplicate announcement of ${formatVrp(vrp)}` : `withdrawal of unknown ${formatVrp(vrp)}`,
    );
    this.name = 'VrpConflictError';
  }
}

export function formatVrp(v: Vrp): string {
  return `${v.prefix.toString()}-${v.maxLength} AS${v.asn}`;
}

export function vrpKey(v: Vrp): string {
  return `${v.prefix.toString()}-${v.maxLength}-${v.asn}`;
}

/**
 * A binary trie over address bits, stored in typed arrays, with the VRPs of a prefix as a linked list at its
 * node. A node is three int32s side by side (left child, right child, first entry) so one step of a lookup
 * touches one cache line; an entry is three int32s (asn, maxLength, next). The first 16 bits are skipped through
 * a direct table (`jump`) unless some VRP shorter than /16 covers that block. Nodes are never freed on
 * withdrawal: an RTR delta is small, and a Reset builds a fresh table.
 */
class BitTrie {
  readonly bits: number;
  // node i: [3i] left child, [3i+1] right child, [3i+2] first entry; 0 means none (node 0 is the root).
  private n = new Int32Array(3 * 1024);
  private nodes = 1;
  // entry k: [3k] asn (as int32), [3k+1] maxLength, [3k+2] next entry; entry 0 is "none", freed ones chain.
  private e = new Int32Array(3 * 1024);
  private entries = 1;
  private freeEntry = 0;
  /** Node at depth 16 for each 16-bit block (0: none). */
  private readonly jump = new Int32Array(65536);
  /** 1 when a VRP shorter than /16 was ever added over the block: the lookup must walk from the root. */
  private readonly above = new Uint8Array(65536);
  count = 0;

  constructor(bits: number) {
    this.bits = bits;
  }

  private findNode(bytes: Uint8Array, length: number, create: boolean): number {
    let node = 0;
    for (let d = 0; d < length; d++) {
      const bit = ((bytes[d >> 3] as number) >> (7 - (d & 7))) & 1;
      let child = this.n[3 * node + bit] as number;
      if (child === 0) {
        if (!create) return -1;
        child = this.newNode();
        this.n[3 * node + bit] = child;
        if (d === 15) this.jump[((bytes[0] as number) << 8) | (bytes[1] as number)] = child;
      }
      node = child;
    }
    return node;
  }

  private newNode(): number {
    if (3 * (this.nodes + 1) > this.n.length) this.n = grow(this.n, this.n.length * 2);
    return this.nodes++;
  }

  private newEntry(): number {
    if (this.freeEntry !== 0) {
      const k = this.freeEntry;
      this.freeEntry = this.e[3 * k + 2] as number;
      return k;
    }
    if (3 * (this.entries + 1) > this.e.length) this.e = grow(this.e, this.e.length * 2);
    return this.entries++;
  }

  private find(node: number, maxLength: number, asn: number): number {
    const a = asn | 0;
    for (let k = this.n[3 * node + 2] as number; k !== 0; k = this.e[3 * k + 2] as number) {
      if (this.e[3 * k] === a && this.e[3 * k + 1] === maxLength) return k;
    }
    return 0;
  }

  has(bytes: Uint8Array, length: number, maxLength: number, asn: number): boolean {
    const node = this.findNode(bytes, length, false);
    return node >= 0 && this.find(node, maxLength, asn) !== 0;
  }

  add(bytes: Uint8Array, length: number, maxLength: number, asn: number): boolean {
    const node = this.findNode(bytes, length, true);
    if (this.find(node, maxLength, asn) !== 0) return false;
    const k = this.newEntry();
    this.e[3 * k] = asn | 0;
    this.e[3 * k + 1] = maxLength;
    this.e[3 * k + 2] = this.n[3 * node + 2] as number;
    this.n[3 * node + 2] = k;
    if (length < 16) {
      const first = (((bytes[0] as number) << 8) | (bytes[1] as number)) & ~((1 << (16 - length)) - 1) & 0xffff;
      this.above.fill(1, first, first + (1 << (16 - length)));
    }
    this.count++;
    return true;
  }

  remove(bytes: Uint8Array, length: number, maxLength: number, asn: number): boolean {
    const node = this.findNode(bytes, length, false);
    if (node < 0) return false;
    const a = asn | 0;
    let prev = 0;
    for (let k = this.n[3 * node + 2] as number; k !== 0; prev = k, k = this.e[3 * k + 2] as number) {
      if (this.e[3 * k] !== a || this.e[3 * k + 1] !== maxLength) continue;
      const after = this.e[3 * k + 2] as number;
      if (prev === 0) this.n[3 * node + 2] = after;
      else this.e[3 * prev + 2] = after;
      this.e[3 * k + 2] = this.freeEntry;
      this.freeEntry = k;
      this.count--;
      // `above` stays set: a stale flag only means the slower walk from the root, never a wrong answer.
      return true;
    }
    return false;
  }

  /** RFC 6811 over the VRPs on the path to the route's prefix; `loose` ignores maxLength (blackholes). */
  validate(bytes: Uint8Array, length: number, origin: number, loose: boolean): Validation {
    const n = this.n;
    const e = this.e;
    const a = origin | 0;
    let node = 0;
    let d = 0;
    if (length >= 16) {
      const block = ((bytes[0] as number) << 8) | (bytes[1] as number);
      if (this.above[block] === 0) {
        node = this.jump[block] as number;
        if (node === 0) return NOT_FOUND;
        d = 16;
      }
    }
    // IPv4 bits come from one integer (0 also when the address is 0.0.0.0, which then takes the byte path).
    const v4 =
      this.bits === 32
        ? ((bytes[0] as number) << 24) |
          ((bytes[1] as number) << 16) |
          ((bytes[2] as number) << 8) |
          (bytes[3] as number)
        : 0;
    let covered = false;
    let tooLong = false;
    for (;;) {
      for (let k = n[3 * node + 2] as number; k !== 0; k = e[3 * k + 2] as number) {
        covered = true;
        const vrpAs = e[3 * k] as number;
        // An AS0 VRP covers but never matches (RFC 6483 §4), whatever the route's origin says.
        if (vrpAs === a && vrpAs !== 0) {
          if (loose || length <= (e[3 * k + 1] as number)) return VALID;
          tooLong = true;
        }
      }
      if (d === length) break;
      const bit = v4 ? (v4 >>> (31 - d)) & 1 : ((bytes[d >> 3] as number) >> (7 - (d & 7))) & 1;
      node = n[3 * node + bit] as number;
      if (node === 0) break;
      d++;
    }
    if (!covered) return NOT_FOUND;
    return tooLong ? INVALID_LENGTH : INVALID_AS;
  }

  /** Every VRP whose prefix contains the route's prefix, shortest first. */
  covering(bytes: Uint8Array, length: number, into: Vrp[]): void {
    let node = 0;
    for (let d = 0; ; d++) {
      this.eachEntry(node, (maxLength, asn) =>
        into.push({ prefix: Prefix.fromBytes(bytes, d, { truncate: true }), maxLength, asn }),
      );
      if (d === length) break;
      node = this.n[3 * node + (((bytes[d >> 3] as number) >> (7 - (d & 7))) & 1)] as number;
      if (node === 0) break;
    }
  }

  private eachEntry(node: number, visit: (maxLength: number, asn: number) => void): void {
    for (let k = this.n[3 * node + 2] as number; k !== 0; k = this.e[3 * k + 2] as number)
      visit(this.e[3 * k + 1] as number, (this.e[3 * k] as number) >>> 0);
  }

  /** Visits every VRP with its prefix bits (the `bytes` buffer is reused between calls). */
  forEach(visit: (bytes: Uint8Array, length: number, maxLength: number, asn: number) => void): void {
    const path = new Uint8Array(this.bits / 8);
    const walk = (node: number, depth: number): void => {
      this.eachEntry(node, (maxLength, asn) => visit(path, depth, maxLength, asn));
      if (depth === this.bits) return;
      const l = this.n[3 * node] as number;
      const r = this.n[3 * node + 1] as number;
      if (l !== 0) walk(l, depth + 1);
      if (r !== 0) {
        path[depth >> 3] = (path[depth >> 3] as number) | (0x80 >> (depth & 7));
        walk(r, depth + 1);
        path[depth >> 3] = (path[depth >> 3] as number) & ~(0x80 >> (depth & 7));
      }
    };
    walk(0, 0);
  }

  /** Entries at a node keyed by maxLength and ASN, for diffing two tries node by node. */
  entriesAt(node: number): ReadonlyMap<number, [number, number]> {
    // Most nodes are interior with no VRPs: share one empty map instead of allocating per node.
    if (node < 0 || this.n[3 * node + 2] === 0) return NO_ENTRIES;
    const out = new Map<number, [number, number]>();
    this.eachEntry(node, (m, a) => out.set(m * 2 ** 32 + a, [m, a]));
    return out;
  }

  /**
   * Renumbers the nodes in depth-first pre-order, so a chain of single-child nodes (most of a long IPv6 path)
   * sits in consecutive memory and a lookup streams through it instead of missing the cache at every bit.
   * Worth doing once after a bulk load; incremental changes afterwards just append.
   */
  compact(): void {
    const count = this.nodes;
    const old = this.n;
    const order = new Int32Array(count);
    // At most one pending right sibling per level, plus the two children just pushed.
    const stack = new Int32Array(this.bits + 3);
    let sp = 0;
    let next = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const o = stack[--sp] as number;
      order[o] = next++;
      const r = old[3 * o + 1] as number;
      const l = old[3 * o] as number;
      if (r !== 0) stack[sp++] = r;
      if (l !== 0) stack[sp++] = l;
    }
    const fresh = new Int32Array(Math.max(3 * 1024, 3 * (count + 1)));
    for (let o = 0; o < count; o++) {
      const m = order[o] as number;
      const l = old[3 * o] as number;
      const r = old[3 * o + 1] as number;
      fresh[3 * m] = l === 0 ? 0 : (order[l] as number);
      fresh[3 * m + 1] = r === 0 ? 0 : (order[r] as number);
      fresh[3 * m + 2] = old[3 * o + 2] as number;
    }
    this.n = fresh;
    for (let b = 0; b < this.jump.length; b++)
      if (this.jump[b] !== 0) this.jump[b] = order[this.jump[b] as number] as number;
  }

  child(node: number, bit: number): number {
    if (node < 0) return -1;
    const c = this.n[3 * node + bit] as number;
    return c === 0 ? -1 : c;
  }

  get memoryBytes(): number {
    return this.n.byteLength + this.e.byteLength + this.jump.byteLength + this.above.byteLength;
  }
}

const NO_ENTRIES: ReadonlyMap<number, [number, number]> = new Map();

function grow(a: Int32Array<ArrayBuffer>, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/**
 * The VRP set with RFC 6811 origin validation for IPv4 and IPv6: a lookup walks at most prefix-length trie
 * nodes and allocates nothing. Changes through `applyChanges` are all-or-nothing.
 */
export class VrpTable {
  private readonly v4 = new BitTrie(32);
  private readonly v6 = new BitTrie(128);

  static from(vrps: Iterable<Vrp>): VrpTable {
    const t = new VrpTable();
    for (const v of vrps) t.add(v);
    t.compact();
    return t;
  }

  /** Lays the trie out for fast lookups after a bulk load (see BitTrie.compact); the content does not change. */
  compact(): void {
    this.v4.compact();
    this.v6.compact();
  }

  private trie(family: 4 | 6): BitTrie {
    return family === 4 ? this.v4 : this.v6;
  }

  get size(): number {
    return this.v4.count + this.v6.count;
  }

  get sizeV4(): number {
    return this.v4.count;
  }

  get sizeV6(): number {
    return this.v6.count;
  }

  /** Bytes held by the trie arrays (what the table costs beyond the JS heap's fixed overhead). */
  get memoryBytes(): number {
    return this.v4.memoryBytes + this.v6.memoryBytes;
  }

  /** Adds a VRP; false when it was already there. */
  add(v: Vrp): boolean {
    checkMaxLength(v);
    return this.trie(v.prefix.family).add(v.prefix.bytes, v.prefix.length, v.maxLength, v.asn >>> 0);
  }

  /** Adds from raw wire fields without building a Prefix (the RTR full-load path); `address` must be masked. */
  addRaw(family: 4 | 6, address: Uint8Array, length: number, maxLength: number, asn: number): boolean {
    return this.trie(family).add(address, length, maxLength, asn >>> 0);
  }

  remove(v: Vrp): boolean {
    return this.trie(v.prefix.family).remove(v.prefix.bytes, v.prefix.length, v.maxLength, v.asn >>> 0);
  }

  has(v: Vrp): boolean {
    return this.trie(v.prefix.family).has(v.prefix.bytes, v.prefix.length, v.maxLength, v.asn >>> 0);
  }

  /** RFC 6811 route origin validation of `prefix` originated by `asn`. */
  validate(prefix: Prefix, asn: number): Validation {
    return this.trie(prefix.family).validate(prefix.bytes, prefix.length, asn >>> 0, false);
  }

  /**
   * Like `validate` but ignoring maxLength: "does a VRP for this AS cover it at all". This is how blackhole /32s
   * and /128s are checked (a strict check calls every RTBH Invalid: length under a normal ROA).
   */
  validateLoose(prefix: Prefix, asn: number): Validation {
    return this.trie(prefix.family).validate(prefix.bytes, prefix.length, asn >>> 0, true);
  }

  /** The VRPs that cover `prefix` (for explaining a verdict), shortest prefix first. */
  covering(prefix: Prefix): Vrp[] {
    const out: Vrp[] = [];
    this.trie(prefix.family).covering(prefix.bytes, prefix.length, out);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<Vrp> {
    yield* this.toArray();
  }

  toArray(): Vrp[] {
    const out: Vrp[] = [];
    for (const t of [this.v4, this.v6]) {
      t.forEach((bytes, length, maxLength, asn) =>
        out.push({ prefix: Prefix.fromBytes(bytes, length, { truncate: true }), maxLength, asn }),
      );
    }
    return out;
  }

  clone(): VrpTable {
    const t = new VrpTable();
    for (const [from, to] of [
      [this.v4, t.v4],
      [this.v6, t.v6],
    ] as const) {
      from.forEach((bytes, length, maxLength, asn) => to.add(bytes, length, maxLength, asn));
    }
    return t;
  }

  /** What `next` has that this table lacks (announced) and the reverse (withdrawn), by walking both tries at once. */
  diff(next: VrpTable): VrpDelta {
    const delta: VrpDelta = { announced: [], withdrawn: [] };
    for (const [a, b] of [
      [this.v4, next.v4],
      [this.v6, next.v6],
    ] as const) {
      const path = new Uint8Array(a.bits / 8);
      const walk = (na: number, nb: number, depth: number): void => {
        if (na < 0 && nb < 0) return;
        const ea = a.entriesAt(na);
        const eb = b.entriesAt(nb);
        if (ea.size > 0 || eb.size > 0) {
          const prefix = () => Prefix.fromBytes(path, depth, { truncate: true });
          for (const [k, [m, asn]] of ea) if (!eb.has(k)) delta.withdrawn.push({ prefix: prefix(), maxLength: m, asn });
          for (const [k, [m, asn]] of eb) if (!ea.has(k)) delta.announced.push({ prefix: prefix(), maxLength: m, asn });
        }
        if (depth === a.bits) return;
        walk(a.child(na, 0), b.child(nb, 0), depth + 1);
        path[depth >> 3] = (path[depth >> 3] as number) | (0x80 >> (depth & 7));
        walk(a.child(na, 1), b.child(nb, 1), depth + 1);
        path[depth >> 3] = (path[depth >> 3] as number) & ~(0x80 >> (depth & 7));
      };
      walk(0, 0, 0);
    }
    return delta;
  }

  /** Applies a delta (withdrawals first); throws VrpConflictError and changes nothing if any part does not fit. */
  apply(delta: VrpDelta): void {
    this.applyChanges([
      ...delta.withdrawn.map((vrp) => ({ announce: false, vrp })),
      ...delta.announced.map((vrp) => ({ announce: true, vrp })),
    ]);
  }

  /**
   * Applies changes in order, all or nothing: the whole list is checked against the table first, so a withdrawal
   * of an unknown VRP or a duplicate announcement (RTR errors 6 and 7) leaves the table exactly as it was.
   */
  applyChanges(changes: readonly VrpChange[]): void {
    const overlay = new Map<string, boolean>();
    for (const { announce, vrp } of changes) {
      checkMaxLength(vrp);
      const key = vrpKey(vrp);
      const present = overlay.get(key) ?? this.has(vrp);
      if (announce && present) throw new VrpConflictError('duplicate', vrp);
      if (!announce && !present) throw new VrpConflictError('unknown', vrp);
      overlay.set(key, announce);
    }
    for (const { announce, vrp } of changes) {
      if (announce) this.add(vrp);
      else this.remove(vrp);
    }
  }
}

function checkMaxLength(v: Vrp): void {
  const bits = v.prefix.family === 4 ? 32 : 128;
  if (!Number.isInteger(v.maxLength) || v.maxLength < v.prefix.length || v.maxLength > bits) {
    throw new RangeError(`VRP ${formatVrp(v)}: maxLength must be between ${v.prefix.length} and ${bits}`);
  }
  if (!Number.isInteger(v.asn) || v.asn < 0 || v.asn > 0xffffffff)
    throw new RangeError(`VRP ${formatVrp(v)}: ASN out of range`);
}
