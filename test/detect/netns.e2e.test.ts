import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { DEFAULT_DETECTION } from '../../core/model/detection.js';
import { DetectionEngine, type DetectionEvent } from '../../core/detect/index.js';
import { ProcDetector, procConfigSchema } from '../../plugins/detector-proc/src/index.js';
import { BIN, ROOT, isolatedHome } from '../helpers/cli.js';
import { requireLab } from '../helpers/env.js';
import { link, Netns } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

const VICTIM = '198.51.100.2';

/**
 * Real kernel, real packets: hping3 floods from one namespace into another; the proc detector reads the victim
 * namespace's counters through /proc/<pid>/net of a process living there, and the engine must open an incident of
 * the right family within 1 s of the flood starting and resolve it after the flood stops.
 */
describe('detection end to end in network namespaces (proc detector, hping3 floods)', function () {
  this.timeout(60_000);
  let attacker: Netns | undefined;
  let victim: Netns | undefined;
  let resident: ChildProcess | undefined;
  let detector: ProcDetector | undefined;
  let engine: DetectionEngine | undefined;
  const events: DetectionEvent[] = [];
  let victimIf = '';

  before(async function () {
    requireLab(this, { root: true, commands: ['ip', 'hping3'] });
    attacker = Netns.create('det-atk');
    victim = Netns.create('det-vic');
    const { bIf } = link(attacker, '198.51.100.1/24', victim, `${VICTIM}/24`);
    victimIf = bIf;
    // A listener inside the victim namespace: SYNs reach a socket (as a SYN flood at a web server does), and its
    // /proc/<pid>/net is the namespace's procfs. `ip netns exec` execs, so the child's pid is the listener's.
    const [cmd, ...args] = victim.argv([
      process.execPath,
      '-e',
      `require('net').createServer((s) => s.destroy()).listen(80, '${VICTIM}', 1024); setTimeout(() => process.exit(0), 55000);`,
    ]) as [string, ...string[]];
    resident = spawn(cmd, args, { stdio: 'ignore' });
    await waitFor(() => victim!.exec(['ss', '-ltnH', 'sport = :80']).stdout.includes(VICTIM), {
      what: 'listener in the victim namespace',
    });

    engine = new DetectionEngine({
      // A static threshold so the test needs no 300 s of learning; quick resolve.
      settings: { ...DEFAULT_DETECTION, static: { pps: 1000 }, resolveAfterMs: 1500 },
    });
    engine.on((e) => events.push(e));
    detector = new ProcDetector(
      procConfigSchema.parse({ procRoot: `/proc/${resident.pid}`, interfaces: [{ name: bIf, address: VICTIM }] }),
      'victim-proc',
    );
    await detector.start((s) => engine!.ingest(s));
    engine.start();
  });

  after(async () => {
    engine?.stop();
    await detector?.stop();
    resident?.kill('SIGKILL');
    attacker?.delete();
    victim?.delete();
  });

  /** Runs a bounded hping3 in the attacker namespace; resolves with the time it was started. */
  async function flood(args: string[]): Promise<{ startedAt: number; done: Promise<void> }> {
    // Bounded twice: -c packets at -i spacing (0.3-2 s depending on load), and `timeout` in seconds should hping3 misbehave.
    const [cmd, ...rest] = attacker!.argv(['timeout', '8', 'hping3', ...args, VICTIM]) as [string, ...string[]];
    const startedAt = Date.now();
    const child = spawn(cmd, rest, { stdio: 'ignore' });
    const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    return { startedAt, done };
  }

  async function attackAndResolve(
    args: string[],
  ): Promise<{ open: DetectionEvent; resolve: DetectionEvent; latencyMs: number }> {
    await waitFor(() => engine!.view().some((v) => v.target === `${VICTIM}/32` && v.state !== 'attack'), {
      what: 'target quiet',
    });
    const from = events.length;
    const { startedAt, done } = await flood(args);
    const open = await waitFor(() => events.slice(from).find((e) => e.type === 'open'), {
      timeoutMs: 5000,
      what: 'incident open',
    });
    await done;
    const resolve = await waitFor(() => events.slice(from).find((e) => e.type === 'resolve'), {
      timeoutMs: 10_000,
      what: 'incident resolve',
    });
    expect(resolve.incident.id).to.equal(open.incident.id);
    expect(resolve.incident.resolvedAt!).to.be.greaterThan(open.incident.startedAt);
    return { open, resolve, latencyMs: open.incident.startedAt - startedAt };
  }

  it('a UDP flood from source port 53 opens a udp_flood incident within 1 s and resolves after it stops', async () => {
    const { open, latencyMs } = await attackAndResolve([
      '--udp',
      '-s',
      '53',
      '-k',
      '-p',
      '4444',
      '-i',
      'u10',
      '-c',
      '20000',
    ]);
    expect(latencyMs, 'flood start → incident open').to.be.at.most(1000);
    const i = open.incident;
    expect(i.target.toString()).to.equal(`${VICTIM}/32`);
    expect(i.family).to.equal('udp_flood');
    // /proc counters cannot see source ports: no vector is claimed that the data does not show.
    expect(i.vectors).to.deep.equal([]);
    expect(i.protocols.udp).to.be.above(90);
    expect(i.detectors).to.deep.equal(['victim-proc']);
  });

  it('a SYN flood at a listening port opens a syn_flood incident within 1 s and resolves after it stops', async () => {
    const { open, resolve, latencyMs } = await attackAndResolve(['-S', '-p', '80', '-i', 'u10', '-c', '20000']);
    expect(latencyMs, 'flood start → incident open').to.be.at.most(1000);
    expect(open.incident.family).to.equal('syn_flood');
    expect(open.incident.protocols.tcp).to.be.above(90);
    // SYNs as the kernel counted them (each one reset by the attacker's kernel, or answered with a cookie).
    const peak = resolve.incident;
    expect(peak.family).to.equal('syn_flood');
    expect(peak.tcpFlags.syn).to.be.above(100);
  });

  it('`ft detect` watches the namespace from the command line and prints the incident', async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'detect',
        '--json',
        '--proc-root',
        `/proc/${resident!.pid}`,
        '--interface',
        victimIf,
        '--address',
        VICTIM,
        '--static-pps',
        '1000',
        '--interval',
        '250',
        '--duration',
        '8',
      ],
      { cwd: ROOT, env: { ...process.env, ...isolatedHome(), NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // The flood starts once the CLI has printed its first reading (its start-up time varies with the machine's load).
    await waitFor(() => stdout.includes('\n') || child.exitCode !== null, {
      timeoutMs: 15_000,
      what: 'ft detect to print its first reading',
    });
    const { done } = await flood(['--udp', '-p', '4444', '-i', 'u10', '-c', '20000']);
    await done;
    const code = await exited;
    expect(code, stderr).to.equal(0);
    const ticks = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { events: DetectionEvent[]; targets: { target: string; state: string }[] });
    const opened = ticks.flatMap((t) => t.events).filter((e) => e.type === 'open');
    expect(opened).to.have.length(1);
    expect(opened[0]!.incident).to.include({ attack_family: 'udp_flood', target: `${VICTIM}/32` });
    expect(ticks.some((t) => t.targets.some((v) => v.target === `${VICTIM}/32` && v.state === 'attack'))).to.equal(
      true,
    );
  });

  it('the detector stayed healthy reading the namespace counters', () => {
    expect(detector!.health()).to.deep.equal({ status: 'ok' });
  });
});
