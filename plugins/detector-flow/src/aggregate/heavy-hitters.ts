/**
 * Light per-host counters for the hosts without full stats, in a fixed-size table: a space-saving summary in
 * 4-way sets (Metwally et al., "Efficient computation of frequent and top-k elements in data streams", with
 * the replacement done within a set instead of over the whole table). A host is found in its set or takes the
 * slot of the set's smallest; its `rank` then starts from that slot's count (space-saving's over-estimate, only
 * used to decide which host to evict), while `packets`/`bytes` count only what the host sent since it took the
 * slot (a lower bound, never more than it sent). Fixed memory, O(4) per record, whatever the number of
 * destinations: a sweep of a million destinations a second churns the slots, a real heavy hitter keeps its slot
 * because it is never its set's smallest.
 */
export class HeavyHitters {
  /** Host key: an IPv4 value, or the hash of an IPv6 text. */
  private readonly keys: Uint32Array;
  /** 0: empty slot; 4: IPv4 key; 6: IPv6 hash key. */
  private readonly kinds: Uint8Array;
  private readonly ranks: Float64Array;
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  private readonly setShift: number;
  /** Slots in use (for the tracked-host count tests and health). */
  used = 0;

  constructor(readonly slots: number) {
    if (!Number.isInteger(Math.log2(slots)) || slots < 4) throw new RangeError('slots must be a power of two >= 4');
    this.keys = new Uint32Array(slots);
    this.kinds = new Uint8Array(slots);
    this.ranks = new Float64Array(slots);
    this.packets = new Float64Array(slots);
    this.bytes = new Float64Array(slots);
    this.setShift = 32 - Math.log2(slots / 4);
  }

  /** Counts `packets`/`bytes` for a host; returns its slot (its counts are `packets[slot]`, `bytes[slot]`). */
  add(kind: 4 | 6, key: number, packets: number, bytes: number): number {
    const base = this.setShift === 32 ? 0 : (Math.imul(key, 0x9e3779b1) >>> this.setShift) * 4;
    const keys = this.keys;
    const kinds = this.kinds;
    let victim = -1;
    for (let s = base; s < base + 4; s++) {
      const k = kinds[s]!;
      if (k === kind && keys[s] === key) {
        this.ranks[s]! += packets;
        this.packets[s]! += packets;
        this.bytes[s]! += bytes;
        return s;
      }
      if (k === 0) {
        if (victim === -1 || kinds[victim] !== 0) victim = s;
      } else if (victim === -1 || (kinds[victim] !== 0 && this.ranks[s]! < this.ranks[victim]!)) victim = s;
    }
    const s = victim;
    if (kinds[s] === 0) {
      this.used++;
      this.ranks[s] = packets;
    } else this.ranks[s]! += packets; // inherits the count it replaces: space-saving's bound
    kinds[s] = kind;
    keys[s] = key;
    this.packets[s] = packets;
    this.bytes[s] = bytes;
    return s;
  }

  /** Frees a slot (its host moved to full tracking). */
  remove(slot: number): void {
    if (this.kinds[slot] === 0) return;
    this.kinds[slot] = 0;
    this.used--;
  }

  /** A new window: every slot empty. */
  clear(): void {
    if (this.used === 0) return;
    this.kinds.fill(0);
    this.used = 0;
  }
}
