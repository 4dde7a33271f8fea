import { expect } from 'chai';
import fc from 'fast-check';
import { FrameReader, compareSerial, rtrPdu, serialIsNewer } from '../../core/rpki/index.js';

const { decodePdu, encodePdu, ERROR_CODE } = rtrPdu;
type Pdu = rtrPdu.Pdu;

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('RTR PDU codec', () => {
  it('decodes PDUs written out by hand from RFC 8210 §5', () => {
    // v1 IPv4 Prefix: announce 203.0.113.0/24 max 24 AS64500
    expect(decodePdu(hex('01 04 0000 00000014 01 18 18 00 cb007100 0000fbf4'))).to.deep.equal({
      ok: true,
      pdu: {
        type: 'prefix',
        version: 1,
        family: 4,
        announce: true,
        prefixLength: 24,
        maxLength: 24,
        address: Uint8Array.from([203, 0, 113, 0]),
        asn: 64500,
      },
    });
    // v1 End of Data: session 0x1234, serial 7, refresh 3600, retry 600, expire 7200
    expect(decodePdu(hex('01 07 1234 00000018 00000007 00000e10 00000258 00001c20'))).to.deep.equal({
      ok: true,
      pdu: {
        type: 'end-of-data',
        version: 1,
        sessionId: 0x1234,
        serial: 7,
        timers: { refresh: 3600, retry: 600, expire: 7200 },
      },
    });
    // v0 End of Data has no timers and is 12 bytes.
    expect(decodePdu(hex('00 07 1234 0000000c 00000007'))).to.deep.equal({
      ok: true,
      pdu: { type: 'end-of-data', version: 0, sessionId: 0x1234, serial: 7 },
    });
    // Error Report as stayrtr sends it: NUL-terminated text, no encapsulated PDU.
    const r = decodePdu(hex('00 0a 0004 00000016 00000000 00000006 6f6c64206100'));
    expect(r).to.deep.include({ ok: true });
    expect(r.ok && r.pdu.type === 'error-report' && r.pdu.code).to.equal(4);
    expect(r.ok && r.pdu.type === 'error-report' && r.pdu.text).to.equal('old a');
  });

  it('encodes the queries a router sends byte for byte', () => {
    expect(encodePdu({ type: 'reset-query', version: 1 }).toString('hex')).to.equal('0102000000000008');
    expect(
      encodePdu({ type: 'serial-query', version: 0, sessionId: 0xbeef, serial: 0xfffffffe }).toString('hex'),
    ).to.equal('0001beef0000000cfffffffe');
    // Error Report: code 6, 29 bytes, 2 encapsulated bytes, 11 bytes of text.
    expect(rtrPdu.encodeErrorReport(1, 6, hex('0104'), 'no such VRP').toString('hex')).to.equal(
      `010a0006 0000001d 00000002 0104 0000000b ${Buffer.from('no such VRP').toString('hex')}`.replace(/ /g, ''),
    );
  });

  const version = fc.constantFrom(0, 1);
  const addr4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
  const addr6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
  const mask = (a: Uint8Array, len: number) =>
    Uint8Array.from(a, (b, i) => b & ((0xff << (8 - Math.max(0, Math.min(8, len - i * 8)))) & 0xff));
  const anyPdu: fc.Arbitrary<Pdu> = fc.oneof(
    fc.record({
      type: fc.constant('serial-notify' as const),
      version,
      sessionId: fc.integer({ min: 0, max: 0xffff }),
      serial: fc.nat({ max: 0xffffffff }),
    }),
    fc.record({
      type: fc.constant('serial-query' as const),
      version,
      sessionId: fc.integer({ min: 0, max: 0xffff }),
      serial: fc.nat({ max: 0xffffffff }),
    }),
    fc.record({ type: fc.constant('reset-query' as const), version }),
    fc.record({ type: fc.constant('cache-reset' as const), version }),
    fc.record({
      type: fc.constant('cache-response' as const),
      version,
      sessionId: fc.integer({ min: 0, max: 0xffff }),
    }),
    fc
      .tuple(
        version,
        fc.boolean(),
        fc.oneof(addr4, addr6),
        fc.nat({ max: 128 }),
        fc.nat({ max: 128 }),
        fc.nat({ max: 0xffffffff }),
      )
      .map(([v, announce, a, x, y, asn]) => {
        const bits = a.length * 8;
        const prefixLength = Math.min(x, y) % (bits + 1);
        const maxLength = prefixLength + ((Math.max(x, y) - Math.min(x, y)) % (bits - prefixLength + 1));
        return {
          type: 'prefix' as const,
          version: v,
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- keeps the literal type in the object
          family: (a.length === 4 ? 4 : 6) as 4 | 6,
          announce,
          prefixLength,
          maxLength,
          address: mask(a, prefixLength),
          asn,
        };
      }),
    fc.record({
      type: fc.constant('end-of-data' as const),
      version: fc.constant(0),
      sessionId: fc.integer({ min: 0, max: 0xffff }),
      serial: fc.nat({ max: 0xffffffff }),
    }),
    fc.record({
      type: fc.constant('end-of-data' as const),
      version: fc.constant(1),
      sessionId: fc.integer({ min: 0, max: 0xffff }),
      serial: fc.nat({ max: 0xffffffff }),
      timers: fc.record({
        refresh: fc.nat({ max: 86400 }),
        retry: fc.nat({ max: 7200 }),
        expire: fc.nat({ max: 172800 }),
      }),
    }),
    fc.record({
      type: fc.constant('router-key' as const),
      version: fc.constant(1),
      announce: fc.boolean(),
      ski: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      asn: fc.nat({ max: 0xffffffff }),
      spki: fc.uint8Array({ maxLength: 100 }),
    }),
    fc.record({
      type: fc.constant('error-report' as const),
      version,
      code: fc.integer({ min: 0, max: 8 }),
      encapsulated: fc.uint8Array({ maxLength: 40 }),
      text: fc.string({ maxLength: 60 }).filter((s) => !s.endsWith('\0')),
    }),
  );

  it('decode(encode(pdu)) is the pdu, for every PDU type and both versions', () => {
    fc.assert(
      fc.property(anyPdu, (pdu) => {
        const r = decodePdu(encodePdu(pdu));
        expect(r.ok, JSON.stringify(r)).to.equal(true);
        expect(r.ok && r.pdu).to.deep.equal(pdu);
      }),
      { numRuns: 500 },
    );
  });

  it('frames PDUs by length whatever way a stream is cut into reads', () => {
    fc.assert(
      fc.property(
        fc.array(anyPdu, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (pdus, cuts) => {
          const stream = Buffer.concat(pdus.map(encodePdu));
          const points = [...new Set(cuts.map((c) => c % stream.length))].sort((a, b) => a - b);
          const reader = new FrameReader();
          const got: Pdu[] = [];
          let at = 0;
          for (const p of [...points, stream.length]) {
            const { frames, error } = reader.push(stream.subarray(at, p));
            expect(error).to.equal(undefined);
            for (const f of frames) {
              const r = decodePdu(f);
              if (r.ok) got.push(r.pdu);
            }
            at = p;
          }
          expect(got).to.deep.equal(pdus);
          expect(reader.buffered).to.equal(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes: every frame decodes or names an RTR error code to send', () => {
    const codes = new Set(Object.values(ERROR_CODE));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const reader = new FrameReader();
        const { frames, error } = reader.push(bytes);
        if (error) expect(codes.has(error.code)).to.equal(true);
        for (const f of frames) {
          const r = decodePdu(f);
          if (!r.ok) {
            expect(codes.has(r.error.code)).to.equal(true);
            expect(r.error.message).to.be.a('string').and.not.equal('');
          }
        }
      }),
      { numRuns: 2000 },
    );
    // Mutations of valid PDUs reach deeper into the decoder than random bytes.
    fc.assert(
      fc.property(anyPdu, fc.nat(), fc.nat({ max: 255 }), (pdu, at, value) => {
        const b = encodePdu(pdu);
        b[at % b.length] = value;
        const { frames, error } = new FrameReader().push(b);
        if (error) return;
        for (const f of frames) {
          const r = decodePdu(f);
          if (!r.ok) expect(codes.has(r.error.code)).to.equal(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('answers each kind of bad PDU with the right error code', () => {
    const code = (b: Buffer) => {
      const r = decodePdu(b);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code(hex('02 02 0000 00000008'))).to.equal(ERROR_CODE.unsupportedVersion);
    expect(code(hex('01 05 0000 00000008'))).to.equal(ERROR_CODE.unsupportedPduType);
    expect(code(hex('00 09 0000 00000020' + '00'.repeat(24)))).to.equal(ERROR_CODE.unsupportedPduType); // Router Key in v0
    expect(code(hex('01 07 0001 0000000c 00000001'))).to.equal(ERROR_CODE.corruptData); // v1 EOD with v0 length
    expect(code(hex('01 04 0000 00000014 01 19 18 00 cb007100 0000fbf4'))).to.equal(ERROR_CODE.corruptData); // prefix /25 > max 24
    expect(code(hex('01 04 0000 00000014 01 18 21 00 cb007100 0000fbf4'))).to.equal(ERROR_CODE.corruptData); // max 33
    expect(new FrameReader().push(hex('01 00 0000 00000004')).error?.code).to.equal(ERROR_CODE.corruptData);
    expect(new FrameReader().push(hex('01 00 0000 7fffffff')).error?.code).to.equal(ERROR_CODE.corruptData);
  });
});

describe('RFC 1982 serial arithmetic', () => {
  it('orders serials across the wrap', () => {
    expect(serialIsNewer(1, 0)).to.equal(true);
    expect(serialIsNewer(0, 0xffffffff)).to.equal(true);
    expect(serialIsNewer(0xffffffff, 0)).to.equal(false);
    expect(serialIsNewer(5, 5)).to.equal(false);
    expect(serialIsNewer(0x7fffffff, 0)).to.equal(true);
    expect(compareSerial(0x80000000, 0)).to.equal(undefined);
    expect(serialIsNewer(0x80000001, 0)).to.equal(false);
  });

  it('s + n is newer than s for 0 < n < 2^31, and never both ways', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (s, n) => {
        const t = (s + n) >>> 0;
        expect(serialIsNewer(t, s)).to.equal(true);
        expect(serialIsNewer(s, t)).to.equal(false);
      }),
    );
  });
});
