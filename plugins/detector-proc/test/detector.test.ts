import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, type Sample } from '@ft/sdk';
import { isOwnProcRoot, procConfigSchema, type ProcConfigInput } from '../src/config.js';
import { ProcDetector } from '../src/detector.js';
import plugin from '../src/plugin.js';

interface Counters {
  dev: Record<string, [rxBytes: bigint | number, rxPackets: bigint | number, txBytes?: number, txPackets?: number]>;
  ip?: number;
  tcp?: number;
  udp?: number;
  udpNoPorts?: number;
  icmp?: number;
  passiveOpens?: number;
  attemptFails?: number;
  cookies?: number;
  ip6?: number;
  udp6?: number;
}

/** A fake procfs the test controls, in the layout the kernel uses. */
class FakeProc {
  readonly root = mkdtempSync(join(tmpdir(), 'ft-proc-'));
  constructor() {
    mkdirSync(join(this.root, 'net', 'stat'), { recursive: true });
  }
  write(c: Counters): void {
    const dev = Object.entries(c.dev)
      .map(([n, [rb, rp, tb = 0, tp = 0]]) => `${n.padStart(6)}: ${rb} ${rp} 0 0 0 0 0 0 ${tb} ${tp} 0 0 0 0 0 0`)
      .join('\n');
    writeFileSync(
      join(this.root, 'net', 'dev'),
      `Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n${dev}\n`,
    );
    writeFileSync(
      join(this.root, 'net', 'snmp'),
      `Ip: Forwarding InReceives\nIp: 2 ${c.ip ?? 0}\nIcmp: InMsgs\nIcmp: ${c.icmp ?? 0}\nTcp: MaxConn PassiveOpens AttemptFails InSegs\nTcp: -1 ${c.passiveOpens ?? 0} ${c.attemptFails ?? 0} ${c.tcp ?? 0}\nUdp: InDatagrams NoPorts InErrors\nUdp: ${c.udp ?? 0} ${c.udpNoPorts ?? 0} 0\n`,
    );
    writeFileSync(
      join(this.root, 'net', 'snmp6'),
      `Ip6InReceives ${c.ip6 ?? 0}\nUdp6InDatagrams ${c.udp6 ?? 0}\nIcmp6InMsgs 0\n`,
    );
    writeFileSync(
      join(this.root, 'net', 'netstat'),
      `TcpExt: SyncookiesSent TCPReqQFullDrop\nTcpExt: ${c.cookies ?? 0} 0\n`,
    );
    writeFileSync(
      join(this.root, 'net', 'sockstat'),
      'sockets: used 5\nTCP: inuse 7 orphan 0 tw 2 alloc 7 mem 1\nUDP: inuse 1 mem 0\n',
    );
  }
  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

function detector(fake: FakeProc, config: Partial<ProcConfigInput> = {}): ProcDetector {
  return new ProcDetector(procConfigSchema.parse({ procRoot: fake.root, ...config }), 'proc-test');
}

async function tickCollect(d: ProcDetector): Promise<Sample[]> {
  const out: Sample[] = [];
  await d.tick((s) => out.push(s));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('proc detector', () => {
  let fake: FakeProc;
  beforeEach(() => (fake = new FakeProc()));
  afterEach(() => fake.remove());

  it('registers the `proc` detector kind with a config schema', () => {
    const reg = collect(plugin);
    expect(reg.detectors.map((d) => d.kind)).to.deep.equal(['proc']);
    expect(reg.detectors[0]!.configSchema.safeParse({}).success).to.equal(true);
  });

  it('rates come from counter differences over the real elapsed time; lo is skipped in auto mode', async () => {
    fake.write({ dev: { lo: [0, 0], eth0: [1_000_000, 1000] } });
    const d = detector(fake);
    expect(await tickCollect(d)).to.deep.equal([]);
    await sleep(50);
    fake.write({ dev: { lo: [999, 9], eth0: [1_000_000 + 600_000, 1000 + 5000] } });
    const [s, ...rest] = await tickCollect(d);
    expect(rest).to.deep.equal([]);
    expect(s!.target).to.equal('if:eth0');
    expect(s!.prefix).to.equal(undefined);
    expect(s!.windowMs).to.be.within(40, 2000);
    expect((s!.pps * s!.windowMs) / 1000).to.be.closeTo(5000, 1e-6);
    expect((s!.bps * s!.windowMs) / 1000).to.be.closeTo(600_000 * 8, 1e-6);
    expect(s!.connections).to.equal(9); // sockstat: TCP inuse 7 + tw 2 (no conntrack here)
  });

  it('protocol mix from snmp/snmp6 and a SYN estimate from passive opens and SYN cookies', async () => {
    fake.write({ dev: { eth0: [0, 0] } });
    const d = detector(fake);
    await tickCollect(d);
    await sleep(20);
    // 10000 packets: 6000 TCP (2000 passive opens + 500 failed attempts + 1000 cookies), 3000 UDP (incl. 1000 to closed ports, 500 v6), 1000 ICMP.
    fake.write({
      dev: { eth0: [1_000_000, 10_000] },
      ip: 9500,
      ip6: 500,
      tcp: 6000,
      udp: 1500,
      udpNoPorts: 1000,
      udp6: 500,
      icmp: 1000,
      passiveOpens: 2000,
      attemptFails: 500,
      cookies: 1000,
    });
    const [s] = await tickCollect(d);
    const perWindow = (n: number) => (n * s!.windowMs) / 1000;
    expect(perWindow(s!.protocols!.tcp)).to.be.closeTo(6000, 1e-6);
    expect(perWindow(s!.protocols!.udp)).to.be.closeTo(3000, 1e-6);
    expect(perWindow(s!.protocols!.icmp)).to.be.closeTo(1000, 1e-6);
    expect(perWindow(s!.protocols!.other)).to.be.closeTo(0, 1e-6);
    expect(perWindow(s!.tcpFlags!.syn!)).to.be.closeTo(3500, 1e-6);
  });

  it('maps interfaces to a protected address; several interfaces of one address are summed', async () => {
    fake.write({ dev: { eth0: [0, 0], eth1: [0, 0], eth2: [0, 0] } });
    const d = detector(fake, {
      interfaces: [{ name: 'eth0', address: '203.0.113.10' }, { name: 'eth1', address: '203.0.113.10' }, 'eth2'],
    });
    await tickCollect(d);
    await sleep(20);
    fake.write({ dev: { eth0: [100, 1], eth1: [200, 2], eth2: [400, 4] } });
    const samples = await tickCollect(d);
    const byTarget = new Map(samples.map((s) => [s.target, s]));
    expect([...byTarget.keys()].sort()).to.deep.equal(['203.0.113.10/32', 'if:eth2']);
    const t = byTarget.get('203.0.113.10/32')!;
    expect(t.prefix?.toString()).to.equal('203.0.113.10/32');
    expect((t.pps * t.windowMs) / 1000).to.be.closeTo(3, 1e-9);
  });

  it('address "none" keeps an interface out of a global address; own /proc defaults to each interface\'s address', async () => {
    fake.write({ dev: { eth0: [0, 0], mgmt0: [0, 0] } });
    const d = detector(fake, { address: '203.0.113.10', interfaces: ['eth0', { name: 'mgmt0', address: 'none' }] });
    await tickCollect(d);
    await sleep(20);
    fake.write({ dev: { eth0: [100, 1], mgmt0: [200, 2] } });
    expect((await tickCollect(d)).map((s) => s.target).sort()).to.deep.equal(['203.0.113.10/32', 'if:mgmt0']);
    expect(isOwnProcRoot('/proc')).to.equal(true);
    expect(isOwnProcRoot('/proc/self/')).to.equal(true);
    expect(isOwnProcRoot('/proc/4242')).to.equal(false);
    expect(isOwnProcRoot(fake.root)).to.equal(false);
  });

  it('direction both: transmit counters become an outbound sample', async () => {
    fake.write({ dev: { eth0: [0, 0, 0, 0] } });
    const d = detector(fake, { direction: 'both' });
    await tickCollect(d);
    await sleep(20);
    fake.write({ dev: { eth0: [0, 0, 8000, 70] } });
    const out = (await tickCollect(d)).find((s) => s.direction === 'out')!;
    expect((out.pps * out.windowMs) / 1000).to.be.closeTo(70, 1e-9);
  });

  it('an interface reset (counters go backwards) skips one tick, says so in health, then continues', async () => {
    fake.write({ dev: { eth0: [5_000_000_000n, 1_000_000] } });
    const d = detector(fake);
    await tickCollect(d);
    fake.write({ dev: { eth0: [100, 1] } });
    expect(await tickCollect(d)).to.deep.equal([]);
    expect(d.health().status).to.equal('degraded');
    expect(d.health().detail).to.match(/eth0 went backwards/);
    fake.write({ dev: { eth0: [1100, 11] } });
    const [s] = await tickCollect(d);
    expect((s!.pps * s!.windowMs) / 1000).to.be.closeTo(10, 1e-9);
  });

  it('a 32-bit counter wrap is counted as traffic, not as a reset', async () => {
    fake.write({ dev: { eth0: [4_294_967_000, 4_294_967_000] } });
    const d = detector(fake);
    await tickCollect(d);
    fake.write({ dev: { eth0: [200, 200] } });
    const [s] = await tickCollect(d);
    expect((s!.pps * s!.windowMs) / 1000).to.be.closeTo(496, 1e-6);
  });

  it('odd or missing /proc files: a clear error in health, and samples keep coming from the rest', async () => {
    fake.write({ dev: { eth0: [0, 0] } });
    const d = detector(fake);
    await tickCollect(d);
    writeFileSync(join(fake.root, 'net', 'snmp'), 'Ip: InReceives\nIp: lots\nTcp: InSegs\nTcp: 5\n');
    fake.write({ dev: { eth0: [100, 10] } });
    writeFileSync(join(fake.root, 'net', 'snmp'), 'Ip: InReceives\nIp: lots\n');
    const [s] = await tickCollect(d);
    expect(s, 'interface rates still reported').to.not.equal(undefined);
    const h = d.health();
    expect(h.status).to.equal('degraded');
    expect(h.detail).to.contain(join(fake.root, 'net', 'snmp'));
    expect(h.detail).to.match(/line 2: Ip InReceives is "lots", not a number/);

    unlinkSync(join(fake.root, 'net', 'dev'));
    expect(await tickCollect(d)).to.deep.equal([]);
    expect(d.health().status).to.equal('down');
    expect(d.health().detail).to.match(/cannot read .*net\/dev: ENOENT/);
    fake.write({ dev: { eth0: [200, 20] } });
    expect(await tickCollect(d)).to.have.length(1);
  });

  it('a watched interface that does not exist is named in health', async () => {
    fake.write({ dev: { eth0: [0, 0] } });
    const d = detector(fake, { interfaces: ['eth0', 'eth9'] });
    await tickCollect(d);
    expect(await tickCollect(d), 'eth0 is still reported').to.have.length(1);
    expect(d.health().detail).to.match(/interface eth9 is not in .*net\/dev/);
  });

  it('start() refuses a procRoot it cannot read, naming the file', async () => {
    const d = new ProcDetector(procConfigSchema.parse({ procRoot: join(fake.root, 'nope') }), 'x');
    let err: Error | undefined;
    await d.start(() => {}).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/cannot read .*nope\/net\/dev/);
  });

  it('config errors are caught by the schema', () => {
    const bad = (c: unknown) => procConfigSchema.safeParse(c).success;
    expect(bad({ procRoot: 'relative/path' })).to.equal(false);
    expect(bad({ interfaces: ['eth0/x'] })).to.equal(false);
    expect(bad({ interfaces: [{ name: 'eth0', address: '203.0.113.300' }] })).to.equal(false);
    expect(bad({ procRoot: '/proc/1234', address: 'auto' })).to.equal(false);
    expect(bad({ tickMs: 5 })).to.equal(false);
    expect(bad({ interfaces: 'auto', address: '2001:db8::10', procRoot: '/proc/1234' })).to.equal(true);
  });
});
