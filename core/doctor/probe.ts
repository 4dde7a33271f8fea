import { randomBytes } from 'node:crypto';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastLine, run } from './exec.js';
import type { CheckResult, DoctorCheck } from './types.js';

interface Probe {
  id: string;
  what: string;
  /** argv + stdin, run inside the probe namespace; all must succeed. */
  steps: { argv: string[]; input?: string }[];
  hint?: string;
}

const IF_A = 'ftdoc0';
const IF_B = 'ftdoc1';

/**
 * Kernel features each mechanism needs, tried for real but inside a network namespace created for the probe and
 * deleted afterwards: nothing on the host's own firewall, routes or interfaces changes.
 */
const PROBES: Probe[] = [
  {
    id: 'kernel.nft',
    what: 'nftables (table, chain, counter, drop)',
    steps: [
      {
        argv: ['nft', '-f', '-'],
        input:
          'table inet ftp {\n chain c {\n  type filter hook input priority -10; policy accept;\n  counter drop\n }\n}\n',
      },
    ],
    hint: 'kernel needs CONFIG_NF_TABLES, CONFIG_NF_TABLES_INET',
  },
  {
    id: 'kernel.nft-sets',
    what: 'nftables interval sets',
    steps: [
      {
        argv: ['nft', '-f', '-'],
        input:
          'table inet fts {\n set s { type ipv4_addr; flags interval; elements = { 192.0.2.0/24 }; }\n chain c {\n  ip saddr @s drop\n }\n}\n',
      },
    ],
  },
  {
    id: 'kernel.nft-meters',
    what: 'nftables per-source meters (hashlimit)',
    steps: [
      {
        argv: ['nft', '-f', '-'],
        input:
          'table inet ftm {\n set m { type ipv4_addr; flags dynamic; timeout 60s; }\n chain c {\n  update @m { ip saddr limit rate over 10/second } drop\n }\n}\n',
      },
    ],
  },
  {
    id: 'kernel.nft-connlimit',
    what: 'nftables ct count (connlimit)',
    steps: [
      {
        argv: ['nft', '-f', '-'],
        input:
          'table inet ftc {\n set c { type ipv4_addr; flags dynamic; }\n chain x {\n  meta l4proto tcp add @c { ip saddr ct count over 10 } reject with tcp reset\n }\n}\n',
      },
    ],
    hint: 'kernel needs CONFIG_NFT_CONNLIMIT',
  },
  {
    id: 'kernel.nft-synproxy',
    what: 'nftables synproxy (SYN cookies)',
    steps: [
      {
        argv: ['nft', '-f', '-'],
        input:
          'table inet ftsp {\n chain c {\n  type filter hook input priority 0; policy accept;\n  tcp dport 80 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm\n }\n}\n',
      },
    ],
    hint: 'kernel needs CONFIG_NFT_SYNPROXY',
  },
  {
    id: 'kernel.iptables',
    what: 'iptables (own chain, comment, multiport, DROP)',
    steps: [
      {
        argv: ['iptables-restore', '--noflush'],
        input:
          '*filter\n:FT-P - [0:0]\n-A FT-P -p udp -m multiport --sports 53,123 -m comment --comment ft:probe -j DROP\nCOMMIT\n',
      },
    ],
  },
  {
    id: 'kernel.iptables-hashlimit',
    what: 'iptables hashlimit',
    steps: [
      {
        argv: ['iptables-restore', '--noflush'],
        input:
          '*filter\n:FT-H - [0:0]\n-A FT-H -m hashlimit --hashlimit-above 10/sec --hashlimit-mode srcip --hashlimit-name ftprobe -j DROP\nCOMMIT\n',
      },
    ],
    hint: 'kernel needs CONFIG_NETFILTER_XT_MATCH_HASHLIMIT',
  },
  {
    id: 'kernel.iptables-connlimit',
    what: 'iptables connlimit',
    steps: [
      {
        argv: ['iptables-restore', '--noflush'],
        input:
          '*filter\n:FT-C - [0:0]\n-A FT-C -p tcp --syn -m connlimit --connlimit-above 10 -j REJECT --reject-with tcp-reset\nCOMMIT\n',
      },
    ],
    hint: 'kernel needs CONFIG_NETFILTER_XT_MATCH_CONNLIMIT',
  },
  {
    id: 'kernel.iptables-synproxy',
    what: 'iptables SYNPROXY (SYN cookies)',
    steps: [
      {
        argv: ['iptables-restore', '--noflush'],
        input:
          '*raw\n:FT-R - [0:0]\n-A FT-R -p tcp --syn -j CT --notrack\nCOMMIT\n*filter\n:FT-S - [0:0]\n-A FT-S -p tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460\nCOMMIT\n',
      },
    ],
    hint: 'kernel needs CONFIG_IP_NF_TARGET_SYNPROXY, CONFIG_NETFILTER_XT_TARGET_CT',
  },
  {
    id: 'kernel.ipset',
    what: 'ipset hash:net sets matched from iptables',
    steps: [
      { argv: ['ipset', 'restore'], input: 'create ftprobe hash:net family inet\nadd ftprobe 192.0.2.0/24\n' },
      {
        argv: ['iptables-restore', '--noflush'],
        input: '*filter\n:FT-I - [0:0]\n-A FT-I -m set --match-set ftprobe src -j DROP\nCOMMIT\n',
      },
    ],
    hint: 'kernel needs CONFIG_IP_SET_HASH_NET, CONFIG_NETFILTER_XT_SET',
  },
  {
    id: 'kernel.tc',
    what: 'tc HTB shaping with u32 filters',
    steps: [
      {
        argv: ['tc', '-batch', '-'],
        input: `qdisc add dev ${IF_A} root handle f7: htb default 0\nclass add dev ${IF_A} parent f7: classid f7:1 htb rate 1mbit\nfilter add dev ${IF_A} parent f7: protocol ip prio 1 u32 match ip dst 192.0.2.1/32 flowid f7:1\n`,
      },
    ],
    hint: 'kernel needs CONFIG_NET_SCH_HTB, CONFIG_NET_CLS_U32',
  },
  {
    id: 'kernel.nullroute',
    what: 'blackhole routes (proto 247)',
    steps: [{ argv: ['ip', 'route', 'add', 'blackhole', '192.0.2.1/32', 'proto', '247'] }],
  },
];

export interface ProbeNamespace {
  name: string;
  exec(argv: string[], input?: string, env?: Record<string, string>): ReturnType<typeof run>;
}

async function withNamespace<T>(work: (ns: ProbeNamespace) => Promise<T>): Promise<T> {
  const name = `ft-doctor-${randomBytes(3).toString('hex')}`;
  const add = await run(['ip', 'netns', 'add', name]);
  if (add.code !== 0) throw new Error(`cannot create a probe network namespace: ${lastLine(add)}`);
  try {
    const ns: ProbeNamespace = {
      name,
      exec: (argv, input, env) =>
        run(['ip', 'netns', 'exec', name, ...argv], {
          ...(input !== undefined ? { input } : {}),
          ...(env ? { env } : {}),
        }),
    };
    await ns.exec(['ip', 'link', 'add', IF_A, 'type', 'veth', 'peer', 'name', IF_B]);
    await ns.exec(['ip', 'link', 'set', IF_A, 'up']);
    await ns.exec(['ip', 'link', 'set', IF_B, 'up']);
    return await work(ns);
  } finally {
    await run(['ip', 'netns', 'delete', name]);
  }
}

/**
 * XDP: xdp-filter needs bpffs (a private instance is mounted for the probe and unmounted after), the bpf()
 * syscall, and driver (native) or generic (skb) XDP on the interface.
 */
async function probeXdp(ns: ProbeNamespace): Promise<CheckResult> {
  const dir = await mkdtemp(join(tmpdir(), 'ft-doctor-bpffs-'));
  const mount = await run(['mount', '-t', 'bpf', 'ft-doctor-bpffs', dir]);
  if (mount.code !== 0) {
    await rmdir(dir).catch(() => undefined);
    return {
      id: 'kernel.xdp',
      status: 'fail',
      summary: `XDP: cannot mount bpffs (${lastLine(mount)})`,
      hint: 'kernel needs CONFIG_BPF_SYSCALL; in a container, mounting bpffs needs CAP_SYS_ADMIN',
    };
  }
  try {
    const env = { LIBXDP_BPFFS: dir };
    const failures: string[] = [];
    for (const mode of ['native', 'skb']) {
      const r = await ns.exec(['xdp-filter', 'load', '--mode', mode, IF_A], undefined, env);
      if (r.code === null)
        return {
          id: 'kernel.xdp',
          status: 'warn',
          summary: 'XDP: xdp-filter is not installed',
          hint: 'apt-get install xdp-tools',
        };
      if (r.code === 0) {
        await ns.exec(['xdp-filter', 'unload', IF_A], undefined, env);
        return mode === 'native'
          ? { id: 'kernel.xdp', status: 'ok', summary: 'XDP: xdp-filter loads in native (driver) mode on a veth' }
          : {
              id: 'kernel.xdp',
              status: 'warn',
              summary: `XDP: only generic (skb) mode works (native: ${failures[0]})`,
              hint: 'XDP still drops, but after the kernel allocated the packet: slower than native',
            };
      }
      failures.push(lastLine(r));
    }
    return {
      id: 'kernel.xdp',
      status: 'fail',
      summary: `XDP: xdp-filter cannot load (native: ${failures[0]}; skb: ${failures[1]})`,
      hint: 'the kernel needs CONFIG_BPF_SYSCALL and unprivileged-BPF limits do not apply to root; dmesg names a verifier or lockdown refusal',
    };
  } finally {
    await run(['umount', dir]);
    await rmdir(dir).catch(() => undefined);
  }
}

export const kernelProbeCheck: DoctorCheck = {
  group: 'kernel',
  async run(options) {
    if (!options.probe)
      return [{ id: 'kernel.probe', status: 'skip', summary: 'kernel feature probes skipped (--no-probe)' }];
    if (process.getuid?.() !== 0)
      return [
        {
          id: 'kernel.probe',
          status: 'skip',
          summary: 'kernel feature probes need root (they run in a throwaway network namespace)',
        },
      ];
    try {
      return await withNamespace(async (ns) => {
        const out: CheckResult[] = [];
        for (const p of PROBES) {
          let failed: string | undefined;
          let missing = false;
          for (const s of p.steps) {
            const r = await ns.exec(s.argv, s.input);
            // ip netns exec reports a missing binary as "exec of ... failed".
            if (r.code === null || (r.code !== 0 && /exec of "[^"]+" failed/.test(r.stderr))) missing = true;
            if (r.code !== 0) {
              failed = lastLine(r);
              break;
            }
          }
          if (missing) out.push({ id: p.id, status: 'skip', summary: `${p.what}: tool missing, not probed` });
          else if (failed)
            out.push({
              id: p.id,
              status: 'fail',
              summary: `${p.what}: not available (${failed})`,
              ...(p.hint ? { hint: p.hint } : {}),
            });
          else out.push({ id: p.id, status: 'ok', summary: `${p.what}: works` });
        }
        out.push(await probeXdp(ns));
        return out;
      });
    } catch (err) {
      return [
        {
          id: 'kernel.probe',
          status: 'fail',
          summary: `kernel feature probes could not run: ${(err as Error).message}`,
        },
      ];
    }
  },
};
