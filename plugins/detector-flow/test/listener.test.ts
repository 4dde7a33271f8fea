import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import type { Sample } from '@ft/sdk';
import { waitFor } from '../../../test/helpers/wait.js';
import { flowConfigSchema, type FlowConfigInput } from '../src/config.js';
import { FlowDetector } from '../src/detector.js';
import { parseUdpDrops } from '../src/listen/socket-drops.js';
import plugin, { flowDetector } from '../src/plugin.js';
import { collect } from '@ft/sdk';
import { netflow5, netflow9, set, templateRecord, addr, u32 } from './helpers/encode.js';

const logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return logger;
  },
};
const ctx = {
  name: 'flow-test',
  logger,
  stateDir: '/nonexistent',
  secret: () => {
    throw new Error('no secrets');
  },
  signal: new AbortController().signal,
};

async function started(input: FlowConfigInput, samples: Sample[] = []): Promise<{ d: FlowDetector; port: number }> {
  const d = new FlowDetector(flowConfigSchema.parse(input), ctx);
  await d.start((s) => samples.push(s));
  return { d, port: (await d.status()).listener.bound[0]!.port };
}

async function sender(address: string): Promise<Socket> {
  const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  return s;
}

function send(s: Socket, buf: Buffer, port: number, host: string): Promise<void> {
  return new Promise((r, j) => s.send(buf, port, host, (e) => (e ? j(e) : r())));
}

const flow = (dst: string, packets = 1) =>
  netflow5([{ src: '198.51.100.1', dst, packets, bytes: packets * 100, proto: 17, srcPort: 53, dstPort: 999 }]);

describe('flow listener and detector', function () {
  this.timeout(30_000);
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('registers kind "flow" whose defaults are the reference ports on every IPv4 and IPv6 address', () => {
    const reg = collect(plugin);
    expect(reg.detectors.map((d) => d.kind)).to.deep.equal(['flow']);
    const cfg = flowConfigSchema.parse({});
    expect(cfg.listeners.map((l) => `${l.address}:${l.port}/${l.protocol}`)).to.deep.equal([
      '0.0.0.0:6343/auto',
      ':::6343/auto',
      '0.0.0.0:2055/auto',
      ':::2055/auto',
      '0.0.0.0:4739/auto',
      ':::4739/auto',
    ]);
    expect(cfg.sampling.default).to.equal(1);
  });

  it('rejects hostnames, prefixes and bad ports in the config with the path to the mistake', () => {
    const r = flowConfigSchema.safeParse({
      listeners: [{ address: 'collector.example', port: 2055 }],
      mirror: [{ address: '192.0.2.0/24', port: 9 }],
      allowedExporters: ['300.1.1.1'],
    });
    expect(r.success).to.equal(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).to.include.members(['listeners.0.address', 'mirror.0.address', 'allowedExporters.0']);
  });

  it('opens no socket in create(), binds in start() and frees the port in stop()', async () => {
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const detector = await flowDetector.create(
      flowConfigSchema.parse({ listeners: [{ address: '127.0.0.1', port }] }),
      ctx,
    );
    const bindable = () =>
      new Promise<boolean>((resolve) => {
        const s = createSocket('udp4');
        s.once('error', () => resolve(false));
        s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
      });
    expect(await bindable(), 'free after create()').to.equal(true);
    expect(detector.health().status).to.equal('down');
    await detector.start(() => {});
    expect(await bindable(), 'taken after start()').to.equal(false);
    expect(detector.health().status).to.equal('ok');
    await detector.stop();
    expect(await bindable(), 'free after stop()').to.equal(true);
  });

  it('names the address and the reason when a port is taken, and leaves nothing bound', async () => {
    const { d, port } = await started({ listeners: [{ address: '127.0.0.1', port: 0 }] });
    cleanup.push(() => d.stop());
    const second = new FlowDetector(
      flowConfigSchema.parse({
        listeners: [
          { address: '127.0.0.1', port: 0 },
          { address: '127.0.0.1', port },
        ],
      }),
      ctx,
    );
    let message = '';
    await second.start(() => {}).catch((e: Error) => (message = e.message));
    expect(message).to.equal(`cannot listen on 127.0.0.1:${port}/udp for auto: EADDRINUSE`);
    expect(second.health().status).to.equal('down');
  });

  it('drops and counts datagrams from exporters outside the allowed list; accepts IPv6 exporters on an IPv6 socket', async () => {
    const samples: Sample[] = [];
    const { d, port } = await started(
      {
        listeners: [
          { address: '127.0.0.1', port: 0 },
          { address: '::1', port: 0 },
        ],
        allowedExporters: ['127.0.0.31/32', '::1/128'],
        windowMs: 60_000,
      },
      samples,
    );
    cleanup.push(() => d.stop());
    const port6 = (await d.status()).listener.bound[1]!.port;
    const good = await sender('127.0.0.31');
    const bad = await sender('127.0.0.32');
    const v6 = await sender('::1');
    cleanup.push(() => {
      good.close();
      bad.close();
      v6.close();
    });
    await send(good, flow('203.0.113.10', 3), port, '127.0.0.1');
    for (let i = 0; i < 5; i++) await send(bad, flow('203.0.113.66', 1000), port, '127.0.0.1');
    await send(v6, flow('203.0.113.10', 4), port6, '::1');
    await waitFor(async () => (await d.status()).listener.received === 7, { what: '7 datagrams' });
    await d.tick();
    expect(samples.map((s) => [s.target, Math.round((s.pps * s.windowMs) / 1000)])).to.deep.equal([
      ['203.0.113.10/32', 7],
    ]);
    const status = await d.status();
    expect(status.listener.notAllowed).to.equal(5);
    expect(status.exporters.map((e) => e.exporter)).to.have.members(['127.0.0.31', '::1']);
  });

  it('closes windows on its timer and hands one Sample per target to the sink', async () => {
    const samples: Sample[] = [];
    const { d, port } = await started({ listeners: [{ address: '127.0.0.1', port: 0 }], windowMs: 200 }, samples);
    cleanup.push(() => d.stop());
    const s = await sender('127.0.0.33');
    cleanup.push(() => void s.close());
    await send(s, flow('203.0.113.20', 10), port, '127.0.0.1');
    await waitFor(() => samples.length > 0, { what: 'a Sample', timeoutMs: 3000 });
    expect(samples[0]).to.deep.include({
      source: 'flow-test',
      sourceKind: 'flow',
      target: '203.0.113.20/32',
      direction: 'in',
    });
    expect(samples[0]!.windowMs).to.be.within(150, 1000);
  });

  it('spreads decoding over worker threads with the same result as decoding inline', async () => {
    const datagrams: [string, Buffer][] = [];
    const tpl = set(
      0,
      templateRecord(
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
        false,
      ),
    );
    for (let e = 0; e < 4; e++) {
      const exporter = `127.0.0.${40 + e}`;
      datagrams.push([exporter, netflow9([tpl])]);
      for (let i = 0; i < 30; i++) {
        const body = Buffer.concat(
          Array.from({ length: 10 }, (_, k) =>
            Buffer.concat([
              addr(`198.51.100.${(i * 10 + k) % 250}`),
              addr(`203.0.113.${k % 3}`),
              Buffer.from([0, 53, 4, 0, 17]),
              u32(e + 1),
              u32((e + 1) * 500),
            ]),
          ),
        );
        datagrams.push([exporter, netflow9([set(256, body)], { sequence: i + 1 })]);
      }
    }
    const run = async (workers: number) => {
      const samples: Sample[] = [];
      const { d, port } = await started(
        { listeners: [{ address: '127.0.0.1', port: 0 }], windowMs: 60_000, workers },
        samples,
      );
      const sockets = new Map<string, Socket>();
      for (const [exporter, dg] of datagrams) {
        if (!sockets.has(exporter)) sockets.set(exporter, await sender(exporter));
        await send(sockets.get(exporter)!, dg, port, '127.0.0.1');
      }
      await waitFor(async () => (await d.status()).totals.datagrams === datagrams.length, {
        what: 'all decoded',
        timeoutMs: 10_000,
      });
      await d.tick();
      const exporters = (await d.status()).exporters.map((e) => [e.exporter, e.records, e.templateMisses]);
      await d.stop();
      for (const s of sockets.values()) s.close();
      return {
        exporters,
        samples: samples
          .map((s) => ({
            target: s.target,
            packets: Math.round((s.pps * s.windowMs) / 1000),
            top: s.topDstPorts!.map((t) => [t.key, Math.round((t.count * s.windowMs) / 1000)]),
            sources: s.sourceCount,
          }))
          .sort((a, b) => a.target.localeCompare(b.target)),
      };
    };
    const inline = await run(0);
    const threaded = await run(2);
    expect(inline.samples).to.have.length(3);
    // Per datagram 10 records to .0 .1 .2 .0 .1 .2 ...: 4, 3 and 3 of them; each exporter e sends e+1 packets per record.
    expect(inline.samples.map((s) => s.packets)).to.deep.equal([30 * 4 * 10, 30 * 3 * 10, 30 * 3 * 10]);
    expect(threaded).to.deep.equal(inline);
  });

  it('reads in bursts (coalesceMs) without losing a datagram, across pauses, and stops cleanly while paused', async () => {
    const { d, port } = await started({
      listeners: [{ address: '127.0.0.1', port: 0 }],
      protect: ['203.0.113.0/24'],
      coalesceMs: 20,
      receiveBufferBytes: 8 << 20,
    });
    cleanup.push(() => d.stop());
    const s = await sender('127.0.0.1');
    cleanup.push(() => {
      s.close();
    });
    // Bursts far larger than one read turn, with gaps longer than the pause between them.
    let sent = 0;
    for (let burst = 0; burst < 5; burst++) {
      await Promise.all(Array.from({ length: 400 }, () => send(s, flow('203.0.113.9'), port, '127.0.0.1')));
      sent += 400;
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(async () => (await d.status()).totals.records === sent, {
      what: `${sent} records`,
      timeoutMs: 10_000,
    });
    expect((await d.status()).listener.socketDrops).to.equal(0);
    // A lone datagram after the bursts is still read (the socket is not left paused).
    await new Promise((r) => setTimeout(r, 100));
    await send(s, flow('203.0.113.9'), port, '127.0.0.1');
    await waitFor(async () => (await d.status()).totals.records === sent + 1, { what: 'the lone datagram' });
  });

  it('reports kernel receive-buffer drops from /proc/net/udp as a metric and turns health degraded', async () => {
    const { d, port } = await started({
      listeners: [{ address: '127.0.0.1', port: 0 }],
      receiveBufferBytes: 65_536,
      windowMs: 60_000,
    });
    cleanup.push(() => d.stop());
    await d.tick();
    expect((await d.status()).listener.socketDrops).to.equal(0);
    // A burst while our thread is busy: the kernel buffer overflows, as it does under a real flood.
    const script = `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(1400);b.writeUInt16BE(5,0);let n=0;
      (function go(){for(let i=0;i<100;i++)s.send(b,${port},'127.0.0.1');if(++n<30)setImmediate(go);else setTimeout(()=>s.close(),200)})();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
    await new Promise((r) => child.on('exit', r));
    await d.tick();
    const drops = (await d.status()).listener.socketDrops;
    expect(drops).to.be.greaterThan(0);
    expect(d.health()).to.deep.include({ status: 'degraded' });
    expect(d.health().detail).to.match(/kernel dropped datagrams/);
    expect(d.metrics().find((m) => m.name === 'ft_flow_socket_drops_total')).to.deep.include({
      type: 'counter',
      value: drops,
    });
  });

  it('parses the drops column of /proc/net/udp for our ports only', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  1: 0100007F:0807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 111 2 0000000000000000 17',
      '  2: 00000000:18BB 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 112 2 0000000000000000 5',
      '  3: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 113 2 0000000000000000 999',
    ].join('\n');
    expect(parseUdpDrops(text, new Set([2055, 6331]))).to.equal(22);
  });
});
