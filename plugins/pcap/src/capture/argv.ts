import { VECTORS, type Incident, type Prefix } from '@ft/sdk';

/**
 * The exact argv of every capture tool ft runs (pure functions: tests and docs show the same commands).
 * dumpcap (Wireshark) writes pcapng, keeps a true ring with `-b` (a new file after N packets or N seconds, the
 * oldest deleted beyond `files:`), and stops by packets, kilobytes or seconds with `-c`/`-a`. tcpdump's `-G`/`-W`
 * make no ring (with -G, -W means "exit after N files"), which is why ft does not use it.
 */

export interface RingArgs {
  iface: string;
  snaplen: number;
  /** Where dumpcap writes ring_NNNNN_TIME.pcapng. */
  dir: string;
  /** A new file after this many packets... */
  packets: number;
  /** ...or this many seconds, whichever comes first. */
  seconds: number;
  /** Files kept (the newest, the one being written included). */
  files: number;
  /** BPF (libpcap syntax); undefined: every packet. */
  filter?: string;
  /** Kernel capture buffer, MiB. */
  bufferMiB: number;
}

/** What every dumpcap ft runs starts with: the interface, no packet counts on stderr, snaplen, kernel buffer. */
function dumpcap(iface: string, snaplen: number, bufferMiB: number): string[] {
  return ['dumpcap', '-i', iface, '-q', '-s', String(snaplen), '-B', String(bufferMiB)];
}

export function ringArgv(a: RingArgs): string[] {
  const argv = [
    ...dumpcap(a.iface, a.snaplen, a.bufferMiB),
    '-b',
    `packets:${a.packets}`,
    '-b',
    `duration:${a.seconds}`,
    '-b',
    `files:${a.files}`,
    '-w',
    `${a.dir}/ring.pcapng`,
  ];
  if (a.filter) argv.push('-f', a.filter);
  return argv;
}

export interface IncidentCaptureArgs {
  iface: string;
  snaplen: number;
  file: string;
  filter: string;
  packets: number;
  /** Stops once the file reaches this size. */
  bytes: number;
  seconds: number;
  comment: string;
  bufferMiB: number;
}

export function incidentArgv(a: IncidentCaptureArgs): string[] {
  return [
    ...dumpcap(a.iface, a.snaplen, a.bufferMiB),
    '-c',
    String(a.packets),
    '-a',
    `duration:${a.seconds}`,
    // dumpcap's filesize is in kB (1000 bytes).
    '-a',
    `filesize:${Math.max(1, Math.floor(a.bytes / 1000))}`,
    '--capture-comment',
    a.comment,
    '-w',
    a.file,
    '-f',
    a.filter,
  ];
}

/** mergecap: chronological merge into one pcapng. */
export function mergeArgv(out: string, inputs: readonly string[]): string[] {
  return ['mergecap', '-F', 'pcapng', '-w', out, ...inputs];
}

/** editcap: keep packets FIRST..LAST (1-based) of `input`. */
export function selectArgv(input: string, out: string, first: number, last: number): string[] {
  return ['editcap', '-F', 'pcapng', '-r', input, out, `${first}-${last}`];
}

/** editcap: the same packets with the incident's comment on the section (comments already there dropped). */
export function commentArgv(input: string, out: string, comment: string): string[] {
  return ['editcap', '-F', 'pcapng', '--discard-capture-comment', '--capture-comment', comment, input, out];
}

/** Converts to classic pcap (`ft pcap export --format pcap`): what most upload endpoints and old tools take. */
export function toPcapArgv(input: string, out: string): string[] {
  return ['editcap', '-F', 'pcap', input, out];
}

function hostOrNet(p: Prefix): string {
  return p.isHost ? `dst host ${p.address}` : `dst net ${p.toString()}`;
}

/**
 * The incident capture's BPF filter: the target, and what the classification is sure of (the protocol; the
 * reflectors' source ports when vectors are named). Every piece comes from typed values (Prefix, numbers).
 */
export function incidentFilter(incident: Pick<Incident, 'target' | 'family' | 'vectors'>): string {
  const t = incident.target;
  const parts = [hostOrNet(t)];
  const icmp = t.family === 4 ? 'icmp' : 'icmp6';
  const vectors = incident.vectors.filter((v) => VECTORS[v]?.protocol === 'udp');
  if (vectors.length > 0) {
    const ports = [...new Set(vectors.flatMap((v) => VECTORS[v].sourcePorts))].sort((a, b) => a - b);
    parts.push(`udp and (${ports.map((p) => `src port ${p}`).join(' or ')})`);
  } else {
    switch (incident.family) {
      case 'udp_flood':
      case 'dns_flood':
        parts.push('udp');
        break;
      case 'syn_flood':
      case 'http_flood':
        parts.push('tcp');
        break;
      case 'icmp_flood':
        parts.push(icmp);
        break;
      default:
        break;
    }
  }
  return parts.join(' and ');
}

/** The ring's filter for `protect` prefixes: inbound to them only (undefined: no filter, every packet). */
export function protectFilter(protect: readonly Prefix[]): string | undefined {
  if (protect.length === 0) return undefined;
  return protect.map(hostOrNet).join(' or ');
}
