// `ft setup` on a box it has never seen: a network namespace with one interface up (203.0.113.10/24,
// 2001:db8:100::10/64) and one down (198.51.100.7/24), its own resolv.conf, a real gobgpd and a real stayrtr on its
// loopback, a real nginx writing an access log, and softflowd exporting NetFlow to it. The wizard is driven in tmux
// (send-keys, capture-pane), waiting for each prompt's text on screen; the flags path runs without a terminal.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, isolatedHome, runFt, type RunResult } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { Netns, freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { TestNginx } from '../l7/nginx.js';
import { writeVrpJson } from '../rpki/stayrtr.js';
import { gobgpdConfig } from '../../lab/ns/topology.js';
import { trafficPcap } from '../../plugins/detector-flow/test/helpers/pcap-writer.js';

const env = { ...isolatedHome(), NO_COLOR: '1' };

/** Ports someone listens on inside the namespace (its own /proc/net view). */
function listening(ns: Netns, proto: 'tcp' | 'udp', port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const files = proto === 'tcp' ? ['/proc/net/tcp', '/proc/net/tcp6'] : ['/proc/net/udp', '/proc/net/udp6'];
  return files.some((f) =>
    ns
      .exec(['cat', f], { allowFail: true })
      .stdout.split('\n')
      .some((l) => {
        const cols = l.trim().split(/\s+/);
        return cols[1]?.endsWith(`:${hex}`) && (proto === 'udp' || cols[3] === '0A');
      }),
  );
}

/** `ft ARGS` inside the namespace, no terminal, argv only. */
function ftIn(ns: Netns, args: string[]): Promise<RunResult> & { child: ReturnType<typeof spawn> } {
  const [cmd, ...rest] = ns.argv([process.execPath, BIN, ...args]) as [string, ...string[]];
  const child = spawn(cmd, rest, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    // oclif wraps error messages at 80 columns behind " ›": one line again, as the reader sees it.
    child.on('close', (code) => resolve({ code, stdout, stderr: stderr.replace(/\s*\n ›\s+/g, ' ') }));
  });
  return Object.assign(done, { child });
}

/** A tmux session of its own (own server socket), kept on screen after the command exits. */
class Tmux {
  readonly socket = `ft-setup-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  private readonly conf: string;
  constructor(dir: string) {
    this.conf = join(dir, 'tmux.conf');
    writeFileSync(this.conf, 'set -g remain-on-exit on\nset -g history-limit 20000\n');
  }
  private tmux(args: string[]) {
    const r = spawnSync('tmux', ['-L', this.socket, '-f', this.conf, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  start(argv: string[], vars: Record<string, string>): void {
    const e = Object.entries(vars).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    this.tmux(['new-session', '-d', '-s', 'w', '-x', '160', '-y', '60', ...e, '--', ...argv]);
  }
  /** The whole pane, history included, wrapped lines joined. */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-', '-t', 'w']);
  }
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', 'w', ...keys]);
  }
  type(text: string): void {
    this.tmux(['send-keys', '-t', 'w', '-l', text]);
  }
  erase(n: number): void {
    this.keys(...Array.from({ length: n }, () => 'BSpace'));
  }
  deadStatus(): string {
    return this.tmux([
      'display-message',
      '-p',
      '-t',
      'w',
      '#{pane_dead}:#{pane_dead_status}#{pane_dead_signal}',
    ]).trim();
  }
  async waitFor(text: string | RegExp, count = 1): Promise<string> {
    let last = '';
    try {
      return await waitFor(
        () => {
          last = this.screen();
          const n =
            typeof text === 'string' ? last.split(text).length - 1 : (last.match(new RegExp(text, 'g')) ?? []).length;
          return n >= count ? last : undefined;
        },
        { timeoutMs: 60_000, what: `"${String(text)}" on screen (x${count})` },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- screen ---\n${last.split('\n').slice(-40).join('\n')}`, {
        cause: err,
      });
    }
  }
  /** Position of the option containing `label` in the last list shown under `question`. */
  optionIndex(question: string, label: string): number {
    const s = this.screen();
    const lines = s.slice(s.lastIndexOf(question)).split('\n').slice(1);
    const options: string[] = [];
    for (const l of lines) {
      if (/↑\/↓|^└/.test(l)) break;
      // A long option wraps onto lines of its own: they belong to the option above.
      if (/^│\s+[●○]/.test(l)) options.push(l);
      else if (options.length > 0) options[options.length - 1] += l;
    }
    const i = options.findIndex((o) => o.includes(label));
    if (i < 0) throw new Error(`no option "${label}" under "${question}":\n${options.join('\n')}`);
    return i;
  }
  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

describe('ft setup: from a fresh box to a validated policy, a previewed attack and the service', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'ft-setup-'));
  let ns: Netns | undefined;
  let gobgpd: Daemon | undefined;
  let stayrtr: Daemon | undefined;
  const nginx = new TestNginx();
  let apiPort = 0;
  let rtrPort = 0;

  before(async function () {
    requireLab(this, { root: true, commands: ['gobgpd', 'stayrtr', 'nginx', 'softflowd', 'tmux', 'bird'] });
    ns = Netns.create('setup');
    ns.exec(['ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
    ns.exec(['ip', 'addr', 'add', '203.0.113.10/24', 'dev', 'up0']);
    ns.exec(['ip', 'addr', 'add', '2001:db8:100::10/64', 'dev', 'up0', 'nodad']);
    ns.exec(['ip', 'link', 'set', 'up0', 'up']);
    ns.exec(['ip', 'link', 'set', 'up1', 'up']);
    // Configured but down: its address must not be proposed.
    ns.exec(['ip', 'link', 'add', 'dn0', 'type', 'veth', 'peer', 'name', 'dn1']);
    ns.exec(['ip', 'addr', 'add', '198.51.100.7/24', 'dev', 'dn0']);
    // `ip netns exec` shows the namespace /etc/netns/NAME/resolv.conf as /etc/resolv.conf.
    mkdirSync(`/etc/netns/${ns.name}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns.name}/resolv.conf`, 'nameserver 203.0.113.53\nnameserver 127.0.0.53\n');

    apiPort = await freePort();
    rtrPort = await freePort();
    writeFileSync(join(dir, 'gobgpd.toml'), gobgpdConfig({ asn: 64500, routerId: '192.0.2.1', dir, neighbors: [] }));
    gobgpd = new Daemon(
      ns.argv([
        'gobgpd',
        '-f',
        join(dir, 'gobgpd.toml'),
        '--api-hosts',
        `127.0.0.1:${apiPort}`,
        '-p',
        '--pprof-disable',
        '-l',
        'warn',
      ]),
    );
    writeVrpJson(join(dir, 'vrps.json'), [
      { prefix: '203.0.113.0/24', maxLength: 24, asn: 'AS64500' },
      { prefix: '2001:db8:100::/48', maxLength: 48, asn: 'AS64500' },
    ]);
    stayrtr = new Daemon(
      ns.argv([
        'stayrtr',
        '-bind',
        `127.0.0.1:${rtrPort}`,
        '-cache',
        join(dir, 'vrps.json'),
        '-metrics.addr',
        `127.0.0.1:${await freePort()}`,
        '-log.verbose=false',
      ]),
    );
    await waitFor(() => listening(ns as Netns, 'tcp', apiPort), {
      timeoutMs: 20_000,
      what: `gobgpd API: ${gobgpd.output}`,
    });
    await waitFor(() => listening(ns as Netns, 'tcp', rtrPort), {
      timeoutMs: 20_000,
      what: `stayrtr: ${stayrtr.output}`,
    });
    await nginx.start();
  });

  after(async () => {
    await gobgpd?.stop();
    await stayrtr?.stop();
    await nginx.stop();
    if (ns) rmSync(`/etc/netns/${ns.name}`, { recursive: true, force: true });
    ns?.delete();
    rmSync(dir, { recursive: true, force: true });
  });

  it('interactive: proposes what the box shows, asks again on bad answers, writes a policy that validates and previews a rule via gobgpd', async () => {
    const out = join(dir, 'interactive');
    mkdirSync(out);
    const policy = join(out, 'policy.yaml');
    const tmux = new Tmux(out);
    try {
      tmux.start(ns!.argv([process.execPath, BIN, 'setup', '--policy', policy, '--listen-seconds', '0']), env);

      // What the box showed: the up interface's prefixes are proposed, the down one's address is nowhere.
      let screen = await tmux.waitFor('Prefixes to protect');
      expect(screen).to.include('addresses: 203.0.113.10/24 (up0), 2001:db8:100::10/64 (up0)');
      expect(screen).to.include(`gobgpd (pid `);
      expect(screen).to.include(`API 127.0.0.1:${apiPort}`);
      expect(screen).to.include(nginx.accessLog);
      expect(screen).to.match(new RegExp(`RTR cache: 127\\.0\\.0\\.1:${rtrPort} \\(stayrtr .*2 VRPs`));
      expect(screen).to.not.include('198.51.100.7');
      const proposed = '203.0.113.0/24, 2001:db8:100::/64';
      expect(screen).to.include(proposed);

      // A prefix with host bits: the reason, and the same question stays open.
      tmux.erase(proposed.length);
      tmux.type('203.0.113.10/24');
      tmux.keys('Enter');
      await tmux.waitFor('host bits are set below /24 (did you mean 203.0.113.0/24?)');
      // Prefixes that leave this box's own address out: a warning, and a chance to change them.
      tmux.erase('203.0.113.10/24'.length);
      tmux.type('198.51.100.0/24');
      tmux.keys('Enter');
      await tmux.waitFor("This box's own address 203.0.113.10, 2001:db8:100::10 is outside these prefixes");
      await tmux.waitFor('Keep these prefixes anyway?');
      tmux.keys('Enter'); // No (the default)
      await tmux.waitFor('Prefixes to protect', 2);
      tmux.erase('198.51.100.0/24'.length);
      tmux.type('203.0.113.0/24, 2001:db8:100::/48');
      tmux.keys('Enter');

      // The resolver from resolv.conf is proposed; the loopback stub is not.
      screen = await tmux.waitFor('Never-targets');
      expect(screen.slice(screen.lastIndexOf('Never-targets'))).to.include('203.0.113.53/32');
      expect(screen).to.not.include('127.0.0.53');
      tmux.keys('Enter');

      await tmux.waitFor('Origin AS of your announcements');
      tmux.type('4294967295');
      tmux.keys('Enter');
      await tmux.waitFor('expected an AS number between 1 and 4294967294');
      tmux.erase(10);
      tmux.type('AS64500');
      tmux.keys('Enter');

      // A speaker that does not answer: the reason, and the list again.
      const question = 'BGP speaker ft announces FlowSpec and RTBH through';
      await tmux.waitFor(question);
      tmux.keys(...Array.from({ length: tmux.optionIndex(question, 'another speaker') }, () => 'Down'), 'Enter');
      await tmux.waitFor('Speaker as KIND@WHERE');
      tmux.type('gobgp@127.0.0.1:1');
      tmux.keys('Enter');
      await tmux.waitFor('nothing answers at 127.0.0.1:1 (ECONNREFUSED)');
      await tmux.waitFor(question, 2);
      const ours = `gobgp@127.0.0.1:${apiPort}`;
      tmux.keys(...Array.from({ length: tmux.optionIndex(question, ours) }, () => 'Down'), 'Enter');
      // It answers; with no BGP neighbor it says so.
      await tmux.waitFor(`${ours}: degraded: gobgpd at 127.0.0.1:${apiPort} has no neighbors`);

      await tmux.waitFor('Escalation levels');
      tmux.keys('Enter'); // the reference ladder, all three
      screen = await tmux.waitFor('Access logs the l7 detector watches');
      expect(screen.slice(screen.lastIndexOf('Access logs the l7'))).to.include(`${nginx.accessLog} (nginx; `);
      tmux.keys('Enter'); // the ones found
      await tmux.waitFor('plan and log only: start here');
      tmux.keys('Enter'); // preview
      await tmux.waitFor(`Write the policy to ${policy}?`);
      tmux.keys('Enter');
      await tmux.waitFor('Install ft as a systemd service (ft.service) and start it?');
      tmux.keys('Enter'); // No
      screen = await tmux.waitFor(`ft is set up: ${policy}`);
      // The pane is kept after the command exits; its exit status shows once tmux has collected it.
      expect(
        await waitFor(() => /^1:\d/.test(tmux.deadStatus()) && tmux.deadStatus(), {
          timeoutMs: 60_000,
          what: 'ft setup to exit',
        }),
      ).to.equal('1:0');

      // validate, explain and the preview ran on screen; the preview shows the rule going out through gobgpd.
      expect(screen).to.include(`${policy}: valid (tenant default, mode preview, 3 levels`);
      expect(screen).to.include(
        'level 1  when bps > 100Mbps: FlowSpec rate-limit to 50Mbps (match built from the attack) via edge-gobgp (gobgp)',
      );
      expect(screen).to.match(/ADD\s+fs-[0-9a-f]+\s+FlowSpec\s+level 1/);
      expect(screen).to.match(/via\s+edge-gobgp \(gobgp\)/);
      expect(screen).to.include(
        `gobgp -u 127.0.0.1 -p ${apiPort} global rib -a ipv4-flowspec add match destination 203.0.113.10/32`,
      );
      expect(screen).to.match(/rpki\s+allowed \(valid\): covering route 203\.0\.113\.0\/24 is Valid for AS64500/);
      expect(screen).to.include('journalctl -u ft -f');
    } finally {
      tmux.kill();
    }
    const text = readFileSync(policy, 'utf8');
    expect(text).to.include(`edge-gobgp: { adapter: gobgp, address: "127.0.0.1:${apiPort}", tagAsn: 64500 }`);
    expect(text).to.include(`{ path: ${JSON.stringify(nginx.accessLog)}, format: nginx-combined }`);
    expect(text).to.include(`caches: ["127.0.0.1:${rtrPort}"]`);
    expect(text).to.include('  - 203.0.113.53/32');
    const v = await runFt(['policy', 'validate', '--json', policy], env);
    expect(v.code, v.stderr).to.equal(0);
    expect((JSON.parse(v.stdout) as { valid: boolean }).valid).to.equal(true);
  });

  it('flags: writes the same policy without a terminal, with the flow exporters heard and a preview via gobgpd', async () => {
    const out = join(dir, 'flags');
    mkdirSync(out);
    const policy = join(out, 'policy.yaml');
    const flowPort = await freePort();
    // softflowd replays a few UDP packets to 203.0.113.10 and exports them as NetFlow v9 to the box.
    const pcap = join(out, 'traffic.pcap');
    const t0 = Date.now() / 1000;
    writeFileSync(
      pcap,
      trafficPcap(
        Array.from({ length: 20 }, (_, i) => ({
          time: t0 + i / 100,
          src: '198.51.100.20',
          dst: '203.0.113.10',
          protocol: 'udp' as const,
          srcPort: 53,
          dstPort: 40000 + i,
          payload: 512,
        })),
      ),
    );
    const setup = ftIn(ns!, [
      'setup',
      '--yes',
      '--policy',
      policy,
      '--protect',
      '203.0.113.0/24,2001:db8:100::/48',
      '--never-target',
      '203.0.113.53',
      '--asn',
      'AS64500',
      '--speaker',
      `gobgp@127.0.0.1:${apiPort}`,
      '--access-log',
      nginx.accessLog,
      '--levels',
      '1,2',
      '--mode',
      'preview',
      '--flow-ports',
      String(flowPort),
      '--listen-seconds',
      '3',
    ]);
    // Export only once the survey listens, and keep exporting until setup is done with it.
    await waitFor(() => listening(ns!, 'udp', flowPort) || setup.child.exitCode !== null, {
      timeoutMs: 60_000,
      what: 'ft setup listening for flow exporters',
    });
    let finished = false;
    void setup.then(() => (finished = true));
    for (let i = 0; i < 50 && !finished && listening(ns!, 'udp', flowPort); i++) {
      const ctl = join(out, `sf${i}.ctl`);
      const sf = new Daemon(
        ns!.argv([
          'softflowd',
          '-r',
          pcap,
          '-n',
          `127.0.0.1:${flowPort}`,
          '-v',
          '9',
          '-d',
          '-c',
          ctl,
          '-p',
          join(out, `sf${i}.pid`),
        ]),
      );
      // softflowd sometimes idles after the capture until its control socket is poked.
      const poke = setInterval(
        () => spawn('softflowctl', ['-c', ctl, 'statistics'], { stdio: 'ignore' }).on('error', () => {}),
        300,
      );
      await Promise.race([sf.exited, setup]);
      clearInterval(poke);
      await sf.stop();
    }
    const r = await setup;
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.include('addresses: 203.0.113.10/24 (up0), 2001:db8:100::10/64 (up0)');
    expect(r.stdout).to.match(new RegExp(`flow: 127\\.0\\.0\\.1 → :${flowPort} \\(\\d+ datagrams\\)`));
    expect(r.stdout).to.include(`ok wrote ${policy}`);
    expect(r.stdout).to.include(`${policy}: valid (tenant default, mode preview, 2 levels`);
    expect(r.stdout).to.match(/via\s+edge-gobgp \(gobgp\)/);
    expect(r.stdout).to.include(
      `gobgp -u 127.0.0.1 -p ${apiPort} global rib -a ipv4-flowspec add match destination 203.0.113.10/32`,
    );
    expect(r.stdout).to.match(/rpki\s+allowed \(valid\)/);
    const text = readFileSync(policy, 'utf8');
    expect(text).to.include(`address: "127.0.0.1:${apiPort}"`);
    expect(text).to.include(JSON.stringify(nginx.accessLog));
    expect(text).to.include('allowedExporters: ["127.0.0.1/32"]');
    expect(text).to.include(`{ address: 0.0.0.0, port: ${flowPort} }`);
    expect(text).to.not.include('level: 3,');
    const v = await runFt(['policy', 'validate', policy], env);
    expect(v.code, v.stderr).to.equal(0);

    // Run again: the policy is not replaced without --force, and nothing changes.
    const quick = [
      '--speaker',
      'none',
      '--access-log',
      'none',
      '--flow',
      'none',
      '--rtr',
      'none',
      '--listen-seconds',
      '0',
    ];
    const base = ['setup', '--yes', '--policy', policy, '--protect', '203.0.113.0/24', '--asn', '64500', ...quick];
    const again = await ftIn(ns!, base);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.include(`${policy} already exists: pass --force to replace it`);
    expect(readFileSync(policy, 'utf8')).to.equal(text);
    const forced = await ftIn(ns!, [...base, '--force']);
    expect(forced.code, forced.stderr).to.equal(0);
    const backups = readdirSync(out).filter((f) => /^policy\.yaml\.\d{8}T\d{6}Z\.bak$/.test(f));
    expect(backups).to.have.length(1);
    expect(readFileSync(join(out, backups[0] as string), 'utf8')).to.equal(text);
    expect(readFileSync(policy, 'utf8')).to.include('escalation: []');
    // Nothing half-written beside it.
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('flags: each bad answer is a clear error, exit 2, and nothing is written', async () => {
    const out = join(dir, 'bad');
    mkdirSync(out);
    writeFileSync(join(out, 'a-file'), 'not a directory');
    mkdirSync(join(out, 'a-dir'));
    const policy = join(out, 'policy.yaml');
    const quick = ['--access-log', 'none', '--flow', 'none', '--rtr', 'none', '--listen-seconds', '0'];
    const good = ['--protect', '203.0.113.0/24', '--asn', '64500', '--speaker', 'none'];
    const cases: [string[], RegExp][] = [
      [
        ['--protect', '203.0.113.10/24', '--asn', '64500', '--speaker', 'none'],
        /protect: .*host bits are set below \/24 \(did you mean 203\.0\.113\.0\/24\?\)/,
      ],
      [
        ['--protect', '203.0.113.0/24', '--asn', '4294967295', '--speaker', 'none'],
        /asn: expected an AS number between 1 and 4294967294/,
      ],
      [['--protect', '203.0.113.0/24', '--speaker', 'none'], /--asn: required/],
      [
        ['--protect', '203.0.113.0/24', '--asn', '64500', '--speaker', 'gobgp@127.0.0.1:1'],
        /--speaker: gobgp@127\.0\.0\.1:1: nothing answers at 127\.0\.0\.1:1 \(ECONNREFUSED\)/,
      ],
      [
        ['--protect', '203.0.113.0/24', '--asn', '64500', '--speaker', 'gobgp@127.0.0.1'],
        /gobgp@127\.0\.0\.1: address: must be host:port/,
      ],
      [
        ['--protect', '203.0.113.0/24', '--asn', '64500', '--speaker', 'juniper@192.0.2.1'],
        /speaker: .*KIND one of gobgp, bird, frr, exabgp/,
      ],
      [[...good, '--policy', join(out, 'a-file', 'policy.yaml')], /a-file is not a directory/],
      [[...good, '--policy', join(out, 'a-dir')], /a-dir is a directory/],
      [[...good, '--never-target', '203.0.113.999'], /neverTarget: .*not a valid prefix/],
      [[...good, '--levels', '4'], /levels: level 4 \(scrubbing\) needs a scrubbing provider/],
      [[...good, '--flow-ports', '70000'], /--flow-ports: "70000" is not a UDP port/],
    ];
    for (const [args, expected] of cases) {
      const r = await ftIn(ns!, [
        'setup',
        '--yes',
        ...(args.includes('--policy') ? [] : ['--policy', policy]),
        ...quick,
        ...args,
      ]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(expected);
      expect(existsSync(policy), args.join(' ')).to.equal(false);
    }
    expect(readdirSync(out).sort()).to.deep.equal(['a-dir', 'a-file']);
    // No terminal and no --yes: it says how to run it instead of waiting for answers nobody types.
    const r = await ftIn(ns!, ['setup', '--policy', policy, ...good, ...quick]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('asks its questions on a terminal: run it in one, or pass --yes');
  });

  it('flags: --dry-run prints the policy and writes nothing; --service writes the units for it', async () => {
    const out = join(dir, 'dry');
    mkdirSync(out);
    const policy = join(out, 'policy.yaml');
    const args = ['--protect', '203.0.113.0/24', '--asn', '64500', '--speaker', `gobgp@127.0.0.1:${apiPort}`];
    const quick = ['--access-log', 'none', '--flow', 'none', '--rtr', 'none', '--listen-seconds', '0'];
    const dry = await ftIn(ns!, ['setup', '--yes', '--dry-run', '--policy', policy, ...args, ...quick]);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.include('version: 1');
    expect(dry.stdout).to.include(`edge-gobgp: { adapter: gobgp, address: "127.0.0.1:${apiPort}"`);
    expect(readdirSync(out)).to.deep.equal([]);

    // A BIRD with its control socket in a place of its own: found from its command line, and usable as a speaker.
    const socket = join(out, 'bird.ctl');
    writeFileSync(join(out, 'bird.conf'), 'router id 192.0.2.9;\nprotocol device {}\n');
    const bird = new Daemon(ns!.argv(['bird', '-f', '-c', join(out, 'bird.conf'), '-s', socket]));
    try {
      await waitFor(() => existsSync(socket), { timeoutMs: 20_000, what: `bird's control socket: ${bird.output}` });
      const found = await ftIn(ns!, [
        'setup',
        '--yes',
        '--dry-run',
        '--protect',
        '203.0.113.0/24',
        '--asn',
        '64500',
        ...quick,
      ]);
      expect(found.code, found.stderr).to.equal(0);
      expect(found.stdout).to.match(
        new RegExp(`BGP speakers: .*bird \\(pid \\d+\\), control socket ${socket.replace(/[.]/g, '\\.')}`),
      );
      const viaBird = await ftIn(ns!, [
        'setup',
        '--yes',
        '--dry-run',
        '--protect',
        '203.0.113.0/24',
        '--asn',
        '64500',
        '--speaker',
        `bird@${socket}`,
        ...quick,
      ]);
      expect(viaBird.code, viaBird.stderr).to.equal(0);
      expect(viaBird.stdout).to.include(
        `edge-bird: { adapter: bird, socket: ${JSON.stringify(socket)}, includeFile: /etc/bird/ft-routes.conf`,
      );
      expect(viaBird.stdout).to.match(/- \{ level: 1, .*via: \[edge-bird\] \}/);
    } finally {
      await bird.stop();
    }
    expect(readdirSync(out).filter((f) => f.endsWith('.yaml'))).to.deep.equal([]);

    const units = join(out, 'units');
    const r = await ftIn(ns!, [
      'setup',
      '--yes',
      '--policy',
      policy,
      ...args,
      ...quick,
      '--service',
      '--no-start',
      '--unit-dir',
      units,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`wrote ${join(units, 'ft.service')}`);
    const unit = readFileSync(join(units, 'ft.service'), 'utf8');
    expect(unit).to.match(new RegExp(`ExecStart=.* run --policy ${policy.replace(/[.]/g, '\\.')}`));
    expect(r.stdout).to.include('systemctl daemon-reload && systemctl enable --now ft.service');
  });
});
