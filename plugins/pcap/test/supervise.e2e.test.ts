// The capture children never outlive ft (kill -9 included), a previous ft's leftovers are killed at start, and
// however many incidents come, the capture directory stays within its quota.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Incident } from '@ft/sdk';
import { incident as report } from '../../../test/plan/helpers.js';
import { CaptureManager } from '../src/capture/manager.js';
import { captureSettings } from '../src/detector.js';
import { pcapConfigSchema } from '../src/config.js';
import { Daemon } from '../../../test/helpers/daemon.js';
import { BIN, ROOT } from '../../../test/helpers/cli.js';
import { requireLab } from '../../../test/helpers/env.js';
import { Netns } from '../../../test/helpers/net.js';
import { waitFor } from '../../../test/helpers/wait.js';

/** Alive and not a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Pids of every dumpcap writing under `dir`. */
function dumpcapsUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      const c = cmdline(pid);
      return c[0] === 'dumpcap' && c.some((a) => a.startsWith(dir)) && running(pid);
    });
}

describe('pcap capture children and quota (root, dumpcap)', function () {
  this.timeout(120_000);
  let ns: Netns | undefined;
  let dir = '';
  const started: (Daemon | ChildProcess)[] = [];

  before(function () {
    requireLab(this, { root: true, commands: ['ip', 'dumpcap', 'mergecap', 'editcap', 'setpriv', 'nsenter', 'ping'] });
    dir = mkdtempSync(join(tmpdir(), 'ft-pcap-sup-'));
    ns = Netns.create('pcap-sup');
  });

  after(async () => {
    for (const d of started) (d instanceof Daemon ? d.child : d).kill('SIGKILL');
    for (const pid of dir ? dumpcapsUnder(dir) : []) process.kill(pid, 'SIGKILL');
    ns?.delete();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function policy(name: string): { file: string; pcap: string; state: string } {
    const pcap = join(dir, name, 'pcap');
    const state = join(dir, name, 'state');
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      [
        'version: 1',
        'tenant: t',
        'mode: preview',
        'defaults: { ttl: 5m }',
        'protect: [198.51.100.0/24]',
        'detectors:',
        `  cap: { detector: pcap, interfaces: [lo], netns: ${ns!.name}, dir: ${pcap}, ring: { packets: 50, seconds: 1 } }`,
        '',
      ].join('\n'),
    );
    return { file, pcap, state };
  }

  const ftRun = (p: { file: string; state: string }) => {
    const d = new Daemon(
      [process.execPath, BIN, 'run', '--policy', p.file, '--state-dir', p.state, '--metrics', 'off'],
      {
        cwd: ROOT,
      },
    );
    started.push(d);
    return d;
  };

  it('kill -9 of ft run takes its dumpcap with it; the next start kills what a previous ft left', async () => {
    const p = policy('kill');
    const ft = ftRun(p);
    const ring = await waitFor(() => dumpcapsUnder(p.pcap)[0], {
      timeoutMs: 60_000,
      what: `ft run's ring dumpcap (${ft.output})`,
    });
    expect(readdirSync(join(p.pcap, '.pids'))).to.include(`${ring}.json`);
    ft.child.kill('SIGKILL');
    await ft.exited;
    await waitFor(() => !running(ring), { timeoutMs: 30_000, what: 'the ring dumpcap to die with ft' });
    expect(dumpcapsUnder(p.pcap)).to.deep.equal([]);

    // A capture child that escaped the death signal (as one with file capabilities would): recorded, still running.
    const [cmd, ...args] = ns!.argv(['dumpcap', '-i', 'lo', '-q', '-w', join(p.pcap, '.work', 'stray.pcapng')]) as [
      string,
      ...string[],
    ];
    const stray = spawn(cmd, args, { stdio: 'ignore', detached: true });
    started.push(stray);
    await waitFor(() => cmdline(stray.pid!)[0] === 'dumpcap', { what: 'stray dumpcap started' });
    const start = readFileSync(`/proc/${stray.pid}/stat`, 'utf8');
    writeFileSync(
      join(p.pcap, '.pids', `${stray.pid}.json`),
      JSON.stringify({
        pid: stray.pid,
        argv: ['dumpcap'],
        start: start.slice(start.lastIndexOf(')') + 2).split(' ')[19],
      }),
    );
    const again = ftRun(p);
    await waitFor(() => !running(stray.pid!), {
      timeoutMs: 60_000,
      what: `the stray dumpcap killed at start (${again.output})`,
    });
    const ring2 = await waitFor(() => dumpcapsUnder(p.pcap)[0], { timeoutMs: 60_000, what: 'the new ring' });
    // An orderly stop leaves nothing either, pid files included.
    await again.stop(15_000);
    expect(await again.exited).to.equal(0);
    expect(running(ring2)).to.equal(false);
    expect(readdirSync(join(p.pcap, '.pids'))).to.deep.equal([]);
  });

  it('many incidents never take the capture directory over its quota: the oldest captures go first', async () => {
    const settings = captureSettings(
      pcapConfigSchema.parse({
        interfaces: ['lo'],
        netns: ns!.name,
        dir: join(dir, 'quota'),
        ring: { packets: 50, seconds: 1 },
        incident: { bytes: '20kB', duration: 30 },
        learnDelay: 1,
      }),
      dir,
    );
    // Room for the ring, one capture in progress and about two finished ones.
    const probe = new CaptureManager({ ...settings, quotaBytes: Infinity }, {});
    const quota = probe.ringReservation + probe.incidentReservation + 80_000;
    const m = new CaptureManager({ ...settings, quotaBytes: quota }, {});
    await m.start();
    const [pc, ...pargs] = ns!.argv(['timeout', '90', 'ping', '-q', '-i', '0.002', '-c', '40000', '127.0.0.1']) as [
      string,
      ...string[],
    ];
    const pinger = spawn(pc, pargs, { stdio: 'ignore' });
    started.push(pinger);
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await m.store.usedBytes());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const ids: string[] = [];
    try {
      for (let n = 0; n < 6; n++) {
        const incident: Incident = report({
          id: `inc-quota-${n}`,
          target: '127.0.0.1/32',
          attack_family: 'icmp_flood',
          protocol_breakdown: { tcp: 0, udp: 0, icmp: 100 },
          started_at: new Date().toISOString(),
        });
        ids.push(incident.id);
        m.observe('open', incident, () => {});
        // The attack capture stops by itself at its 20 kB; then only the ring's dumpcap runs.
        await waitFor(() => m.status().active.includes(incident.id) && m.pids().length === 1, {
          timeoutMs: 30_000,
          what: `the capture of ${incident.id} to reach its size limit`,
        });
        m.observe('resolve', { ...incident, state: 'resolved' }, () => {});
        await waitFor(
          async () => (await m.store.read(incident.id))?.state === 'ready' && m.status().active.length === 0,
          {
            timeoutMs: 30_000,
            what: `${incident.id} ready`,
          },
        );
        expect(await m.store.usedBytes(), `after ${incident.id}`).to.be.at.most(quota);
      }
      // An incident that resolves while its capture is still being set up is finished all the same.
      const quick = report({ id: 'inc-quick', target: '127.0.0.1/32', attack_family: 'icmp_flood' });
      ids.push(quick.id);
      m.observe('open', quick, () => {});
      m.observe('resolve', { ...quick, state: 'resolved' }, () => {});
      await waitFor(async () => (await m.store.read(quick.id))?.state === 'ready' && m.status().active.length === 0, {
        timeoutMs: 30_000,
        what: 'the quickly resolved incident finished',
      });
    } finally {
      sampling = false;
      await sampler;
      pinger.kill('SIGKILL');
      await m.stop();
    }
    expect(peak, 'largest size while capturing').to.be.at.most(quota);
    const left = (await m.store.list()).map((r) => r.id);
    // The newest stays; the oldest went to make room.
    expect(left).to.include(ids[ids.length - 1]);
    expect(left).to.not.include(ids[0]);
    for (const id of ids.filter((i) => !left.includes(i))) expect(existsSync(m.store.capturePath(id))).to.equal(false);
  });
});
