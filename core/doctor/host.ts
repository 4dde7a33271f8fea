import { readFile } from 'node:fs/promises';
import { lastLine, run } from './exec.js';
import type { CheckResult, DoctorCheck } from './types.js';

interface Tool {
  name: string;
  /** Debian package that provides it. */
  pkg: string;
  /** What ft uses it for. */
  use: string;
  /** Needed by a core on-node mechanism (missing = warn), or only when that manager runs the host (missing = skip). */
  optional?: boolean;
  /** argv that prints a version without changing anything. */
  version: string[];
}

const TOOLS: Tool[] = [
  { name: 'ip', pkg: 'iproute2', use: 'netns, null routes', version: ['ip', '-V'] },
  { name: 'iptables', pkg: 'iptables', use: 'kind iptables/ipset', version: ['iptables', '-V'] },
  { name: 'ip6tables', pkg: 'iptables', use: 'IPv6 rules of kind iptables/ipset', version: ['ip6tables', '-V'] },
  { name: 'iptables-restore', pkg: 'iptables', use: 'atomic batches', version: ['iptables-restore', '-V'] },
  { name: 'ipset', pkg: 'ipset', use: 'kind ipset', version: ['ipset', '-v'] },
  { name: 'nft', pkg: 'nftables', use: 'kind nft', version: ['nft', '-v'] },
  { name: 'tc', pkg: 'iproute2', use: 'kind tc', version: ['tc', '-V'] },
  { name: 'xdp-filter', pkg: 'xdp-tools', use: 'kind xdp', version: ['xdp-filter', 'load', '--version'] },
  {
    name: 'bpftool',
    pkg: 'bpftool',
    use: 'kind xdp bulk lists: without it one xdp-filter call per address',
    version: ['bpftool', 'version'],
  },
  { name: 'ufw', pkg: 'ufw', use: 'kind ufw', optional: true, version: ['ufw', 'version'] },
  {
    name: 'firewall-cmd',
    pkg: 'firewalld',
    use: 'kind firewalld',
    optional: true,
    version: ['firewall-cmd', '--version'],
  },
  {
    name: 'csf',
    pkg: 'csf (ConfigServer, not packaged by Debian)',
    use: 'kind csf',
    optional: true,
    version: ['csf', '-v'],
  },
];

const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';

/** Which tools exist, and whether ft runs with the privileges they need. */
export const toolsCheck: DoctorCheck = {
  group: 'host',
  async run() {
    const out: CheckResult[] = [];
    const root = process.getuid?.() === 0;
    out.push(
      root
        ? {
            id: 'host.root',
            status: 'ok',
            summary: 'running as root: on-node actions can change the firewall, routes, qdiscs and XDP',
          }
        : {
            id: 'host.root',
            status: 'warn',
            summary:
              'not running as root: every on-node action needs root (CAP_NET_ADMIN; XDP also CAP_BPF/CAP_SYS_ADMIN)',
            hint: 'run ft as root, or with those capabilities',
          },
    );
    for (const t of TOOLS) {
      const r = await run(t.version);
      if (r.code === null) {
        out.push(
          t.optional
            ? {
                id: `tool.${t.name}`,
                status: 'skip',
                summary: `${t.name} not installed (${t.use}; only needed where it manages the host)`,
              }
            : {
                id: `tool.${t.name}`,
                status: 'warn',
                summary: `${t.name} not installed: ${t.use} unavailable`,
                hint: `apt-get install ${t.pkg}`,
              },
        );
        continue;
      }
      const version = firstLine(r.stdout || r.stderr)
        .replace(/\s+/g, ' ')
        .slice(0, 60);
      out.push({ id: `tool.${t.name}`, status: 'ok', summary: `${t.name}: ${version} (${t.use}; needs root)` });
    }
    const ipt = await run(['iptables', '-V']);
    if (ipt.code === 0 && /legacy/.test(ipt.stdout)) {
      out.push({
        id: 'host.iptables-backend',
        status: 'warn',
        summary:
          'iptables uses the legacy backend: ft works, but its rules and nft table inet ft live in two different engines',
        hint: 'update-alternatives --set iptables /usr/sbin/iptables-nft',
      });
    } else if (ipt.code === 0)
      out.push({ id: 'host.iptables-backend', status: 'ok', summary: 'iptables uses the nf_tables backend' });
    return out;
  },
};

/** bpffs where xdp-tools looks for it; ft's xdp kind mounts its own instance anyway. */
export const bpffsCheck: DoctorCheck = {
  group: 'kernel',
  async run() {
    const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const mounted = info.split('\n').some((l) => l.split(' ')[4] === '/sys/fs/bpf' && / - bpf /.test(l));
    return [
      mounted
        ? { id: 'kernel.bpffs', status: 'ok', summary: 'bpffs is mounted at /sys/fs/bpf' }
        : {
            id: 'kernel.bpffs',
            status: 'ok',
            summary:
              'bpffs is not mounted at /sys/fs/bpf: the xdp kind mounts its own instance under /run/ft/bpffs on first use (and says so)',
          },
    ];
  },
};

/** SYNPROXY (the syn-cookies action) only works when conntrack does not pick up connections mid-stream. */
export const sysctlCheck: DoctorCheck = {
  group: 'kernel',
  async run() {
    const loose = (await readFile('/proc/sys/net/netfilter/nf_conntrack_tcp_loose', 'utf8').catch(() => '')).trim();
    if (loose === '')
      return [
        {
          id: 'kernel.tcp-loose',
          status: 'skip',
          summary: 'nf_conntrack_tcp_loose not readable (conntrack not loaded yet): check it before using syn-cookies',
        },
      ];
    return [
      loose === '0'
        ? {
            id: 'kernel.tcp-loose',
            status: 'ok',
            summary: 'nf_conntrack_tcp_loose=0: syn-cookies (SYNPROXY) rules can work',
          }
        : {
            id: 'kernel.tcp-loose',
            status: 'warn',
            summary:
              'nf_conntrack_tcp_loose=1: syn-cookies (SYNPROXY) rules break handshakes (conntrack takes the client ACK as a new connection instead of handing it to SYNPROXY)',
            hint: 'sysctl -w net.netfilter.nf_conntrack_tcp_loose=0 (ft never changes sysctls itself)',
          },
    ];
  },
};

/** Which firewall manager runs the host, asked the way each documents it (read-only commands). */
export const managersCheck: DoctorCheck = {
  group: 'firewall',
  async run() {
    const out: CheckResult[] = [];
    const ufw = await run(['ufw', 'status']);
    const fw = await run(['firewall-cmd', '--state']);
    const csf = await run(['csf', '-v']);
    const csfChain = csf.code === null ? undefined : await run(['iptables', '-S', 'LOCALINPUT']);
    const active: string[] = [];
    if (ufw.code !== null && /Status: active/.test(ufw.stdout)) active.push('ufw');
    if (fw.code === 0 && /running/.test(fw.stdout)) active.push('firewalld');
    if (csfChain?.code === 0) active.push('csf');
    if (active.length === 0)
      out.push({
        id: 'firewall.manager',
        status: 'ok',
        summary: 'no firewall manager (ufw, firewalld, CSF) is active: use the iptables, ipset or nft kinds directly',
      });
    else if (active.length === 1)
      out.push({
        id: 'firewall.manager',
        status: 'ok',
        summary: `${active[0]} manages this host's firewall: use kind ${active[0]} for deny rules, so a reload of ${active[0]} keeps them`,
      });
    else
      out.push({
        id: 'firewall.manager',
        status: 'warn',
        summary: `several firewall managers are active (${active.join(', ')}): they will fight over the ruleset`,
        hint: 'keep one',
      });
    return out;
  },
};

export { lastLine };
