// Mirror/SPAN mode against the real kernel and pmacctd: traffic to three hosts of a segment is copied by tc mirred
// to a monitoring interface, pmacctd samples it into ft's flow collector, and every host becomes a target with its
// own rate; a flood at one of them opens an incident for that address only.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from '@ft/sdk';
import { DEFAULT_DETECTION } from '../../../core/model/detection.js';
import { DetectionEngine, type DetectionEvent } from '../../../core/detect/index.js';
import { MirrorDetector, mirrorConfigSchema } from '../src/index.js';
import { requireLab } from '../../../test/helpers/env.js';
import { link, Netns, run } from '../../../test/helpers/net.js';
import { waitFor } from '../../../test/helpers/wait.js';

const HOSTS = ['203.0.113.1', '203.0.113.2', '203.0.113.3'];
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

describe('mirror detector: a SPAN port sampled by pmacctd into the flow pipeline (tc mirred, namespaces)', function () {
  this.timeout(120_000);
  let senders: Netns | undefined;
  let segment: Netns | undefined;
  let monitor = '';
  let dir = '';
  let mirror: MirrorDetector | undefined;
  let sampled: MirrorDetector | undefined;
  const sampledSamples: Sample[] = [];
  let engine: DetectionEngine | undefined;
  const samples: Sample[] = [];
  const events: DetectionEvent[] = [];

  before(async function () {
    requireLab(this, { root: true, commands: ['ip', 'tc', 'hping3', 'pmacctd', 'setpriv'] });
    dir = mkdtempSync(join(tmpdir(), 'ft-mirror-'));
    senders = Netns.create('mir-snd');
    segment = Netns.create('mir-seg');
    const { aIf, bIf } = link(senders, '198.51.100.1/24', segment, '198.51.100.2/24');
    for (const h of HOSTS) segment.exec(['ip', 'addr', 'add', `${h}/32`, 'dev', bIf]);
    senders.exec(['ip', 'route', 'add', '203.0.113.0/24', 'dev', aIf]);
    // The SPAN port: a veth whose far end is ft's monitoring interface; tc copies every frame arriving at the
    // segment's interface to it, as a switch's mirror session copies a port.
    const tag = randomBytes(3).toString('hex');
    monitor = `ftmon${tag}`;
    run(['ip', 'link', 'add', `ftspan${tag}`, 'netns', segment.name, 'type', 'veth', 'peer', 'name', monitor]);
    run(['sysctl', '-qw', `net.ipv6.conf.${monitor}.disable_ipv6=1`]);
    run(['ip', 'link', 'set', monitor, 'up']);
    segment.exec(['ip', 'link', 'set', `ftspan${tag}`, 'up']);
    segment.exec(['tc', 'qdisc', 'add', 'dev', bIf, 'clsact']);
    segment.exec([
      'tc',
      'filter',
      'add',
      'dev',
      bIf,
      'ingress',
      'protocol',
      'all',
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'mirror',
      'dev',
      `ftspan${tag}`,
    ]);

    engine = new DetectionEngine({ settings: { ...DEFAULT_DETECTION, static: { pps: 1500 }, resolveAfterMs: 1500 } });
    engine.on((e) => events.push(e));
    mirror = new MirrorDetector(
      mirrorConfigSchema.parse({ interface: monitor, protect: ['203.0.113.0/24'], sampling: 1 }),
      { name: 'span', logger: silent, stateDir: dir },
    );
    await mirror.start((s) => {
      samples.push(s);
      engine!.ingest(s);
    });
    engine.start();
    // The same port sampled 1 in 4 by a second instance: its rates are scaled back by the rate.
    sampled = new MirrorDetector(
      mirrorConfigSchema.parse({ interface: monitor, protect: ['203.0.113.0/24'], sampling: 4 }),
      { name: 'span4', logger: silent, stateDir: dir },
    );
    await sampled.start((s) => sampledSamples.push(s));
  });

  after(async () => {
    engine?.stop();
    await mirror?.stop();
    await sampled?.stop();
    senders?.delete();
    segment?.delete();
    if (monitor) run(['ip', 'link', 'del', monitor], { allowFail: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function hping(args: string[], host: string): Promise<void> {
    const [cmd, ...rest] = senders!.argv(['timeout', '20', 'hping3', '-q', ...args, host]) as [string, ...string[]];
    const child = spawn(cmd, rest, { stdio: 'ignore' });
    return new Promise((r) => child.on('exit', () => r()));
  }

  /** Packets ft counted per target since sample `from` (each Sample is a rate over its window). */
  const counted = (from: number, list = samples) => {
    const m = new Map<string, number>();
    for (const s of list.slice(from))
      if (s.direction === 'in') m.set(s.target, (m.get(s.target) ?? 0) + (s.pps * s.windowMs) / 1000);
    return m;
  };

  it('three hosts of the segment are three targets, each with the rate it received', async () => {
    const from = samples.length;
    const fromSampled = sampledSamples.length;
    const sent = [300, 600, 1200];
    await Promise.all(HOSTS.map((h, i) => hping(['--udp', '-p', '9', '-i', 'u5000', '-c', String(sent[i])], h)));
    // The sampler exports about once a second: wait until the last of it has been counted.
    await waitFor(() => HOSTS.every((h, i) => (counted(from).get(`${h}/32`) ?? 0) >= sent[i]! * 0.97), {
      timeoutMs: 30_000,
      what: `per-host totals (${JSON.stringify([...counted(from)])})`,
    });
    const got = counted(from);
    HOSTS.forEach((h, i) => expect(got.get(`${h}/32`), h).to.be.within(sent[i]! * 0.97, sent[i]! * 1.03));
    expect([...got.keys()].filter((t) => !HOSTS.map((h) => `${h}/32`).includes(t) && !t.endsWith('/24'))).to.deep.equal(
      [],
    );
    expect(engine!.view().map((v) => v.target)).to.include.members(HOSTS.map((h) => `${h}/32`));
    expect(samples.every((s) => s.sourceKind === 'mirror' && s.source === 'span')).to.equal(true);
    expect(mirror!.health().status).to.equal('ok');
    // 1 in 4: fewer samples, the same totals within sampling error.
    await waitFor(
      () => HOSTS.every((h, i) => (counted(fromSampled, sampledSamples).get(`${h}/32`) ?? 0) >= sent[i]! * 0.75),
      {
        timeoutMs: 30_000,
        what: `sampled per-host totals (${JSON.stringify([...counted(fromSampled, sampledSamples)])})`,
      },
    );
    const est = counted(fromSampled, sampledSamples);
    HOSTS.forEach((h, i) =>
      expect(est.get(`${h}/32`), `${h} sampled 1:4`).to.be.within(sent[i]! * 0.75, sent[i]! * 1.25),
    );
  });

  it('a flood at one host opens an incident for that address only', async () => {
    const from = events.length;
    await Promise.all([
      hping(['--udp', '-p', '9999', '-i', 'u250', '-c', '8000'], HOSTS[2]!),
      hping(['--udp', '-p', '9', '-i', 'u10000', '-c', '200'], HOSTS[0]!),
    ]);
    const resolve = await waitFor(
      () => events.slice(from).find((e) => e.type === 'resolve' && e.incident.target.toString() === `${HOSTS[2]}/32`),
      {
        timeoutMs: 30_000,
        what: 'the incident to open and resolve',
      },
    );
    const opened = events.slice(from).filter((e) => e.type === 'open');
    // Hosts: only the flooded one. (The segment's prefix is a target of its own, the sum of its hosts: the flow
    // pipeline's prefix aggregate, which a flood spread thinly over many hosts crosses.)
    const hosts = opened.map((e) => e.incident.target).filter((t) => t.isHost);
    expect(hosts.map(String)).to.deep.equal([`${HOSTS[2]}/32`]);
    expect(opened.every((e) => e.incident.target.isHost || e.incident.target.toString() === '203.0.113.0/24')).to.equal(
      true,
    );
    expect(resolve.incident.family).to.equal('udp_flood');
    expect(resolve.incident.detectors).to.deep.equal(['span']);
  });

  it('pmacctd is a supervised child: gone after stop', async () => {
    const pid = mirror!.samplerPid!;
    expect(pid).to.be.a('number');
    await mirror!.stop();
    await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      { what: 'pmacctd gone' },
    );
    mirror = undefined;
  });
});
