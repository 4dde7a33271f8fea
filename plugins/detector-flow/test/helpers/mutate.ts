import fc from 'fast-check';

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'byte'; at: number; value: number }
  | { kind: 'u16'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'zero16'; at: number };

/** Positions are fractions of the datagram length, so one mutation fits any datagram. */
export function mutation(): fc.Arbitrary<Mutation> {
  const at = fc.nat(1_000_000);
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('byte' as const), at, value: fc.nat(255) }),
    fc.record({ kind: fc.constant('u16' as const), at, value: fc.constantFrom(0, 1, 3, 4, 255, 256, 0x7fff, 0xffff) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.array(fc.nat(255), { maxLength: 16 }) }),
    // Zeroing a 16-bit word is how zero-length sets and zero field counts appear.
    fc.record({ kind: fc.constant('zero16' as const), at }),
  );
}

export function applyMutations(original: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(original);
  for (const m of muts) {
    if (b.length === 0) break;
    const pos = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[pos] = (b[pos] as number) ^ (1 << m.bit);
        break;
      case 'byte':
        b[pos] = m.value;
        break;
      case 'u16':
        if (pos + 2 <= b.length) b.writeUInt16BE(m.value, pos);
        break;
      case 'zero16':
        if (pos + 2 <= b.length) b.writeUInt16BE(0, pos);
        break;
      case 'truncate':
        b = b.subarray(0, pos);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, pos), Buffer.from(m.bytes), b.subarray(pos)]);
        break;
    }
  }
  return b;
}
