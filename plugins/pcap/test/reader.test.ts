// The capture reader against hand-made files, files written by Wireshark's own tools, tshark as the independent
// reader, and fuzzed and truncated input (an error naming the offset, never a crash).
import { expect } from 'chai';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  analyzeCapture,
  CaptureError,
  decodeFrame,
  forEachFrame,
  readFrames,
  writePcap,
  writePcapng,
} from '../src/index.js';
import { requireLab } from '../../../test/helpers/env.js';
import { ethernet, pcapOf } from './helpers/packets.js';

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
const udp = (i: number) =>
  ethernet({ time: T0, src: '198.51.100.1', dst: '203.0.113.10', protocol: 'udp', srcPort: 53, dstPort: 1000 + i });

/** A pcapng block, little-endian, body padded to 4. */
function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const h = Buffer.alloc(8);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(12 + padded.length, 4);
  const t = Buffer.alloc(4);
  t.writeUInt32LE(12 + padded.length, 0);
  return Buffer.concat([h, padded, t]);
}
const opt = (code: number, value: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(code, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
};
const shb = (comment?: string) => {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(0x1a2b3c4d, 0);
  b.writeUInt16LE(1, 4);
  b.writeInt32LE(-1, 8);
  b.writeInt32LE(-1, 12);
  return block(0x0a0d0d0a, Buffer.concat([b, ...(comment ? [opt(1, Buffer.from(comment)), Buffer.alloc(4)] : [])]));
};
const idb = (link: number, tsresol?: number) => {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(link, 0);
  b.writeUInt32LE(65535, 4);
  return block(
    1,
    Buffer.concat([b, ...(tsresol !== undefined ? [opt(9, Buffer.from([tsresol])), Buffer.alloc(4)] : [])]),
  );
};
const epb = (iface: number, ts: bigint, data: Buffer) => {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(iface, 0);
  b.writeUInt32LE(Number(ts >> 32n), 4);
  b.writeUInt32LE(Number(ts & 0xffffffffn), 8);
  b.writeUInt32LE(data.length, 12);
  b.writeUInt32LE(data.length + 100, 16);
  return block(6, Buffer.concat([b, data]));
};

describe('pcap/pcapng reader', () => {
  it('reads classic pcap in both byte orders, micro- and nanosecond stamps', () => {
    const le = pcapOf([
      { time: T0 + 1.5, src: '198.51.100.1', dst: '203.0.113.10', protocol: 'udp' },
      { time: T0 + 2.25, src: '198.51.100.2', dst: '203.0.113.10', protocol: 'tcp' },
    ]);
    const a = readFrames(le);
    expect(a.info).to.include({ format: 'pcap', frames: 2, nanosecond: false });
    expect(a.frames.map((f) => f.time)).to.deep.equal([T0 + 1.5, T0 + 2.25]);
    // The same file big-endian: every header field swapped by hand.
    const be = Buffer.from(le);
    be.writeUInt32BE(0xa1b2c3d4, 0);
    be.writeUInt16BE(2, 4);
    be.writeUInt16BE(4, 6);
    be.writeUInt32BE(65535, 16);
    be.writeUInt32BE(1, 20);
    let off = 24;
    while (off < be.length) {
      for (let i = 0; i < 16; i += 4) be.writeUInt32BE(le.readUInt32LE(off + i), off + i);
      off += 16 + le.readUInt32LE(off + 8);
    }
    expect(readFrames(be).frames.map((f) => [f.time, f.data.length])).to.deep.equal(
      a.frames.map((f) => [f.time, f.data.length]),
    );
    const ns = writePcap([{ time: T0 + 0.000123, data: udp(1) }], { nanosecond: true });
    expect(readFrames(ns).info.nanosecond).to.equal(true);
    expect(readFrames(ns).frames[0]!.time).to.be.closeTo(T0 + 0.000123, 1e-6);
  });

  it('reads pcapng: interfaces with their own link type and resolution, comments, unknown blocks skipped', () => {
    const raw = Buffer.from(udp(1).subarray(14));
    const file = Buffer.concat([
      shb('ft incident inc-x target 203.0.113.10/32 attack-start 2026-12-07T10:00:00.000Z'),
      idb(1),
      idb(101, 9),
      block(0x00000bad, Buffer.from('custom')),
      epb(0, BigInt(T0) * 1000n + 250n, udp(1)),
      epb(1, BigInt(T0) * 1_000_000n + 7n, raw),
      block(5, Buffer.alloc(16)),
    ]);
    const { info, frames } = readFrames(file);
    expect(info.comments).to.deep.equal([
      'ft incident inc-x target 203.0.113.10/32 attack-start 2026-12-07T10:00:00.000Z',
    ]);
    expect(info.interfaces.map((i) => i.link)).to.deep.equal([1, 101]);
    expect(frames.map((f) => f.link)).to.deep.equal([1, 101]);
    expect(frames[0]!.time).to.be.closeTo(T0 + 0.25, 1e-6);
    expect(frames[1]!.time).to.be.closeTo(T0 + 0.000007, 1e-3);
    expect(frames[0]!.originalLength).to.equal(frames[0]!.data.length + 100);
    const p = decodeFrame(frames[1]!);
    expect(p).to.include({ src: '198.51.100.1', dst: '203.0.113.10', protocol: 17, srcPort: 53 });
  });

  it('names the byte offset and reason of broken files (stable codes)', () => {
    const good = pcapOf([{ time: T0, src: '198.51.100.1', dst: '203.0.113.10', protocol: 'udp' }]);
    const cases: [Buffer, string, number, RegExp][] = [
      [Buffer.from('hello world, not a capture'), 'FT_E_PCAP_UNSUPPORTED', 0, /not a pcap or pcapng file/],
      [good.subarray(0, 20), 'FT_E_PCAP_TRUNCATED', 0, /file header is truncated/],
      [good.subarray(0, good.length - 3), 'FT_E_PCAP_TRUNCATED', 32, /runs past the end/],
      [Buffer.concat([good, Buffer.alloc(7)]), 'FT_E_PCAP_TRUNCATED', good.length, /record header is truncated/],
      [Buffer.concat([shb(), idb(1), epb(3, 0n, udp(1))]), 'FT_E_PCAP_MALFORMED', 28 + 20 + 8, /interface 3/],
    ];
    const bad = Buffer.from(good);
    bad.writeUInt32LE(0x7fffffff, 32);
    cases.push([bad, 'FT_E_PCAP_MALFORMED', 32, /claims 2147483647 captured bytes/]);
    for (const [buf, code, offset, why] of cases) {
      const err = (() => {
        try {
          readFrames(buf);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, why.source).to.be.instanceOf(CaptureError);
      expect((err as CaptureError).code, why.source).to.equal(code);
      expect((err as CaptureError).offset, why.source).to.equal(offset);
      expect((err as CaptureError).message)
        .to.match(why)
        .and.match(/at byte \d+/);
    }
  });

  it('property: what the writers write reads back frame for frame (pcap and pcapng)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            time: fc.integer({ min: 0, max: 2 ** 41 }),
            data: fc.uint8Array({ minLength: 0, maxLength: 300 }),
          }),
          { maxLength: 30 },
        ),
        (frames) => {
          const ms = frames.map((f) => ({ time: f.time / 1000, data: Buffer.from(f.data) }));
          for (const file of [writePcap(ms), writePcapng(ms, { comments: ['x'] })]) {
            const got = readFrames(file).frames;
            expect(got.length).to.equal(ms.length);
            got.forEach((g, i) => {
              expect(Buffer.compare(g.data, ms[i]!.data)).to.equal(0);
              expect(g.time).to.be.closeTo(ms[i]!.time, 0.002);
            });
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: every truncation is an error with an offset inside the file, or whole records with partialTail', () => {
    const specs = Array.from({ length: 6 }, (_, i) => ({
      time: T0 + i,
      src: '198.51.100.1',
      dst: '203.0.113.10',
      protocol: 'udp' as const,
      payload: Buffer.alloc(i * 7),
    }));
    const files = [pcapOf(specs), writePcapng(specs.map((s) => ({ time: s.time, data: ethernet(s) })))];
    for (const file of files) {
      const whole = readFrames(file).frames.length;
      for (let cut = 0; cut < file.length; cut++) {
        const part = file.subarray(0, cut);
        try {
          readFrames(part);
        } catch (err) {
          expect(err).to.be.instanceOf(CaptureError);
          expect((err as CaptureError).offset).to.be.within(0, cut);
        }
        if (cut >= 24) {
          const n = readFrames(part, { partialTail: true }).frames.length;
          expect(n).to.be.at.most(whole);
        }
      }
    }
  });

  it('fuzz: mutated and random input never throws anything but CaptureError, analysis included', () => {
    const seed = Buffer.concat([
      shb('c'),
      idb(1),
      epb(0, 5n, udp(1)),
      epb(0, 6n, ethernet({ time: 0, src: '2001:db8::1', dst: '2001:db8::2', protocol: 'tcp' })),
    ]);
    const pcap = pcapOf([{ time: T0, src: '198.51.100.1', dst: '203.0.113.10', protocol: 'tcp', flags: 0x12 }]);
    const mutated = fc
      .tuple(
        fc.constantFrom(seed, pcap),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
      )
      .map(([base, flips, cut]) => {
        const b = Buffer.from(base);
        for (const [at, v] of flips) b[at % b.length] = v;
        return b.subarray(0, cut % (b.length + 1));
      });
    fc.assert(
      fc.property(
        fc.oneof(
          mutated,
          fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
        ),
        (buf) => {
          for (const run of [() => forEachFrame(buf, (f) => void decodeFrame(f)), () => analyzeCapture(buf)]) {
            try {
              run();
            } catch (err) {
              if (!(err instanceof CaptureError)) throw err;
              expect(err.offset).to.be.within(0, buf.length);
            }
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  describe("against Wireshark's tools (tshark reads, editcap converts)", function () {
    this.timeout(60_000);
    let dir = '';
    before(function () {
      requireLab(this, { commands: ['tshark', 'editcap'] });
      dir = mkdtempSync(join(tmpdir(), 'ft-pcap-reader-'));
    });
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    /** (time µs, captured length, wire length) per frame, as tshark reads the file. */
    function tshark(file: string): [number, number, number][] {
      const r = spawnSync(
        'tshark',
        ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (r.status !== 0) throw new Error(r.stderr);
      return r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [t, c, w] = l.split('\t');
          return [Math.round(Number(t) * 1e6), Number(c), Number(w)];
        });
    }

    it('frame for frame the same as tshark, for files editcap wrote as pcapng, pcap and nanosecond pcap', () => {
      const specs = Array.from({ length: 40 }, (_, i) => ({
        time: T0 + i * 13.001,
        src: i % 2 ? '198.51.100.7' : '2001:db8::7',
        dst: i % 2 ? '203.0.113.10' : '2001:db8::10',
        protocol: (['tcp', 'udp', 'icmp'] as const)[i % 3]!,
        payload: Buffer.alloc((i * 37) % 300),
      }));
      const src = join(dir, 'src.pcap');
      writeFileSync(src, pcapOf(specs));
      for (const format of ['pcapng', 'pcap', 'nsecpcap']) {
        const out = join(dir, `out.${format}`);
        const r = spawnSync('editcap', ['-F', format, src, out], { encoding: 'utf8' });
        expect(r.status, r.stderr).to.equal(0);
        const ours = readFrames(readFileSync(out)).frames.map((f) => [
          Math.round(f.time * 1000),
          f.data.length,
          f.originalLength,
        ]);
        expect(ours, format).to.deep.equal(tshark(out));
      }
    });
  });
});
