// Conformance with real exporters: softflowd (NetFlow v5, v9, IPFIX; sampled and not; IPv6) and pmacctd's sfprobe
// (sFlow v5) export a pcap of known traffic; our decoders, the listener and tshark must all agree with the pcap.
import { expect } from 'chai';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLab } from '../../../test/helpers/env.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { decodeDatagram, TemplateCache } from '../src/decode/index.js';
import { flowConfigSchema } from '../src/config.js';
import { FlowDetector } from '../src/detector.js';
import type { Sample } from '@ft/sdk';
import {
  captureExport,
  datagramPcap,
  pmacctSfprobe,
  softflowd,
  stopExporters,
  tsharkCflowTotals,
  tsharkSflowTotals,
  type Totals,
} from './helpers/exporters.js';
import { FILLER, FILLER6, groundTruth, knownTraffic, trafficPcap, type Truth } from './helpers/pcap-writer.js';

interface Case {
  name: string;
  exporter: string;
  kind: 'cflow' | 'sflow';
  traffic: 'v4' | 'v6' | 'v4big' | 'v6big';
  /** Relative tolerance of scaled totals against the ground truth; 0 = exact. */
  tolerance: number;
  run: (dir: string, pcap: string, c: Case) => (port: number) => Promise<string>;
  datagrams?: Buffer[];
}

// Sampled tolerances: softflowd samples 1 packet in N deterministically (error below 2 % on this traffic, 10 %
// allowed); pmacctd samples at random, 1:10 over ≥ 1,200 packets per destination is within ±25 % at 3σ.
const CASES: Case[] = [
  {
    name: 'softflowd NetFlow v5',
    exporter: '127.0.0.11',
    kind: 'cflow',
    traffic: 'v4',
    tolerance: 0,
    run: (d, p) => softflowd(d, p, 5, { tag: 'v5' }),
  },
  {
    name: 'softflowd NetFlow v9',
    exporter: '127.0.0.12',
    kind: 'cflow',
    traffic: 'v4',
    tolerance: 0,
    run: (d, p) => softflowd(d, p, 9, { tag: 'v9' }),
  },
  {
    name: 'softflowd IPFIX',
    exporter: '127.0.0.13',
    kind: 'cflow',
    traffic: 'v4',
    tolerance: 0,
    run: (d, p) => softflowd(d, p, 10, { tag: 'ipfix' }),
  },
  {
    name: 'softflowd NetFlow v9 IPv6',
    exporter: '127.0.0.14',
    kind: 'cflow',
    traffic: 'v6',
    tolerance: 0,
    run: (d, p) => softflowd(d, p, 9, { tag: 'v9v6', v6: true }),
  },
  {
    name: 'softflowd IPFIX IPv6',
    exporter: '127.0.0.15',
    kind: 'cflow',
    traffic: 'v6',
    tolerance: 0,
    run: (d, p) => softflowd(d, p, 10, { tag: 'ipfixv6', v6: true }),
  },
  {
    name: 'pmacctd sfprobe sFlow',
    exporter: '127.0.0.16',
    kind: 'sflow',
    traffic: 'v4',
    tolerance: 0,
    run: (d, p, c) => pmacctSfprobe(d, p, { source: c.exporter, sampling: 1, tag: 'sflow' }),
  },
  {
    name: 'pmacctd sfprobe sFlow IPv6',
    exporter: '127.0.0.17',
    kind: 'sflow',
    traffic: 'v6',
    tolerance: 0,
    run: (d, p, c) => pmacctSfprobe(d, p, { source: c.exporter, sampling: 1, tag: 'sflowv6' }),
  },
  {
    name: 'softflowd NetFlow v5 sampled 1:4',
    exporter: '127.0.0.18',
    kind: 'cflow',
    traffic: 'v4big',
    tolerance: 0.1,
    run: (d, p) => softflowd(d, p, 5, { tag: 'v5s', sampling: 4 }),
  },
  {
    name: 'softflowd NetFlow v9 sampled 1:4',
    exporter: '127.0.0.19',
    kind: 'cflow',
    traffic: 'v4big',
    tolerance: 0.1,
    run: (d, p) => softflowd(d, p, 9, { tag: 'v9s', sampling: 4 }),
  },
  {
    name: 'softflowd IPFIX IPv6 sampled 1:4',
    exporter: '127.0.0.20',
    kind: 'cflow',
    traffic: 'v6big',
    tolerance: 0.1,
    run: (d, p) => softflowd(d, p, 10, { tag: 'ipfixs', sampling: 4, v6: true }),
  },
  {
    name: 'pmacctd sfprobe sFlow sampled 1:10',
    exporter: '127.0.0.21',
    kind: 'sflow',
    traffic: 'v4big',
    tolerance: 0.25,
    run: (d, p, c) => pmacctSfprobe(d, p, { source: c.exporter, sampling: 10, tag: 'sflows' }),
  },
];

const COLLECTOR_PORT = 2055;

function decodeTotals(
  datagrams: Buffer[],
  exporter: string,
): { raw: Map<string, Totals>; scaled: Map<string, Totals>; errors: string[]; misses: number } {
  const cache = new TemplateCache();
  const raw = new Map<string, Totals>();
  const scaled = new Map<string, Totals>();
  const errors: string[] = [];
  let misses = 0;
  const add = (m: Map<string, Totals>, k: string, p: number, b: number) => {
    const t = m.get(k) ?? { packets: 0, bytes: 0 };
    t.packets += p;
    t.bytes += b;
    m.set(k, t);
  };
  datagrams.forEach((d, i) => {
    const r = decodeDatagram(d, { exporter, now: 1_700_000_000_000 + i, cache });
    if (!r.ok) {
      errors.push(`#${i}: ${r.reason} at ${r.offset}`);
      return;
    }
    misses += r.templateMisses;
    for (const rec of r.records) {
      add(raw, rec.dstAddr, rec.packets, rec.bytes);
      add(scaled, rec.dstAddr, rec.packets * (rec.samplingRate ?? 1), rec.bytes * (rec.samplingRate ?? 1));
    }
  });
  for (const f of [FILLER, FILLER6]) {
    raw.delete(f);
    scaled.delete(f);
  }
  return { raw, scaled, errors, misses };
}

const asObject = (m: Map<string, Totals | Truth>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));

describe('flow conformance with real exporters (softflowd, pmacctd sfprobe, tshark)', function () {
  this.timeout(120_000);
  let dir = '';
  const pcaps: Record<Case['traffic'], string> = { v4: '', v6: '', v4big: '', v6big: '' };
  const truth: Record<string, Map<string, Truth>> = {};

  before(async function () {
    requireLab(this, { commands: ['softflowd', 'pmacctd', 'tshark'] });
    dir = mkdtempSync(join(tmpdir(), 'ft-flow-conf-'));
    const traffic = {
      v4: knownTraffic({ v6: false }),
      v6: knownTraffic({ v6: true, seed: 11 }),
      v4big: knownTraffic({ v6: false, seed: 3, scale: 2 }),
      v6big: knownTraffic({ v6: true, seed: 5, scale: 2 }),
    };
    for (const [k, packets] of Object.entries(traffic) as [Case['traffic'], typeof traffic.v4][]) {
      pcaps[k] = join(dir, `${k}.pcap`);
      writeFileSync(pcaps[k], trafficPcap(packets));
      truth[k] = groundTruth(packets);
    }
    const capture = async (c: Case) => {
      const exported = await captureExport(c.run(dir, pcaps[c.traffic], c));
      if (exported.datagrams.length === 0)
        throw new Error(`${c.name} exported nothing: ${exported.output.slice(-1500)}`);
      c.datagrams = exported.datagrams;
    };
    // pmacctd waits 2 s before reading a savefile: those run together, while softflowd runs go one at a time
    // (several at once sometimes leave one idle without reading its capture).
    await Promise.all([
      Promise.all(CASES.filter((c) => c.kind === 'sflow').map(capture)),
      (async () => {
        for (const c of CASES.filter((x) => x.kind === 'cflow')) await capture(c);
      })(),
    ]);
  });

  after(() => {
    stopExporters();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.name}: decoded per-destination totals match the pcap's ground truth${c.tolerance ? ` within ${c.tolerance * 100} %` : ' exactly'}`, () => {
      const got = decodeTotals(c.datagrams!, c.exporter);
      expect(got.errors).to.deep.equal([]);
      expect(got.misses, 'data before its template').to.equal(0);
      const expected = truth[c.traffic]!;
      if (c.tolerance === 0) {
        expect(asObject(got.scaled)).to.deep.equal(asObject(expected));
        return;
      }
      expect([...got.scaled.keys()].sort()).to.deep.equal([...expected.keys()].sort());
      for (const [dst, t] of expected) {
        const g = got.scaled.get(dst)!;
        expect(
          Math.abs(g.packets - t.packets) / t.packets,
          `${dst} packets ${g.packets} vs ${t.packets}`,
        ).to.be.at.most(c.tolerance);
        expect(Math.abs(g.bytes - t.bytes) / t.bytes, `${dst} bytes ${g.bytes} vs ${t.bytes}`).to.be.at.most(
          c.tolerance,
        );
      }
      // Sampled: each exported packet stands for more than one.
      expect(got.raw.get(expected.keys().next().value as string)!.packets).to.be.lessThan(
        expected.values().next().value!.packets,
      );
    });

    it(`${c.name}: agrees record for record with tshark's decoding of the same datagrams`, () => {
      const pcap = join(dir, `${c.exporter}-export.pcap`);
      writeFileSync(pcap, datagramPcap(c.datagrams!, c.exporter, COLLECTOR_PORT));
      const theirs =
        c.kind === 'cflow' ? tsharkCflowTotals(pcap, COLLECTOR_PORT) : tsharkSflowTotals(pcap, COLLECTOR_PORT);
      theirs.delete(FILLER);
      theirs.delete(FILLER6);
      const ours = decodeTotals(c.datagrams!, c.exporter).raw;
      expect(ours.size).to.be.greaterThan(0);
      expect(asObject(ours)).to.deep.equal(asObject(theirs));
    });
  }

  describe('through the listener, replayed from a distinct 127.0.0.N per exporter', () => {
    let detector: FlowDetector | undefined;
    const sockets: Socket[] = [];
    let mirrorSocket: Socket | undefined;

    after(async () => {
      await detector?.stop();
      for (const s of sockets) s.close();
      mirrorSocket?.close();
    });

    it('Samples add up to the ground truth per destination and per protected prefix, each exporter is tracked, mirrored datagrams are byte-identical', async () => {
      const unsampled = CASES.filter((c) => c.tolerance === 0);
      const mirrored: Buffer[] = [];
      mirrorSocket = createSocket({ type: 'udp4', recvBufferSize: 16 << 20 });
      mirrorSocket.on('message', (m) => mirrored.push(m));
      await new Promise<void>((r) => mirrorSocket!.bind(0, '127.0.0.1', () => r()));
      const config = flowConfigSchema.parse({
        listeners: [{ address: '127.0.0.1', port: 0 }],
        mirror: [{ address: '127.0.0.1', port: mirrorSocket.address().port }],
        protect: ['203.0.113.0/24', '2001:db8:100::/48'],
        windowMs: 60_000,
      });
      const samples: Sample[] = [];
      const logger = {
        debug() {},
        info() {},
        warn() {},
        error() {},
        child() {
          return logger;
        },
      };
      detector = new FlowDetector(config, { name: 'conformance', logger });
      await detector.start((s) => samples.push(s));
      const port = (await detector.status()).listener.bound[0]!.port;
      const sent: Buffer[] = [];
      for (const c of unsampled) {
        const s = createSocket('udp4');
        sockets.push(s);
        await new Promise<void>((r) => s.bind(0, c.exporter, () => r()));
        for (const d of c.datagrams!) {
          await new Promise<void>((r, j) => s.send(d, port, '127.0.0.1', (err) => (err ? j(err) : r())));
          sent.push(d);
        }
      }
      await waitFor(async () => (await detector!.status()).totals.datagrams === sent.length, {
        what: 'every datagram decoded',
        timeoutMs: 15_000,
      });
      await waitFor(() => mirrored.length === sent.length, { what: 'every datagram mirrored', timeoutMs: 5_000 });
      await detector.tick();

      const expected = new Map<string, Truth>();
      for (const c of unsampled) {
        for (const [dst, t] of truth[c.traffic]!) {
          const key = `${dst}/${dst.includes(':') ? 128 : 32}`;
          const e = expected.get(key) ?? { packets: 0, bytes: 0 };
          e.packets += t.packets;
          e.bytes += t.bytes;
          expected.set(key, e);
        }
      }
      const prefixTotal = (pfx: string, v6: boolean) => {
        const e = { packets: 0, bytes: 0 };
        for (const [k, t] of expected)
          if (k.includes(':') === v6) {
            e.packets += t.packets;
            e.bytes += t.bytes;
          }
        return [pfx, e] as const;
      };
      expected.set(...prefixTotal('203.0.113.0/24', false));
      expected.set(...prefixTotal('2001:db8:100::/48', true));
      const got = new Map(
        samples.map((s) => [
          s.target,
          { packets: Math.round((s.pps * s.windowMs) / 1000), bytes: Math.round((s.bps * s.windowMs) / 8000) },
        ]),
      );
      expect(asObject(got)).to.deep.equal(asObject(expected));

      const udpVictim = samples.find((s) => s.target === '203.0.113.11/32')!;
      expect(udpVictim.topSrcPorts?.[0]?.key, 'amplification source port').to.equal(53);
      expect(udpVictim.protocols!.udp).to.be.closeTo(udpVictim.pps, 1e-6);
      // 120 distinct sources: past 64 the count is a HyperLogLog estimate (about 2.3 % standard error).
      expect(udpVictim.sourceCount).to.be.closeTo(120, 120 * 0.07);
      const tcpVictim = samples.find((s) => s.target === '203.0.113.10/32')!;
      expect(tcpVictim.topDstPorts?.[0]?.key).to.equal(443);
      expect(tcpVictim.tcpFlags?.syn ?? 0).to.be.greaterThan(0);

      const health = (await detector.status()).exporters;
      expect(health.map((h) => h.exporter)).to.deep.equal(unsampled.map((c) => c.exporter).sort());
      for (const c of unsampled) {
        const h = health.find((x) => x.exporter === c.exporter)!;
        expect(
          { datagrams: h.datagrams, errors: h.decodeErrors, misses: h.templateMisses, lost: h.sequenceLost },
          c.name,
        ).to.deep.equal({ datagrams: c.datagrams!.length, errors: 0, misses: 0, lost: 0 });
      }
      expect(mirrored.map((m) => m.toString('hex'))).to.deep.equal(sent.map((m) => m.toString('hex')));
    });

    it('receive workers (SO_REUSEPORT) give the same Samples and exporter health as one thread, spread over the workers', async function () {
      this.timeout(60_000);
      // Every real exporter's datagrams, each replayed from three addresses (15+ exporters): the kernel hashes
      // each exporter to one of the workers, so its templates and sequence numbers stay whole there.
      const exporters: { address: string; datagrams: Buffer[] }[] = [];
      for (const c of CASES)
        for (const net of ['127.0.0', '127.0.1', '127.0.2'])
          exporters.push({ address: `${net}.${c.exporter.split('.')[3]}`, datagrams: c.datagrams! });
      const logger = {
        debug() {},
        info() {},
        warn() {},
        error() {},
        child() {
          return logger;
        },
      };
      const run = async (workers: number) => {
        const d = new FlowDetector(
          flowConfigSchema.parse({
            listeners: [{ address: '127.0.0.1', port: 0 }],
            protect: ['203.0.113.0/24', '2001:db8:100::/48'],
            windowMs: 60_000,
            workers,
            receiveBufferBytes: 16 << 20,
          }),
          { name: 'conformance', logger },
        );
        const samples: Sample[] = [];
        await d.start((x) => samples.push(x));
        const socks: Socket[] = [];
        try {
          const port = (await d.status()).listener.bound[0]!.port;
          for (const e of exporters) {
            const sock = createSocket('udp4');
            socks.push(sock);
            await new Promise<void>((r) => sock.bind(0, e.address, () => r()));
          }
          // Round robin over the exporters, each one's datagrams in its own order.
          let total = 0;
          for (let i = 0; exporters.some((e) => i < e.datagrams.length); i++) {
            for (let k = 0; k < exporters.length; k++) {
              const dg = exporters[k]!.datagrams[i];
              if (dg === undefined) continue;
              await new Promise<void>((r, j) => socks[k]!.send(dg, port, '127.0.0.1', (err) => (err ? j(err) : r())));
              total++;
            }
          }
          await waitFor(async () => (await d.status()).totals.datagrams === total, {
            what: `every datagram decoded with ${workers} workers`,
            timeoutMs: 20_000,
          });
          await d.tick();
          const status = await d.status();
          return {
            samples: samples
              .map((x) => {
                // Counts over the window (each run's window lasts as long as it took). Top lists are bounded
                // estimates (ties and tails depend on how the traffic was split): not compared here.
                const n = (perSecond: number) => Math.round((perSecond * x.windowMs) / 1000);
                return {
                  target: x.target,
                  packets: n(x.pps),
                  bytes: n(x.bps / 8),
                  protocols: Object.entries(x.protocols ?? {}).map(([k, v]) => [k, n(v)]),
                  sourceCount: x.sourceCount,
                };
              })
              .sort((a, b) => a.target.localeCompare(b.target)),
            exporters: status.exporters.map((h) => ({
              exporter: h.exporter,
              datagrams: h.datagrams,
              records: h.records,
              misses: h.templateMisses,
              lost: h.sequenceLost,
              errors: h.decodeErrors,
            })),
            busyWorkers: status.workers.filter((w) => w.received > 0).length,
            workers: status.workers.length,
          };
        } finally {
          await d.stop();
          for (const sock of socks) sock.close();
        }
      };
      const one = await run(0);
      const three = await run(3);
      expect(three.workers).to.equal(3);
      expect(three.busyWorkers, 'the kernel spread the exporters over the workers').to.be.at.least(2);
      expect(one.exporters).to.have.length(exporters.length);
      for (const h of one.exporters) expect(h, h.exporter).to.deep.include({ misses: 0, lost: 0, errors: 0 });
      expect(three.samples).to.deep.equal(one.samples);
      expect(three.exporters).to.deep.equal(one.exporters);
    });
  });
});
