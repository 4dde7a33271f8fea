// `ft events` beside a real `ft run`: a NetFlow flood on loopback → the flow detector → an incident → the policy's
// on-node rule (the fixture plugin's record-file action: no root) → resolve → withdrawn, all seen live by
// `ft events --follow` in another process, then listed by `ft events` and `ft audit`.
import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { netflow5 } from '../../plugins/detector-flow/test/helpers/encode.js';
import { RedisEventLog, wireEventSchema, type WireEvent } from '../../core/events/index.js';
import { RedisServer } from '../fleet/redis.js';
import { speakerDown } from './fixtures.js';
import { Follower } from './follower.js';

describe('ft events (the built CLI) beside a separate ft run', function () {
  this.timeout(120_000);
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('--follow sees an incident and its rule from detection to withdrawal as ft run writes them; the list and the audit view agree', async () => {
    const env = isolatedHome();
    const dir = env.HOME as string;
    const stateDir = join(dir, 'state');
    const recordFile = join(dir, 'rules.json');
    const port = await freePort();
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: lab
mode: enforce
defaults: { ttl: 5m, rpki: off, cooldown: 10s }
protect: [203.0.113.0/24]
detection:
  static: { pps: 50000 }
  resolve: { after: 2s }
detectors:
  flow: { detector: flow, listeners: [{ address: 127.0.0.1, port: ${port} }] }
nodeActions:
  host-rec: { adapter: record-file, file: ${JSON.stringify(recordFile)} }
onNode:
  - when: { vector: [ntp] }
    do:
      - host-rec: { dropUdpSourcePorts: auto }
`,
    );
    const link = await runFt(
      ['plugins', 'link', join(ROOT, 'test', 'fixtures', 'plugin-template'), '--no-install'],
      env,
    );
    expect(link.code, link.stderr).to.equal(0);

    // The follower first: it waits for the state directory ft run has not created yet.
    const follow = new Follower(['--state-dir', stateDir], env);
    cleanups.push(() => follow.stop());
    const d = new Daemon([process.execPath, BIN, 'run', '-p', policy, '--state-dir', stateDir, '--metrics', 'off'], {
      env: { ...env, NO_COLOR: '1' },
      cwd: ROOT,
    });
    cleanups.push(() => d.stop(5000));
    await waitFor(() => (existsSync(join(stateDir, 'control.sock')) && d.output.includes('ft run: ')) || !d.running, {
      timeoutMs: 30_000,
      what: 'ft run to start',
    });
    expect(d.running, d.output).to.equal(true);

    // An NTP reflection flood toward 203.0.113.10, as NetFlow v5 from an exporter on loopback: ~200 kpps, ~750 Mbps.
    // Sent until the rule is in (at most 60 s of it), then nothing: the incident resolves.
    const sock = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => sock.close(() => r())));
    let sent = 0;
    let flooding = true;
    const flood = (async () => {
      while (flooding && sent < 1200) {
        const flows = Array.from({ length: 10 }, (_, i) => ({
          src: `198.51.100.${i + 1}`,
          dst: '203.0.113.10',
          srcPort: 123,
          dstPort: 27015,
          proto: 17,
          packets: 1000,
          bytes: 468_000,
        }));
        await new Promise<void>((r) =>
          sock.send(netflow5(flows, { sequence: sent * 10 }), port, '127.0.0.1', () => r()),
        );
        sent++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const added = await follow.seen((e) => e.type === 'rule.added', 'the on-node rule going in');
    flooding = false;
    await flood;
    const resolved = await follow.seen((e) => e.type === 'incident.resolved', 'the incident resolving');
    const withdrawn = await follow.seen(
      (e) =>
        e.type === 'rule.withdrawn' &&
        (e.data as { rule_id: string }).rule_id === (added.data as { rule_id: string }).rule_id,
      'the rule coming out',
    );

    // An operator's request through the running daemon is on the stream too, with who asked.
    const applied = await runFt(
      [
        'mitigate',
        'apply',
        '-p',
        policy,
        '--rule',
        '-',
        '--via',
        'host-rec',
        '--yes',
        '--state-dir',
        stateDir,
        '--json',
      ],
      env,
      JSON.stringify({
        kind: 'host-filter',
        target: '203.0.113.20/32',
        match: { destination: '203.0.113.20/32', protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] },
        action: { type: 'drop' },
      }),
    );
    expect(applied.code, applied.stderr).to.equal(0);
    const operator = await follow.seen((e) => e.type === 'operator.action', 'the operator request');
    expect(operator.data).to.include({ action: 'apply', through: 'control-socket' });
    expect((operator.data as { who: string }).who).to.match(/^operator:/);

    d.child.kill('SIGTERM');
    expect(await d.exited, d.output).to.equal(0);

    // Every event the follower printed, in the wire form, in order, with no gap from the first one on.
    const listed = JSON.parse((await runFt(['events', '--json', '--state-dir', stateDir], env)).stdout) as {
      events: WireEvent[];
    };
    const last = listed.events.at(-1)!.seq;
    await follow.seen((e) => e.seq === last, `seq ${last} (the shutdown's withdrawal)`);
    expect(await follow.stop()).to.equal(0);
    expect(follow.events.map((e) => e.id)).to.deep.equal(listed.events.map((e) => e.id));
    expect(listed.events.map((e) => e.seq)).to.deep.equal(listed.events.map((_, i) => i + 1));
    for (const e of follow.events) expect(wireEventSchema.safeParse(e).success, JSON.stringify(e)).to.equal(true);
    const types = follow.events.map((e) => e.type);
    const opened = types.indexOf('incident.opened');
    expect(opened).to.be.greaterThan(-1);
    expect(opened).to.be.lessThan(types.indexOf('rule.added'));
    expect(types.indexOf('rule.added')).to.be.lessThan(types.indexOf('incident.resolved'));
    const incident = (resolved.data as { incident: { id: string; target: string; vector: string[] } }).incident;
    expect(incident.target).to.equal('203.0.113.10/32');
    expect(incident.vector).to.include('ntp');
    expect((added.data as { via: string[]; incident_id: string }).via).to.deep.equal(['host-rec']);
    expect((added.data as { incident_id: string }).incident_id).to.equal(incident.id);
    expect((withdrawn.data as { reason: string }).reason).to.match(/resolved/);

    // Filters: a group of types, and a start seq.
    const only = JSON.parse(
      (await runFt(['events', '--json', '--type', 'incident.*', '--state-dir', stateDir], env)).stdout,
    ) as { events: WireEvent[] };
    expect(only.events.length).to.be.greaterThan(0);
    expect(only.events.every((e) => e.type.startsWith('incident.'))).to.equal(true);
    const tail = JSON.parse(
      (await runFt(['events', '--json', '--since', String(last - 1), '--state-dir', stateDir], env)).stdout,
    ) as { events: WireEvent[] };
    expect(tail.events.map((e) => e.seq)).to.deep.equal([last - 1, last]);
    const bad = await runFt(['events', '--type', 'rule.exploded', '--state-dir', stateDir], env);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/no such event type/);

    // The audit trail is the same stream seen as records: the incident's open and resolve, the rule's start and end.
    const audit = JSON.parse(
      (await runFt(['audit', '--json', '--incident', incident.id, '--state-dir', stateDir], env)).stdout,
    ) as { records: { op: string; phase: string; message?: string }[] };
    expect(audit.records.filter((r) => r.op === 'incident').map((r) => r.message?.split(':')[0])).to.deep.equal([
      'incident open',
      'incident resolve',
    ]);
    expect(audit.records.filter((r) => r.op === 'add').map((r) => r.phase)).to.deep.equal(['start', 'end']);
    const human = await runFt(['events', '--state-dir', stateDir, '--type', 'rule.added'], env);
    expect(human.stdout).to.match(/rule\.added\s+hf-[0-9a-f]{16} host-filter 203\.0\.113\.10\/32 L0 drop via host-rec/);
  });

  it('ft mitigate apply without ft run applies directly, and the stream says who asked and what went in', async () => {
    // Regression: the direct path closed the policy's actions before the plan ran (an apply that applied nothing).
    const env = isolatedHome();
    const dir = env.HOME as string;
    const stateDir = join(dir, 'state');
    const recordFile = join(dir, 'rules.json');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1\ntenant: lab\nmode: enforce\ndefaults: { ttl: 5m, rpki: off }\nprotect: [203.0.113.0/24]\nnodeActions:\n  host-rec: { adapter: record-file, file: ${JSON.stringify(recordFile)} }\n`,
    );
    const link = await runFt(
      ['plugins', 'link', join(ROOT, 'test', 'fixtures', 'plugin-template'), '--no-install'],
      env,
    );
    expect(link.code, link.stderr).to.equal(0);
    const rule = {
      kind: 'host-filter',
      target: '203.0.113.21/32',
      match: { destination: '203.0.113.21/32', protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] },
      action: { type: 'drop' },
    };
    const r = await runFt(
      [
        'mitigate',
        'apply',
        '-p',
        policy,
        '--rule',
        '-',
        '--via',
        'host-rec',
        '--yes',
        '--state-dir',
        stateDir,
        '--json',
      ],
      env,
      JSON.stringify(rule),
    );
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const recorded = JSON.parse(readFileSync(recordFile, 'utf8')) as Record<string, { target: string }>;
    expect(Object.values(recorded).map((x) => x.target)).to.deep.equal(['203.0.113.21/32']);
    const listed = JSON.parse((await runFt(['events', '--json', '--state-dir', stateDir], env)).stdout) as {
      events: WireEvent[];
    };
    expect(listed.events.map((e) => e.type)).to.deep.equal(['op.started', 'rule.added', 'operator.action']);
    expect(listed.events[1]!.data).to.deep.include({ outcome: 'ok', via: ['host-rec'] });
    expect(listed.events[2]!.data).to.deep.include({ action: 'apply', through: 'direct', outcome: 'ok' });
  });

  it('--follow --redis tails the fleet stream: events another process appends appear in order', async () => {
    const redis = await RedisServer.start();
    cleanups.push(() => redis.destroy());
    const conn = new Redis({ port: redis.port, host: '127.0.0.1' });
    cleanups.push(() => conn.disconnect());
    const log = new RedisEventLog({ conn, namespace: 'lab1', tenant: 'example-isp' });
    await log.append([speakerDown(1)]); // before the follower: not shown (it starts with what comes next)
    const follow = new Follower(['--redis', redis.url, '--redis-namespace', 'lab1'], isolatedHome());
    cleanups.push(() => follow.stop());
    // Appended until the follower shows one: it may still be starting when the first ones go in.
    let n = 2;
    await waitFor(
      async () => {
        await log.append([speakerDown(n++)]);
        return follow.events.length > 0;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the follower to start' },
    );
    const first = follow.events[0]!.seq;
    for (let k = 0; k < 5; k++) await log.append([speakerDown(100 + k), speakerDown(200 + k)]);
    const last = await log.lastSeq();
    await follow.seen((e) => e.seq === last, `seq ${last}`);
    expect(follow.events.map((e) => e.seq)).to.deep.equal(
      Array.from({ length: last - first + 1 }, (_, i) => first + i),
    );
    expect(first).to.be.greaterThan(1);
    expect(follow.events.every((e) => e.type === 'speaker.down' && e.tenant === 'example-isp')).to.equal(true);
    expect(await follow.stop()).to.equal(0);
  });
});
