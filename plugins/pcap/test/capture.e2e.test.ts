// Real kernel, real packets, real tools: hping3 floods from one namespace into another; the proc detector and the
// detection engine open the incident; the pcap detector's dumpcap ring and incident capture, merged by mergecap,
// must hold the attack and what came before it; tshark must read the result; the verdicts must name the spoofed
// and the real sources, the Mirai signature and the IOC.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DETECTION } from '../../../core/model/detection.js';
import { DetectionEngine, type DetectionEvent } from '../../../core/detect/index.js';
import { ProcDetector, procConfigSchema } from '../../detector-proc/src/index.js';
import { PcapDetector } from '../src/detector.js';
import { pcapConfigSchema, type PcapConfigInput } from '../src/config.js';
import { CaptureStore } from '../src/capture/store.js';
import { isolatedHome, runFt } from '../../../test/helpers/cli.js';
import { requireLab } from '../../../test/helpers/env.js';
import { link, Netns } from '../../../test/helpers/net.js';
import { waitFor } from '../../../test/helpers/wait.js';

const VICTIM = '198.51.100.2';
const REAL = ['198.51.100.1', '198.51.100.10'];
const SPOOFED = ['198.51.100.77', '198.51.100.78'];
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

describe('pcap capture end to end (namespaces, hping3, dumpcap, mergecap, tshark)', function () {
  this.timeout(120_000);
  let attacker: Netns | undefined;
  let victim: Netns | undefined;
  let resident: ChildProcess | undefined;
  let proc: ProcDetector | undefined;
  let pcap: PcapDetector | undefined;
  let engine: DetectionEngine | undefined;
  const background: ChildProcess[] = [];
  const events: DetectionEvent[] = [];
  let dir = '';
  let victimIf = '';
  const env = isolatedHome();

  before(async function () {
    requireLab(this, {
      root: true,
      commands: ['ip', 'hping3', 'dumpcap', 'mergecap', 'editcap', 'tshark', 'capinfos', 'setpriv', 'nsenter'],
    });
    dir = mkdtempSync(join(tmpdir(), 'ft-pcap-e2e-'));
    attacker = Netns.create('pcap-atk');
    victim = Netns.create('pcap-vic');
    const { aIf, bIf } = link(attacker, `${REAL[0]}/24`, victim, `${VICTIM}/24`);
    attacker.exec(['ip', 'addr', 'add', `${REAL[1]}/24`, 'dev', aIf]);
    victimIf = bIf;
    const [cmd, ...args] = victim.argv([process.execPath, '-e', 'setTimeout(() => {}, 110000)']) as [
      string,
      ...string[],
    ];
    resident = spawn(cmd, args, { stdio: 'ignore' });
    writeFileSync(
      join(dir, 'ioc.yaml'),
      'version: 1\niocs:\n  - { id: attacker-net, name: the booter, source: 198.51.100.64/26 }\n',
    );

    engine = new DetectionEngine({ settings: { ...DEFAULT_DETECTION, static: { pps: 300 }, resolveAfterMs: 1500 } });
    engine.on((e) => events.push(e));
    proc = new ProcDetector(
      procConfigSchema.parse({ procRoot: `/proc/${resident.pid}`, interfaces: [{ name: bIf, address: VICTIM }] }),
      'victim-proc',
    );
    const config: PcapConfigInput = {
      interfaces: [bIf],
      netns: victim.name,
      dir: join(dir, 'pcap'),
      ring: { packets: 200, seconds: 1 },
      incident: { packets: 2000, duration: 20 },
      learnDelay: 2,
      ioc: join(dir, 'ioc.yaml'),
    };
    pcap = new PcapDetector(pcapConfigSchema.parse(config), { name: 'cap', logger: silent, stateDir: dir });
    await pcap.start();
    // As `ft run` wires it (core/run/daemon.ts).
    engine.on((e) => pcap!.observe(e, (ev) => engine!.addEvidence(e.incident.id, ev)));
    await proc.start((s) => engine!.ingest(s));
    engine.start();
    // Real clients: UDP from both real addresses at 20 pps each, all through the test, bounded.
    for (const src of REAL) {
      const [c, ...rest] = attacker.argv([
        'timeout',
        '100',
        'hping3',
        '-q',
        '--udp',
        '-a',
        src,
        '-p',
        '5353',
        '-i',
        'u50000',
        '-c',
        '2000',
        VICTIM,
      ]) as [string, ...string[]];
      background.push(spawn(c, rest, { stdio: 'ignore' }));
    }
    // Peacetime: the rings must have taught ft where the real clients are before the first attack.
    await waitFor(
      async () => {
        await pcap!.manager!.learnNow();
        return pcap!.manager!.status().learnt.addresses >= 2;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'hop counts of the real clients learnt from the ring' },
    );
  });

  after(async () => {
    for (const b of background) b.kill('SIGKILL');
    engine?.stop();
    await proc?.stop();
    await pcap?.stop();
    resident?.kill('SIGKILL');
    attacker?.delete();
    victim?.delete();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A bounded hping3 run in the attacker namespace. */
  function hping(args: string[]): Promise<void> {
    const [cmd, ...rest] = attacker!.argv(['timeout', '15', 'hping3', '-q', ...args, VICTIM]) as [string, ...string[]];
    const child = spawn(cmd, rest, { stdio: 'ignore' });
    return new Promise((r) => child.on('exit', () => r()));
  }

  async function attack(
    floods: string[][],
  ): Promise<{ open: DetectionEvent; resolve: DetectionEvent; updates: DetectionEvent[] }> {
    await waitFor(() => engine!.view().some((v) => v.target === `${VICTIM}/32` && v.state !== 'attack'), {
      what: 'target quiet',
    });
    const from = events.length;
    await Promise.all(floods.map(hping));
    const resolve = await waitFor(() => events.slice(from).find((e) => e.type === 'resolve'), {
      timeoutMs: 30_000,
      what: 'incident resolve',
    });
    const mine = events.slice(from).filter((e) => e.incident.id === resolve.incident.id);
    return { open: mine.find((e) => e.type === 'open')!, resolve, updates: mine.filter((e) => e.type === 'update') };
  }

  const ready = (id: string) =>
    waitFor(
      async () => {
        const r = await new CaptureStore(join(dir, 'pcap')).read(id);
        if (r?.state === 'failed') throw new Error(`capture failed: ${r.reason}`);
        return r?.state === 'ready' ? r : undefined;
      },
      { timeoutMs: 30_000, what: `capture of ${id} ready` },
    );

  it('a spoofed flood: one pcapng with pre-attack packets, readable by tshark; spoofed and real sources told apart; the IOC named', async () => {
    // Forged sources inside the real clients' /24, sent 24 hops "further" than that network is.
    const { open, resolve, updates } = await attack(
      SPOOFED.map((src) => ['--udp', '-a', src, '--ttl', '40', '-p', '9999', '-i', 'u1000', '-c', '3000']),
    );
    expect(open.incident.pcap?.id ?? updates[0]?.incident.pcap?.id).to.equal(open.incident.id);
    const i = resolve.incident;
    const spoofed = i.packetEvidence?.spoofedSources.map((p) => p.address) ?? [];
    const real = i.packetEvidence?.realSources.map((p) => p.address) ?? [];
    expect(i.spoofed, JSON.stringify(i.packetEvidence)).to.equal(true);
    expect(spoofed).to.include.members(SPOOFED);
    expect(real).to.include.members(REAL);
    expect(spoofed).to.not.include.members(REAL);
    expect(i.iocMatches!.map((m) => m.iocId)).to.deep.equal(['attacker-net']);
    expect(i.iocMatches![0]!.count).to.be.above(100);
    expect(i.pcap!.file).to.equal(join(dir, 'pcap', `${i.id}.pcapng`));
    // The planner saw the verdict while the attack ran: an update carried it.
    expect(updates.some((u) => u.incident.spoofed)).to.equal(true);

    const record = await ready(i.id);
    const file = record.file!;
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, 'pcap')).mode & 0o777).to.equal(0o700);
    expect(record.packets!.pre_attack).to.be.above(0);
    // tshark reads it; packets from before the threshold was crossed are in it, and the incident id is its comment.
    const times = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src'], {
      encoding: 'utf8',
    });
    expect(times.status, times.stderr).to.equal(0);
    const rows = times.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    const attackStart = i.startedAt / 1000;
    expect(rows.filter(([t]) => Number(t) < attackStart).length).to.equal(record.packets!.pre_attack);
    expect(rows.length).to.equal(record.packets!.pre_attack + record.packets!.attack);
    const info = spawnSync('capinfos', ['-k', file], { encoding: 'utf8' });
    expect(info.stdout).to.include(`ft incident ${i.id} target ${VICTIM}/32`);

    // The same verdicts from the file alone, as an operator gets them.
    const a = await runFt(['pcap', 'analyze', file, '--json'], env);
    expect(a.code, a.stderr).to.equal(0);
    const analysis = JSON.parse(a.stdout) as { spoofing: { sources: { ip: string; verdict: string }[] } };
    const verdict = (ip: string) => analysis.spoofing.sources.find((s) => s.ip === ip)?.verdict;
    // The file alone has only its own pre-attack packets to learn from (ft's peacetime table is not in it): it may
    // know less, but never calls a forged source real or a real one spoofed.
    for (const ip of SPOOFED) expect(verdict(ip), ip).to.not.equal('real');
    for (const ip of REAL) expect(verdict(ip), ip).to.not.equal('spoofed');

    // ft pcap list | show | export.
    const list = JSON.parse((await runFt(['pcap', 'list', '--dir', join(dir, 'pcap'), '--json'], env)).stdout);
    expect(list.captures.map((c: { id: string }) => c.id)).to.include(i.id);
    const show = await runFt(['pcap', 'show', i.id, '--dir', join(dir, 'pcap')], env);
    expect(show.stdout).to.include('spoofing_detected true').and.include('ioc attacker-net');
    const out = join(dir, 'export.pcap');
    const exp = await runFt(['pcap', 'export', i.id, out, '--format', 'pcap', '--dir', join(dir, 'pcap')], env);
    expect(exp.code, exp.stderr).to.equal(0);
    expect(readFileSync(out).readUInt32LE(0)).to.equal(0xa1b2c3d4);
    expect(statSync(out).mode & 0o777).to.equal(0o600);
    const again = await runFt(['pcap', 'export', i.id, out, '--dir', join(dir, 'pcap')], env);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.include('FT_E_EXISTS');
  });

  it('a Mirai-style SYN flood (sequence number = destination address) is botnet_detected', async () => {
    const seq = String(Buffer.from(VICTIM.split('.').map(Number)).readUInt32BE(0));
    const { resolve } = await attack([['-S', '-p', '23', '-M', seq, '-i', 'u1000', '-c', '3000']]);
    const i = resolve.incident;
    expect(i.botnet, JSON.stringify(i.packetEvidence)).to.equal(true);
    expect(i.packetEvidence!.signatures.map((s) => s.id)).to.include('mirai-syn');
    const record = await ready(i.id);
    expect(record.summary!.botnet_detected).to.equal(true);
    // SYNs at a closed port are counted by no SYN counter: proc calls the family unknown, so only the target filters.
    expect(record.filter).to.match(new RegExp(`^dst host ${VICTIM.replace(/\./g, '\\.')}( and tcp)?$`));
  });

  it('the capture children are supervised: the ring runs as a pid ft recorded, incident captures end with their incident', async () => {
    await waitFor(() => pcap!.manager!.status().active.length === 0, { what: 'no capture in progress' });
    const s = pcap!.manager!.status();
    expect(s.rings).to.have.length(1);
    expect(s.rings[0]).to.include({ iface: victimIf, running: true });
    expect(s.active).to.deep.equal([]);
    const pids = pcap!.manager!.pids();
    expect(pids).to.have.length(1);
    const cmdline = readFileSync(`/proc/${pids[0]}/cmdline`, 'utf8').split('\0');
    expect(cmdline[0]).to.equal('dumpcap');
    expect(pcap!.health().status).to.equal('ok');
  });
});
