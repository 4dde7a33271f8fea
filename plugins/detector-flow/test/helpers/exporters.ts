// Real exporters (softflowd, pmacctd sfprobe) run against a pcap, and tshark as the reference decoder.
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pcapFile, udpFrame } from './pcap-writer.js';

export interface Exported {
  datagrams: Buffer[];
  output: string;
}

const running = new Set<ReturnType<typeof spawn>>();

/** Kills exporters still running (a failed test must not leave softflowd or pmacctd behind); call in `after`. */
export function stopExporters(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

function runToExit(
  argv: string[],
  timeoutMs: number,
  okCodes: number[] = [0],
  poke?: { everyMs: number; argv: string[] },
): Promise<string> {
  const [cmd, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    const poker =
      poke &&
      setInterval(
        () => spawn(poke.argv[0]!, poke.argv.slice(1), { stdio: 'ignore' }).on('error', () => {}),
        poke.everyMs,
      );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (poker) clearInterval(poker);
      if (code !== null && okCodes.includes(code)) resolve(out);
      else reject(new Error(`${argv.join(' ')} exited ${code ?? signal}: ${out.slice(-2000)}`));
    });
  });
}

/**
 * Binds a recording socket on 127.0.0.1 (a big buffer: exporters replaying a pcap send in bursts), runs the
 * exporter towards it, and returns the datagrams once it has exited and the socket has been quiet a moment.
 */
export async function captureExport(run: (port: number) => Promise<string>): Promise<Exported> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 16 << 20 });
  const datagrams: Buffer[] = [];
  let last = Date.now();
  socket.on('message', (m) => {
    datagrams.push(m);
    last = Date.now();
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  try {
    const output = await run(socket.address().port);
    last = Date.now();
    while (Date.now() - last < 400) await new Promise((r) => setTimeout(r, 50));
    return { datagrams, output };
  } finally {
    socket.close();
  }
}

export function softflowd(
  dir: string,
  pcap: string,
  version: 5 | 9 | 10,
  o: { v6?: boolean; sampling?: number; tag: string },
) {
  return (port: number) => {
    const argv = [
      'softflowd',
      '-r',
      pcap,
      '-n',
      `127.0.0.1:${port}`,
      '-v',
      String(version),
      '-d',
      '-c',
      join(dir, `${o.tag}.ctl`),
      '-p',
      join(dir, `${o.tag}.pid`),
    ];
    if (o.v6) argv.push('-6');
    if (o.sampling) argv.push('-s', String(o.sampling));
    // softflowd usually reads the whole capture and exits, but now and then sits idle in its event loop until
    // something arrives on its control socket: a harmless "statistics" request wakes it up.
    return runToExit(argv, 30_000, [0], {
      everyMs: 300,
      argv: ['softflowctl', '-c', join(dir, `${o.tag}.ctl`), 'statistics'],
    });
  };
}

export function pmacctSfprobe(dir: string, pcap: string, o: { source: string; sampling: number; tag: string }) {
  return (port: number) => {
    const conf = join(dir, `${o.tag}.conf`);
    writeFileSync(
      conf,
      [
        'daemonize: false',
        `pcap_savefile: ${pcap}`,
        'plugins: sfprobe',
        `sfprobe_receiver: 127.0.0.1:${port}`,
        `sfprobe_source_ip: ${o.source}`,
        `sampling_rate: ${o.sampling}`,
        'plugin_pipe_size: 10240000',
        'plugin_buffer_size: 10240',
        '',
      ].join('\n'),
    );
    // pmacctd sometimes exits 1 at the end of a savefile when its plugin finished first ("connection lost"):
    // what it exported is still checked datagram by datagram.
    return runToExit(['pmacctd', '-f', conf], 30_000, [0, 1]);
  };
}

/** A capture of datagrams as a collector on 127.0.0.1:port received them from `exporter`. */
export function datagramPcap(datagrams: Buffer[], exporter: string, port: number): Buffer {
  return pcapFile(
    datagrams.map((d, i) => ({
      time: 1_700_000_000 + i / 1000,
      data: udpFrame(exporter, 40000, '127.0.0.1', port, d),
    })),
    101,
  );
}

export interface Totals {
  packets: number;
  bytes: number;
}

function add(m: Map<string, Totals>, dst: string, packets: number, bytes: number): void {
  const t = m.get(dst) ?? { packets: 0, bytes: 0 };
  t.packets += packets;
  t.bytes += bytes;
  m.set(dst, t);
}

function tsharkFields(pcap: string, decodeAs: string, fields: string[]): string[][][] {
  const argv = ['-r', pcap, '-d', decodeAs, '-T', 'fields', '-E', 'aggregator=;', '-E', 'occurrence=a'];
  for (const f of fields) argv.push('-e', f);
  const r = spawnSync('tshark', argv, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`tshark ${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t').map((c) => (c === '' ? [] : c.split(';'))));
}

/** Per-destination packets/bytes (as exported, unscaled) of NetFlow/IPFIX datagrams, by tshark's decoder. */
export function tsharkCflowTotals(pcap: string, port: number): Map<string, Totals> {
  const m = new Map<string, Totals>();
  const rows = tsharkFields(pcap, `udp.port==${port},cflow`, [
    'cflow.dstaddr',
    'cflow.dstaddrv6',
    'cflow.packets',
    'cflow.octets',
  ]);
  for (const [v4 = [], v6 = [], packets = [], octets = []] of rows) {
    const dsts = [...v4, ...v6];
    if (dsts.length !== packets.length || dsts.length !== octets.length)
      throw new Error(`tshark gave ${dsts.length} destinations for ${packets.length} packet counts`);
    dsts.forEach((d, i) => add(m, d, Number(packets[i]), Number(octets[i])));
  }
  return m;
}

/**
 * Per-destination sampled packets and IP bytes of sFlow datagrams, by tshark's decoder of the sampled headers.
 * The capture's own outer IPv4 header (127.0.0.x) is the first ip.* occurrence of every frame and is skipped.
 */
export function tsharkSflowTotals(pcap: string, port: number): Map<string, Totals> {
  const m = new Map<string, Totals>();
  const rows = tsharkFields(pcap, `udp.port==${port},sflow`, ['ip.dst', 'ip.len', 'ipv6.dst', 'ipv6.plen']);
  for (const [v4 = [], v4len = [], v6 = [], v6len = []] of rows) {
    v4.slice(1).forEach((d, i) => add(m, d, 1, Number(v4len[i + 1])));
    v6.forEach((d, i) => add(m, d, 1, Number(v6len[i]) + 40));
  }
  return m;
}
