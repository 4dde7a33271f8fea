import {
  makeRule,
  Prefix,
  type HostFilterAction,
  type HostFilterRule,
  type HostMatch,
  type PluginContext,
  type ShapeRule,
} from '@ft/sdk';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { link, Netns } from '../helpers/net.js';

export const TARGET = '192.0.2.1';
export const BLOCKED = '192.0.2.7';
export const ALLOWED = '192.0.2.8';
export const FOREIGN_SRC = '192.0.2.99';

/**
 * Two namespaces joined by a veth: `fw` is the protected host where ft acts (every action instance gets
 * netns: fw.name), `peer` sends from two addresses, one to be blocked and one that must still get through.
 */
export class HostLab {
  private constructor(
    readonly fw: Netns,
    readonly peer: Netns,
    readonly fwIf: string,
    readonly peerIf: string,
  ) {}

  static create(label: string): HostLab {
    const fw = Netns.create(`${label}-fw`);
    let peer: Netns | undefined;
    try {
      peer = Netns.create(`${label}-pe`);
      const { aIf, bIf } = link(fw, `${TARGET}/24`, peer, `${BLOCKED}/24`);
      peer.exec(['ip', 'addr', 'add', `${ALLOWED}/24`, 'dev', bIf]);
      peer.exec(['ip', 'addr', 'add', `${FOREIGN_SRC}/24`, 'dev', bIf]);
      fw.exec(['ip', 'addr', 'add', `${TARGET6}/64`, 'dev', aIf, 'nodad']);
      for (const a of [BLOCKED6, ALLOWED6]) peer.exec(['ip', 'addr', 'add', `${a}/64`, 'dev', bIf, 'nodad']);
      return new HostLab(fw, peer, aIf, bIf);
    } catch (err) {
      peer?.delete();
      fw.delete();
      throw err;
    }
  }

  /** True when `from` gets echo replies from the target: 2 probes, 1 s each at most. */
  reaches(from: string, to = from.includes(':') ? TARGET6 : TARGET): boolean {
    return (
      this.peer.exec(
        ['ping', from.includes(':') ? '-6' : '-4', '-n', '-q', '-c', '2', '-i', '0.2', '-W', '1', '-I', from, to],
        { allowFail: true, timeoutMs: 10_000 },
      ).status === 0
    );
  }

  /** Rules someone else wrote, that ft must leave alone. */
  installForeign(): void {
    const x = (argv: string[]) => this.fw.exec(argv);
    x(['iptables', '-A', 'INPUT', '-s', FOREIGN_SRC, '-m', 'comment', '--comment', 'operator rule', '-j', 'DROP']);
    x(['nft', 'add', 'table', 'inet', 'operator']);
    x(['nft', 'add', 'chain', 'inet', 'operator', 'in', '{ type filter hook input priority 0; policy accept; }']);
    x(['nft', 'add', 'rule', 'inet', 'operator', 'in', 'ip', 'saddr', '198.51.100.1', 'counter', 'drop']);
    x(['ipset', 'create', 'operator-set', 'hash:ip']);
    x(['ipset', 'add', 'operator-set', '198.51.100.2']);
    x(['ip', 'route', 'add', 'blackhole', '198.51.100.3/32']);
  }

  /** Everything a mechanism could have changed, in text, counters and generated-by lines stripped. */
  snapshot(): string {
    const x = (argv: string[]) => this.fw.exec(argv, { allowFail: true }).stdout;
    const strip = (s: string) =>
      s
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
        .join('\n');
    // Link-local IPv6 routes appear whenever the kernel gets round to it: not ours, not stable, left out.
    const noLinkLocal = (t: string) =>
      t
        .split('\n')
        .filter((l) => !l.includes('fe80'))
        .join('\n');
    return [
      // Exactly as the tools print it: an empty table ft's iptables-nft use left behind is a difference too.
      strip(x(['iptables-save'])),
      strip(x(['ip6tables-save'])),
      x(['nft', 'list', 'ruleset']).replace(/packets \d+ bytes \d+/g, ''),
      x(['ipset', 'list', '-t']),
      noLinkLocal(x(['ip', 'route', 'show', 'table', 'all'])),
      noLinkLocal(x(['ip', '-6', 'route', 'show', 'table', 'all'])),
      x(['tc', 'qdisc', 'show']),
      x(['tc', 'class', 'show', 'dev', this.fwIf]),
      x(['ip', '-d', 'link', 'show', this.fwIf]),
    ].join('\n----\n');
  }

  delete(): void {
    this.peer.delete();
    this.fw.delete();
  }
}

export function hostRule(
  match: Omit<Partial<HostMatch>, 'sources' | 'destination'> & { sources?: string[] },
  action: HostFilterAction = { type: 'drop' },
  destination = TARGET,
): HostFilterRule {
  const full: HostMatch = { destination: Prefix.parse(destination) };
  if (match.sources) full.sources = match.sources.map((s) => Prefix.parse(s));
  if (match.protocol) full.protocol = match.protocol;
  if (match.sourcePorts) full.sourcePorts = match.sourcePorts;
  if (match.destinationPorts) full.destinationPorts = match.destinationPorts;
  if (match.tcpFlags) full.tcpFlags = match.tcpFlags;
  return makeRule<HostFilterRule>({
    kind: 'host-filter',
    tenant: 't1',
    target: Prefix.parse(destination),
    match: full,
    action,
    level: 0,
    ttlSeconds: 300,
  });
}

export function shapeRule(
  match: Omit<Partial<HostMatch>, 'sources' | 'destination'> & { sources?: string[] },
  bitsPerSecond: number,
  destination = TARGET,
): ShapeRule {
  const full: HostMatch = { destination: Prefix.parse(destination) };
  if (match.sources) full.sources = match.sources.map((s) => Prefix.parse(s));
  if (match.protocol) full.protocol = match.protocol;
  if (match.sourcePorts) full.sourcePorts = match.sourcePorts;
  if (match.destinationPorts) full.destinationPorts = match.destinationPorts;
  return makeRule<ShapeRule>({
    kind: 'shape',
    tenant: 't1',
    target: Prefix.parse(destination),
    match: full,
    bitsPerSecond,
    level: 0,
    ttlSeconds: 300,
  });
}

export const TARGET6 = '2001:db8:1::1';
export const BLOCKED6 = '2001:db8:1::7';
export const ALLOWED6 = '2001:db8:1::8';

/** `n` distinct IPv6 hosts in 2001:db8:ff00::/40 (IPv4 documentation space holds only 768 addresses). */
export function manySources(n: number): string[] {
  const out: string[] = [];
  // Every third address, so no two are adjacent and nft's auto-merge keeps them as n separate elements.
  for (let i = 0; i < n; i++)
    out.push(`2001:db8:ff${(i >> 14).toString(16).padStart(2, '0')}::${((i & 0x3fff) * 3 + 1).toString(16)}`);
  return out;
}

const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

export function ctx(name = 'test'): PluginContext {
  return {
    name,
    logger: silent,
    stateDir: mkdtempSync(join(tmpdir(), 'ft-host-state-')),
    secret: () => {
      throw new Error('no secrets in host tests');
    },
    signal: new AbortController().signal,
  };
}
