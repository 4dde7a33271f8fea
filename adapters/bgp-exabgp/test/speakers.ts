// How the tests and the benchmark run each real speaker in the lab's speaker namespace (argv only).
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Daemon } from '../../../test/helpers/daemon.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { PEER_ADDR, SPEAKER_ADDR, type PeerLab } from './peer-lab.js';

export const BRIDGE = resolve(import.meta.dirname, '..', 'bin', 'ft-exabgp-bridge.mjs');
const FRR = '/usr/lib/frr';

// ── ExaBGP ─────────────────────────────────────────────────────────────────────────────────────────────────────

export function exabgpConf(socket: string, as: { local: number; peer: number }, extra = ''): string {
  return `process ft {
  run ${process.execPath} ${BRIDGE} ${socket};
  encoder text;
}
neighbor ${PEER_ADDR} {
  router-id ${SPEAKER_ADDR};
  local-address ${SPEAKER_ADDR};
  local-as ${as.local};
  peer-as ${as.peer};
  family { ipv4 unicast; ipv6 unicast; ipv4 flow; ipv6 flow; }
  api { processes [ ft ]; neighbor-changes; }
${extra}}
`;
}

/** How ExaBGP runs under a test: in the foreground, as root, logging to stdout, acks on, no CLI FIFOs. */
export const EXABGP_ENV: Readonly<Record<string, string>> = {
  'exabgp.daemon.user': 'root',
  'exabgp.log.destination': 'stdout',
  'exabgp.api.cli': 'false',
  'exabgp.api.ack': 'true',
  'exabgp.daemon.daemonize': 'false',
};

export function startExabgp(
  lab: PeerLab,
  configPath: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Daemon {
  return new Daemon(lab.speaker.argv(['exabgp', ...args, configPath]), { env: { ...EXABGP_ENV, ...env } });
}

// ── BIRD 2 ─────────────────────────────────────────────────────────────────────────────────────────────────────

export function birdConf(include: string, as: { local: number; peer: number }, broken = false): string {
  return `router id ${SPEAKER_ADDR};
flow4 table flowtab4;
flow6 table flowtab6;
include "${include}";
protocol device {}
protocol static operator_own { ipv4; route 203.0.113.200/32 blackhole; }
protocol bgp edge {
  local ${SPEAKER_ADDR} as ${as.local};
  neighbor ${PEER_ADDR} as ${as.peer};
  connect delay time 1; connect retry time 1; error wait time 1, 2;
  ipv4 { import none; export where proto = "ft_rtbh4" || proto = "operator_own"; next hop keep; };
  ipv6 { import none; export where proto = "ft_rtbh6"; next hop keep; };
  flow4 { table flowtab4; import none; export where proto = "ft_flow4"; };
  flow6 { table flowtab6; import none; export where proto = "ft_flow6"; };
}
${broken ? 'protocol bgp broken { this is not bird syntax }' : ''}
`;
}

export function startBird(lab: PeerLab, confPath: string, socket: string): Daemon {
  return new Daemon(lab.speaker.argv(['bird', '-f', '-c', confPath, '-s', socket, '-P', join(lab.dir, 'bird.pid')]));
}

// ── FRR 8.4 (zebra + staticd + bgpd, their own sockets, pid files and config dir) ─────────────────────────────

/** Writes the daemons' config files into `vty` (iBGP to the peer: FRR never sends BLACKHOLE routes over eBGP). */
export function writeFrrConfig(lab: PeerLab, vty: string, as: number): void {
  mkdirSync(vty, { recursive: true });
  // The daemons drop to the frr user: it must reach and write their directory.
  chmodSync(lab.dir, 0o711);
  chmodSync(vty, 0o777);
  writeFileSync(join(vty, 'zebra.conf'), 'hostname ft-frr-test\n');
  writeFileSync(join(vty, 'staticd.conf'), 'ip route 203.0.113.200/32 Null0\n');
  writeFileSync(
    join(vty, 'bgpd.conf'),
    [
      `router bgp ${as}`,
      ` bgp router-id ${SPEAKER_ADDR}`,
      ' no bgp ebgp-requires-policy',
      ` neighbor ${PEER_ADDR} remote-as ${as}`,
      ` neighbor ${PEER_ADDR} timers connect 1`,
      ' address-family ipv4 unicast',
      `  neighbor ${PEER_ADDR} activate`,
      '  network 203.0.113.200/32 route-map OPERATOR_BH',
      ' exit-address-family',
      ' address-family ipv6 unicast',
      `  neighbor ${PEER_ADDR} activate`,
      ' exit-address-family',
      'exit',
      'route-map OPERATOR_BH permit 10',
      ' set community 65535:666',
      'exit',
      '',
    ].join('\n'),
  );
}

/** Starts zebra, staticd and bgpd in the speaker namespace; returns them in start order. */
export async function startFrr(lab: PeerLab, vty: string): Promise<Daemon[]> {
  const started: Daemon[] = [];
  for (const name of ['zebra', 'staticd', 'bgpd']) {
    const d = new Daemon(
      lab.speaker.argv([
        join(FRR, name),
        '-u',
        'frr',
        '-g',
        'frr',
        '--vty_socket',
        vty,
        '-i',
        join(vty, `${name}.pid`),
        '-z',
        join(vty, 'zserv.api'),
        '-f',
        join(vty, `${name}.conf`),
        '-P',
        '0',
        '--log',
        'stdout',
      ]),
    );
    started.push(d);
    await waitFor(() => existsSync(join(vty, `${name}.vty`)) || !d.running, {
      what: `${name} to open its vty socket`,
      timeoutMs: 10_000,
    });
    if (!d.running) {
      for (const s of started.reverse()) await s.stop();
      throw new Error(`${name} exited: ${d.output}`);
    }
  }
  return started;
}

export async function stopAll(daemons: Daemon[]): Promise<void> {
  for (const d of [...daemons].reverse()) await d.stop();
}
