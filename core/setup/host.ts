// What `ft setup` reads about the box itself before asking anything: its interfaces and addresses (the up ones),
// its resolvers, whether it runs as root, and which processes run (to find speakers, web servers, RTR caches).
// Read-only: /sys, /proc and /etc/resolv.conf; nothing here changes the host.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { Prefix } from '@ft/sdk';
import ipaddr from 'ipaddr.js';

/** How an address may be used as a proposal: only public (and documentation) space is worth protecting. */
export type AddressScope = 'public' | 'private' | 'loopback' | 'link-local' | 'other';

export interface HostAddress {
  interface: string;
  /** The address itself, canonical text. */
  address: string;
  family: 4 | 6;
  /** The on-link prefix (address and netmask), canonical. */
  onLink: Prefix;
  scope: AddressScope;
}

// The documentation ranges (RFC 5737, RFC 3849) behave as public space here: labs and examples use them.
const DOCUMENTATION = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'].map((p) =>
  Prefix.parse(p),
);

export function addressScope(address: string): AddressScope {
  const range = ipaddr.parse(address).range();
  if (range === 'unicast') return 'public';
  if (DOCUMENTATION.some((d) => d.contains(Prefix.parse(address)))) return 'public';
  if (range === 'loopback') return 'loopback';
  if (range === 'linkLocal') return 'link-local';
  if (range === 'private' || range === 'uniqueLocal' || range === 'carrierGradeNat') return 'private';
  return 'other';
}

/**
 * An interface is left out when it is administratively down (IFF_UP clear) or has no carrier (operstate
 * "down"): its addresses carry no traffic. Loopback reports "unknown" and stays.
 */
async function isUp(name: string, sysRoot: string): Promise<boolean> {
  const base = `${sysRoot}/class/net/${name.split(':')[0]}`;
  const flags = await readFile(`${base}/flags`, 'utf8').catch(() => undefined);
  if (flags !== undefined && (Number.parseInt(flags.trim(), 16) & 1) === 0) return false;
  const oper = await readFile(`${base}/operstate`, 'utf8').catch(() => 'unknown');
  return oper.trim() !== 'down';
}

/** Addresses of the interfaces that are up, IPv4 and IPv6, in the kernel's order. */
export async function hostAddresses(sysRoot = '/sys'): Promise<HostAddress[]> {
  const out: HostAddress[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (!list || !(await isUp(name, sysRoot))) continue;
    for (const a of list) {
      // A zone suffix (fe80::1%eth0) is not part of the address.
      const address = a.address.split('%')[0] as string;
      const length = Number(a.cidr?.split('/')[1] ?? (a.family === 'IPv4' ? 32 : 128));
      const onLink = Prefix.covering(address, length);
      out.push({
        interface: name,
        address: Prefix.parse(address).address,
        family: a.family === 'IPv4' ? 4 : 6,
        onLink,
        scope: addressScope(address),
      });
    }
  }
  return out;
}

/**
 * What `protect` could start from: each public address's on-link prefix, no shorter than the default
 * minPrefixLength (/24, /48) — a longer allocation is the operator's to type, a shorter one is never targeted.
 */
export function proposedProtect(addresses: readonly HostAddress[]): Prefix[] {
  const out: Prefix[] = [];
  for (const a of addresses) {
    if (a.scope !== 'public') continue;
    const min = a.family === 4 ? 24 : 48;
    const p = a.onLink.length >= min ? a.onLink : Prefix.covering(a.address, min);
    if (!out.some((o) => o.overlaps(p))) out.push(p);
  }
  return out;
}

/** The `nameserver` lines of resolv.conf (resolv.conf(5)); loopback stubs (systemd-resolved) are not targets. */
export async function resolvers(path = '/etc/resolv.conf'): Promise<{ address: string; loopback: boolean }[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const out: { address: string; loopback: boolean }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const addr = m?.[1]?.split('%')[0];
    if (!addr || !ipaddr.isValid(addr)) continue;
    const canonical = Prefix.parse(addr).address;
    if (!out.some((o) => o.address === canonical))
      out.push({ address: canonical, loopback: addressScope(canonical) === 'loopback' });
  }
  return out;
}

export interface HostProcess {
  pid: number;
  argv: string[];
  /** The kernel's name for it (/proc/PID/comm, at most 15 characters). */
  name: string;
}

/** Every process whose command line we may read (all of them as root; our own user's otherwise). */
export async function processes(procRoot = '/proc'): Promise<HostProcess[]> {
  const out: HostProcess[] = [];
  for (const entry of await readdir(procRoot).catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const raw = await readFile(`${procRoot}/${entry}/cmdline`, 'utf8').catch(() => '');
    const argv = raw.split('\0').filter((a) => a.length > 0);
    if (argv.length === 0) continue; // kernel threads
    // comm, not argv[0]: nginx and others rewrite their command line ("nginx: worker process").
    const comm = (await readFile(`${procRoot}/${entry}/comm`, 'utf8').catch(() => '')).trim();
    out.push({ pid: Number(entry), argv, name: comm || ((argv[0] as string).split('/').pop() as string) });
  }
  return out;
}

/** Files a process holds open (needs root for other users' processes; unreadable ones are left out). */
export async function openFiles(pid: number, procRoot = '/proc'): Promise<string[]> {
  const dir = `${procRoot}/${pid}/fd`;
  const fds = await readdir(dir).catch(() => [] as string[]);
  const targets = await Promise.all(fds.map((fd) => readlink(`${dir}/${fd}`).catch(() => '')));
  return [...new Set(targets.filter((t) => t.startsWith('/')))];
}

/** The value of a `--flag VALUE` or `--flag=VALUE` (or `-f VALUE`) option in argv, last one wins. */
export function optionValue(argv: readonly string[], ...names: string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    for (const n of names) {
      if (a === n && i + 1 < argv.length) value = argv[i + 1];
      else if (a.startsWith(`${n}=`)) value = a.slice(n.length + 1);
    }
  }
  return value;
}

export const isRoot = (): boolean => process.getuid?.() === 0;
