// `ft flow decode` and `ft flow listen` as an operator runs them: the built CLI in a child process.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, isolatedHome, ROOT, runFt } from '../../../test/helpers/cli.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { addr, ipfix, netflow5, set, templateRecord, u16, u32, u8 } from './helpers/encode.js';
import { datagramPcap } from './helpers/exporters.js';
import { pcapFile, udpFrame } from './helpers/pcap-writer.js';

const TEMPLATE = templateRecord(
  256,
  [
    [8, 4],
    [12, 4],
    [7, 2],
    [11, 2],
    [4, 1],
    [2, 4],
    [1, 4],
  ],
  true,
);
const data = (dst: string, pkts: number) =>
  Buffer.concat([addr('198.51.100.1'), addr(dst), u16(53), u16(999), u8(17), u32(pkts), u32(pkts * 100)]);

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('ft flow commands', function () {
  this.timeout(60_000);
  let dir = '';
  const env = isolatedHome();
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ft-flow-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('decode: a capture of IPFIX with its template first, plus a broken datagram reported with its offset (exit 1)', async () => {
    const broken = ipfix([set(256, data('203.0.113.10', 1))]);
    broken.writeUInt16BE(9999, 2);
    const pcap = join(dir, 'export.pcap');
    writeFileSync(
      pcap,
      datagramPcap(
        [
          ipfix([set(2, TEMPLATE)]),
          ipfix([set(256, Buffer.concat([data('203.0.113.10', 5), data('203.0.113.11', 2)]))]),
          broken,
        ],
        '192.0.2.7',
        4739,
      ),
    );
    const r = await runFt(['flow', 'decode', pcap, '--json'], env);
    expect(r.code, r.stderr).to.equal(1);
    const report = JSON.parse(r.stdout);
    expect(report.summary).to.deep.include({ datagrams: 3, decoded: 2, errors: 1, records: 2 });
    expect(
      report.summary.byDestination.map((t: { destination: string; packets: number; bytes: number }) => [
        t.destination,
        t.packets,
        t.bytes,
      ]),
    ).to.deep.equal([
      ['203.0.113.10', 5, 500],
      ['203.0.113.11', 2, 200],
    ]);
    expect(report.datagrams[2]).to.deep.include({ ok: false, exporter: '192.0.2.7', protocol: 'ipfix' });
    expect(report.datagrams[2].error).to.deep.equal({
      offset: 2,
      reason: `IPFIX message length 9999 exceeds the datagram (${broken.length} bytes)`,
    });

    const human = await runFt(['flow', 'decode', pcap], env);
    expect(human.stdout).to.include('#1 192.0.2.7:40000');
    expect(human.stdout).to.match(/#3 .* ipfix ERROR at byte 2: IPFIX message length 9999/);
    expect(human.stdout).to.match(/198\.51\.100\.1:53 -> 203\.0\.113\.10:999 udp 5 pkt 500 B/);
  });

  it('decode: raw datagram files, scaled by --sampling when the exporter states no rate', async () => {
    const file = join(dir, 'v5.bin');
    writeFileSync(file, netflow5([{ src: '198.51.100.1', dst: '203.0.113.10', packets: 3, bytes: 300 }]));
    const r = await runFt(['flow', 'decode', file, '--sampling', '1000', '--json'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).summary.byDestination).to.deep.equal([
      { destination: '203.0.113.10', packets: 3, bytes: 300, scaledPackets: 3000, scaledBytes: 300000 },
    ]);
  });

  it('decode: a missing file is a clear error (exit 2)', async () => {
    const r = await runFt(['flow', 'decode', join(dir, 'nope.pcap')], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('cannot read');
    expect(r.stderr).to.include('ENOENT');
  });

  it('listen: collects for --duration seconds and prints every window and the exporters as JSON', async () => {
    const port = await freeUdpPort();
    const run = runFt(
      [
        'flow',
        'listen',
        '--listen',
        `auto@127.0.0.1:${port}`,
        '--protect',
        '203.0.113.0/24',
        '--duration',
        '3',
        '--window-ms',
        '500',
        '--json',
      ],
      env,
    );
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.51', () => r()));
    // Bound once a datagram is counted: keep sending until the collector answers with the same total we sent.
    let sent = 0;
    await waitFor(
      () => {
        // Until it binds, datagrams are refused (ICMP port unreachable): count only what can have been received.
        s.send(
          netflow5([{ src: '198.51.100.1', dst: '203.0.113.10', packets: 10, bytes: 1000 }], { sequence: sent }),
          port,
          '127.0.0.1',
        );
        sent++;
        return sent >= 20;
      },
      { intervalMs: 100, timeoutMs: 10_000 },
    );
    const r = await run;
    s.close();
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    // Samples of sub-second windows are rated over the trailing second, so they overlap: count packets from the
    // newest Sample back, taking each next one only where the previous one's span begins (spans are whole windows).
    type Out = { target: string; at: number; pps: number; windowMs: number };
    const packets = (target: string) => {
      const list: Out[] = out.windows
        .flatMap((w: { samples: Out[] }) => w.samples)
        .filter((x: Out) => x.target === target);
      let n = 0;
      let before = Infinity;
      for (let i = list.length - 1; i >= 0; i--) {
        const x = list[i]!;
        if (x.at > before) continue;
        n += Math.round((x.pps * x.windowMs) / 1000);
        before = x.at - x.windowMs;
      }
      return n;
    };
    const received = out.totals.datagrams;
    expect(received).to.be.within(5, 20);
    expect(packets('203.0.113.10/32')).to.equal(received * 10);
    expect(packets('203.0.113.0/24')).to.equal(received * 10);
    expect(out.exporters.map((e: { exporter: string }) => e.exporter)).to.deep.equal(['127.0.0.51']);
    expect(out.listeners).to.deep.equal([
      { protocol: 'auto', address: '127.0.0.1', port, receiveBufferBytes: out.listeners[0].receiveBufferBytes },
    ]);
  });

  it('listen: a malformed --listen is refused before anything binds (exit 2)', async () => {
    const r = await runFt(['flow', 'listen', '--listen', 'collector.example:2055', '--duration', '1'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/listeners\.0\.address: must be an IPv4 or IPv6 address/);
  });

  describe('issue 20 §3 regressions', () => {
    /** A NetFlow v5 capture of `datagrams` datagrams of 30 flows each, to `destinations` distinct addresses. */
    function v5Capture(file: string, datagrams: number, destinations: number, repeat = false): void {
      const frames: { time: number; data: Buffer }[] = [];
      let k = 0;
      let one: Buffer | undefined;
      for (let d = 0; d < datagrams; d++) {
        let dg = repeat ? one : undefined;
        if (dg === undefined) {
          const flows = [];
          for (let f = 0; f < 30; f++, k++) {
            const n = k % destinations;
            flows.push({
              src: '198.51.100.1',
              dst: `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`,
              packets: 1,
              bytes: 100,
            });
          }
          dg = netflow5(flows);
          one = dg;
        }
        frames.push({ time: 1_700_000_000 + d / 1000, data: udpFrame('192.0.2.1', 40000, '127.0.0.1', 2055, dg) });
      }
      writeFileSync(file, pcapFile(frames, 101));
    }

    it('decode --summary streams the capture: memory stays flat in its size (900k records under a 48 MB heap)', async () => {
      const pcap = join(dir, 'long.pcap');
      v5Capture(pcap, 30_000, 30, true);
      const r = await runFt(['flow', 'decode', pcap, '--summary'], { ...env, NODE_OPTIONS: '--max-old-space-size=48' });
      expect(r.code, r.stderr.slice(-500)).to.equal(0);
      expect(r.stdout).to.include('30000 datagram(s): 30000 decoded, 0 error(s), 900000 record(s)');
      expect(r.stdout).to.match(/10\.0\.0\.0\s+30000\s+3000000\s+30000\s+3000000/);
    });

    it('decode reads pcapng (as editcap writes it, several MiB) exactly as the same capture in pcap', async () => {
      const pcap = join(dir, 'ng.pcap');
      v5Capture(pcap, 3000, 5000);
      const ng = join(dir, 'ng.pcapng');
      const conv = spawnSync('editcap', ['-F', 'pcapng', pcap, ng], { encoding: 'utf8' });
      expect(conv.status, conv.stderr).to.equal(0);
      const a = await runFt(['flow', 'decode', pcap, '--summary', '--json'], env);
      const b = await runFt(['flow', 'decode', ng, '--summary', '--json'], env);
      expect(b.code, b.stderr.slice(-500)).to.equal(0);
      const [ra, rb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
      expect(rb.files).to.deep.equal([{ file: ng, format: 'pcapng', datagrams: 3000, skippedFrames: 0 }]);
      expect(rb.summary).to.deep.equal(ra.summary);
      expect(rb.summary.records).to.equal(90_000);
      expect(rb.datagrams.map((d: { time: number }) => d.time)).to.deep.equal(
        ra.datagrams.map((d: { time: number }) => d.time),
      );
    });

    it('decode prints a destination table of 150,000 rows (no stack overflow) and its JSON has every total', async () => {
      const pcap = join(dir, 'wide.pcap');
      v5Capture(pcap, 5000, 150_000);
      const r = await runFt(['flow', 'decode', pcap, '--summary'], env);
      expect(r.code, r.stderr.slice(-500)).to.equal(0);
      const rows = r.stdout.split('\n').filter((l) => /^10\.\d+\.\d+\.\d+\s/.test(l));
      expect(rows).to.have.length(150_000);
      const j = await runFt(['flow', 'decode', pcap, '--summary', '--json'], env);
      expect(j.code, j.stderr.slice(-500)).to.equal(0);
      const report = JSON.parse(j.stdout);
      expect(report.summary).to.deep.include({ datagrams: 5000, decoded: 5000, records: 150_000 });
      expect(report.summary.byDestination).to.have.length(150_000);
    });

    for (const [signal, mode] of [
      ['SIGTERM', '--ndjson'],
      ['SIGINT', 'table'],
    ] as const) {
      it(`listen --duration 600 stops at once on ${signal} (${mode}), with no warning about the last window`, async () => {
        const port = await freeUdpPort();
        const args = ['flow', 'listen', '--listen', `127.0.0.1:${port}`, '--duration', '600', '--window-ms', '200'];
        if (mode !== 'table') args.push(mode);
        const child = spawn(process.execPath, [BIN, ...args], {
          cwd: ROOT,
          env: { ...process.env, ...env, NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
        // Windows are printed once it listens: then the signal. The test times out if it waits for --duration.
        await waitFor(() => (mode === 'table' ? stdout.includes('TARGET') : stdout.includes('"samples"')), {
          intervalMs: 50,
          timeoutMs: 20_000,
        });
        child.kill(signal);
        const code = await exited;
        expect(code, stderr).to.equal(0);
        expect(stderr).to.not.include('could not be closed');
      });
    }
  });
});
