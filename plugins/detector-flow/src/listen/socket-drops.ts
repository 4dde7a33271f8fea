import { readFile } from 'node:fs/promises';

/**
 * Kernel receive-queue drops of the UDP sockets bound to `ports` (the `drops` column of /proc/net/udp and
 * udp6): the largest loss source of any collector, invisible from user space otherwise. Sockets of other
 * processes on the same port (SO_REUSEPORT) would be counted too; ft does not share its ports.
 */
export function parseUdpDrops(text: string, ports: ReadonlySet<number>): number {
  let drops = 0;
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const cols = lines[i]!.trim().split(/\s+/);
    if (cols.length < 13) continue;
    const local = cols[1]!;
    const port = parseInt(local.slice(local.indexOf(':') + 1), 16);
    if (ports.has(port)) drops += Number(cols[cols.length - 1]) || 0;
  }
  return drops;
}

export async function readSocketDrops(ports: ReadonlySet<number>): Promise<number> {
  let total = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      total += parseUdpDrops(await readFile(file, 'utf8'), ports);
    } catch {
      // No IPv6 in this kernel, or no /proc (not Linux): nothing to count.
    }
  }
  return total;
}
