// systemd units for `ft run`, `ft worker` and the no-root preview mode, derived from the policy: the service gets
// only the capabilities its configured actions need, a read-only view of the system, and one state directory.
// Pure: text in, text out; writing files and running systemctl belong to the command.
import type { ActionInstance, Policy } from '../policy/types.js';

export type Capability = 'CAP_NET_ADMIN' | 'CAP_NET_RAW' | 'CAP_SYS_ADMIN' | 'CAP_BPF' | 'CAP_NET_BIND_SERVICE';

/**
 * What each on-node kind needs. iptables/ipset/ufw/firewalld/csf talk netfilter through netlink and raw sockets
 * (NET_ADMIN + NET_RAW); nft, tc and ip route need NET_ADMIN; xdp loads programs (BPF) and mounts ft's own bpffs
 * (SYS_ADMIN). Anything with a `netns` option enters another namespace, which needs SYS_ADMIN.
 */
const NODE_CAPS: Record<string, Capability[]> = {
  iptables: ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
  ipset: ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
  ufw: ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
  firewalld: ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
  csf: ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
  nft: ['CAP_NET_ADMIN'],
  tc: ['CAP_NET_ADMIN'],
  nullroute: ['CAP_NET_ADMIN'],
  xdp: ['CAP_NET_ADMIN', 'CAP_BPF', 'CAP_SYS_ADMIN'],
};

export interface CapabilityNeed {
  capability: Capability;
  /** Which instances need it, for the comment in the unit. */
  because: string[];
}

/** Capabilities for the instances a process will run; speakers and scrubbers talk over sockets and need none. */
export function capabilitiesFor(instances: ActionInstance[], listenPorts: number[] = []): CapabilityNeed[] {
  const need = new Map<Capability, Set<string>>();
  const add = (c: Capability, why: string) => need.set(c, (need.get(c) ?? new Set()).add(why));
  for (const i of instances) {
    if (i.role !== 'node') continue;
    const caps = NODE_CAPS[i.adapter];
    // An on-node kind we do not know (a plugin): it changes this host, so give it what the firewall kinds get.
    for (const c of caps ?? ['CAP_NET_ADMIN', 'CAP_NET_RAW']) add(c, `${i.name} (${i.adapter})`);
    if (typeof i.options.netns === 'string') add('CAP_SYS_ADMIN', `${i.name} (netns ${i.options.netns})`);
  }
  for (const p of listenPorts) if (p > 0 && p < 1024) add('CAP_NET_BIND_SERVICE', `listener on port ${p}`);
  const order: Capability[] = ['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_BPF', 'CAP_SYS_ADMIN', 'CAP_NET_BIND_SERVICE'];
  return order
    .filter((c) => need.has(c))
    .map((c) => ({ capability: c, because: [...(need.get(c) as Set<string>)].sort() }));
}

export interface UnitOptions {
  /** argv of ft itself: [node, /path/bin/run.js] or [/usr/bin/ft]. */
  ft: string[];
  policyPath: string;
  detectorsPath?: string;
  /** Absolute state directory; /var/lib/ft for the system units (StateDirectory=ft). */
  stateDir: string;
  capabilities: CapabilityNeed[];
  /** Extra environment file (secrets for vendor APIs): EnvironmentFile=-PATH. */
  environmentFile?: string;
  /** Paths the process writes besides its state directory (xdp's bpffs under /run/ft). */
  writablePaths?: string[];
}

const UNSAFE = /[\s"'\\$`;&|<>]/;

/** systemd's ExecStart quoting is its own; we refuse what would need it rather than quote it wrong. */
export function execLine(argv: string[]): string {
  for (const a of argv) {
    if (a.length === 0 || UNSAFE.test(a) || a.includes('%'))
      throw new Error(
        `cannot put ${JSON.stringify(a)} in a unit's ExecStart: spaces, quotes, $, % and shell characters are refused`,
      );
  }
  return argv.join(' ');
}

function hardening(o: {
  caps: CapabilityNeed[];
  stateDir: 'system';
  writable: string[];
  netlink: boolean;
  kernelTunables: boolean;
}): string[] {
  const capList = o.caps.map((c) => c.capability).join(' ');
  return [
    '# Only what the configured actions need (an empty set: no capability at all).',
    ...o.caps.map((c) => `#   ${c.capability}: ${c.because.join(', ')}`),
    `CapabilityBoundingSet=${capList}`,
    // ft runs as root with this bounding set; Ambient keeps them across the exec of iptables/nft/ip.
    `AmbientCapabilities=${capList}`,
    'NoNewPrivileges=yes',
    '# The system is read-only to ft; it writes its state directory only.',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    ...(o.kernelTunables
      ? ['# Left writable: on-node actions may set net.* sysctls (SYN cookies).', 'ProtectKernelTunables=no']
      : ['ProtectKernelTunables=yes']),
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=' + (o.caps.some((c) => c.capability === 'CAP_SYS_ADMIN') ? 'no' : 'yes'),
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    `RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6${o.netlink ? ' AF_NETLINK' : ''}`,
    '# Node.js JIT-compiles: it needs writable+executable memory.',
    'MemoryDenyWriteExecute=no',
    'UMask=0077',
    ...(o.writable.length ? [`ReadWritePaths=${o.writable.join(' ')}`] : []),
  ];
}

/** The `ft run` system unit. */
export function runUnit(o: UnitOptions, policy: Pick<Policy, 'file' | 'tenant' | 'mode'>): string {
  const argv = [
    ...o.ft,
    'run',
    '--policy',
    o.policyPath,
    ...(o.detectorsPath ? ['--detectors', o.detectorsPath] : []),
    '--state-dir',
    o.stateDir,
  ];
  const onNode = o.capabilities.length > 0;
  return [
    '# Written by `ft service install`. Regenerate after changing which actions the policy uses:',
    '# the capabilities below follow them.',
    '[Unit]',
    `Description=ft DDoS mitigation controller (tenant ${policy.tenant}, ${policy.mode})`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${execLine(argv)}`,
    '# On stop ft withdraws what it installed (policy onShutdown); its withdrawals are bounded at 60 s.',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=90s',
    'Restart=on-failure',
    'RestartSec=2s',
    'StateDirectory=ft',
    'StateDirectoryMode=0700',
    ...(o.environmentFile ? [`EnvironmentFile=-${o.environmentFile}`] : []),
    'LimitNOFILE=65536',
    ...hardening({
      caps: o.capabilities,
      stateDir: 'system',
      writable: o.writablePaths ?? [],
      netlink: onNode,
      kernelTunables: onNode,
    }),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The `ft worker --pop NAME` system unit (a template: ft-worker@POP.service). */
export function workerUnit(o: UnitOptions & { redisEnv: string }): string {
  const argv = [...o.ft, 'worker', '--pop', '%i', '--policy', o.policyPath, '--state-dir', `${o.stateDir}/fleet/%i`];
  for (const a of argv) if (a !== '%i' && a !== `${o.stateDir}/fleet/%i`) execLine([a]);
  const onNode = o.capabilities.length > 0;
  return [
    '# Written by `ft service install`. One instance per POP: systemctl enable --now ft-worker@POP.',
    '[Unit]',
    'Description=ft fleet worker for POP %i',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `# FT_REDIS_URL (redis:// or rediss://, password included) comes from ${o.redisEnv}.`,
    `EnvironmentFile=${o.redisEnv}`,
    `ExecStart=${argv.join(' ')}`,
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30s',
    'Restart=on-failure',
    'RestartSec=2s',
    'StateDirectory=ft',
    'StateDirectoryMode=0700',
    'LimitNOFILE=65536',
    ...hardening({
      caps: o.capabilities,
      stateDir: 'system',
      writable: o.writablePaths ?? [],
      netlink: onNode,
      kernelTunables: onNode,
    }),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The no-root preview unit for `systemctl --user`: plans and logs, changes nothing, no capability at all. */
export function previewUserUnit(
  o: Omit<UnitOptions, 'capabilities' | 'stateDir'>,
  policy: Pick<Policy, 'file' | 'tenant' | 'mode'>,
): string {
  if (policy.mode !== 'preview') {
    throw new Error(
      `${policy.file}: mode is ${policy.mode}; the user unit runs without privileges and only in preview mode (set mode: preview, or install the system unit)`,
    );
  }
  // %S is the user's state directory (~/.local/state); StateDirectory=ft makes %S/ft.
  const argv = [...o.ft, 'run', '--policy', o.policyPath, ...(o.detectorsPath ? ['--detectors', o.detectorsPath] : [])];
  return [
    '# Written by `ft service install --user`: ft in preview mode, as you, without privileges.',
    '[Unit]',
    `Description=ft preview (tenant ${policy.tenant}): plans and logs, changes nothing`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${execLine(argv)} --state-dir %S/ft`,
    'Restart=on-failure',
    'RestartSec=5s',
    'StateDirectory=ft',
    '# A user manager cannot drop capabilities it never had nor remount the system; these need no privilege.',
    'NoNewPrivileges=yes',
    'LockPersonality=yes',
    'RestrictRealtime=yes',
    'SystemCallArchitectures=native',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'MemoryDenyWriteExecute=no',
    'UMask=0077',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}
