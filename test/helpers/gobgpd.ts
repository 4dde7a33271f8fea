import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gobgpdConfig, type GobgpdOptions } from '../../lab/ns/topology.js';
import { Daemon } from './daemon.js';
import { waitFor } from './wait.js';

/**
 * A gobgpd on this host with its gRPC API on a Unix socket in `dir` and no BGP listener (no namespace, no root):
 * what doctor and adapter tests that need a real speaker but no peer start. Stop the daemon in `after`.
 */
export async function startLocalGobgpd(
  dir: string,
  o: Partial<Pick<GobgpdOptions, 'asn' | 'routerId' | 'neighbors'>> = {},
): Promise<{ daemon: Daemon; socket: string; api: string }> {
  const config = join(dir, 'gobgpd.toml');
  writeFileSync(
    config,
    gobgpdConfig({ asn: o.asn ?? 64500, routerId: o.routerId ?? '192.0.2.1', dir, neighbors: o.neighbors ?? [] }),
  );
  const socket = join(dir, 'api.sock');
  const daemon = new Daemon([
    'gobgpd',
    '-f',
    config,
    '--api-hosts',
    `unix://${socket}`,
    '-p',
    '--pprof-disable',
    '-l',
    'warn',
  ]);
  await waitFor(() => existsSync(socket), { what: 'gobgpd API socket' });
  return { daemon, socket, api: `unix://${socket}` };
}
