import {
  defineAction,
  type Action,
  type Applied,
  type Health,
  type InstalledRef,
  type RenderedCommand,
  type Rule,
  type RuleCounters,
  type RuleId,
} from '@ft/sdk';
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { z } from 'zod';
import { HostRuleError } from '../common/errors.js';
import { HostExec } from '../common/exec.js';
import { argvCommand } from '../common/render.js';
import { interfaceOption, netnsOption } from '../common/schema.js';
import { serialize } from '../common/lock.js';
import { OwnerFile } from '../common/state.js';
import { checkFilterAction, checkMatch, checkPrefix, checkRuleId, expectKind } from '../common/validate.js';
import { parseStatus, type XdpStatus } from './status.js';

/** Source name of the bpffs instances ft mounts: how ft recognises (and only ever unmounts) its own. */
export const FT_BPFFS_SOURCE = 'ft-bpffs';

export const xdpConfig = z.strictObject({
  interface: interfaceOption,
  /** auto: native (driver) mode, falling back to skb (generic) mode when the driver has no XDP support. */
  mode: z.enum(['auto', 'native', 'skb']).default('auto'),
  /**
   * ft's own bpffs instance, so xdp-filter's pinned program and maps are ft's alone (never shared with an
   * operator's xdp-filter under /sys/fs/bpf). Default /run/ft/bpffs/<netns or "host">.
   */
  bpffs: z
    .string()
    .regex(/^\/[A-Za-z0-9_./-]+$/)
    .refine((p) => !p.split('/').includes('..'), 'may not contain ..')
    .optional(),
  netns: netnsOption,
  /** Entries per rule; xdp-filter's maps hold 10,000 addresses per family in all (beyond that: ipset or nft). */
  maxEntries: z.number().int().min(1).max(65_536).default(10_000),
});
export type XdpConfig = z.infer<typeof xdpConfig>;

/** A rule as xdp-filter objects: xdp-filter matches one field per entry, never a combination. */
export function xdpObjects(kind: string, rule: Rule, maxEntries: number): { id: RuleId; objects: string[] } {
  const r = expectKind(kind, rule, ['host-filter']);
  const id = checkRuleId(kind, r.id);
  const spec = checkMatch(kind, id, r.match, { maxSources: maxEntries });
  const action = checkFilterAction(kind, r.action);
  if (action.type !== 'drop')
    throw new HostRuleError(kind, 'action.type', `xdp-filter drops; ${action.type} needs iptables or nft`);
  if (spec.tcpFlags) throw new HostRuleError(kind, 'match.tcpFlags', 'xdp-filter does not match TCP flags; use nft');
  const ports = spec.sourcePorts.length + spec.destinationPorts.length > 0;
  if (spec.sources.length && (ports || spec.protocol)) {
    throw new HostRuleError(
      kind,
      'match',
      'xdp-filter drops by one field per entry (source address, destination address or port), never a combination: use nft for sources with ports or protocol',
    );
  }
  if (spec.sourcePorts.length && spec.destinationPorts.length)
    throw new HostRuleError(kind, 'match', 'xdp-filter matches source ports or destination ports, not both at once');
  if (spec.sources.length) {
    return {
      id,
      objects: spec.sources.map((s, i) => {
        if (!s.isHost)
          throw new HostRuleError(
            kind,
            `match.sources[${i}]`,
            `xdp-filter matches exact addresses; ${s.toString()} is a prefix (use nft or ipset)`,
          );
        return `ip ${s.address} src`;
      }),
    };
  }
  if (ports) {
    if (spec.protocol !== 'tcp' && spec.protocol !== 'udp')
      throw new HostRuleError(kind, 'match.protocol', 'ports need tcp or udp');
    const dir = spec.sourcePorts.length ? 'src' : 'dst';
    const objects: string[] = [];
    for (const r2 of spec.sourcePorts.length ? spec.sourcePorts : spec.destinationPorts) {
      for (let p = r2.min; p <= r2.max; p++) objects.push(`port ${p} ${dir} ${spec.protocol}`);
    }
    if (objects.length > maxEntries)
      throw new HostRuleError(kind, 'match', `${objects.length} ports exceed maxEntries ${maxEntries}`);
    return { id, objects };
  }
  if (spec.protocol)
    throw new HostRuleError(kind, 'match.protocol', 'xdp-filter cannot drop a whole protocol to one address; use nft');
  if (!spec.destination.isHost)
    throw new HostRuleError(kind, 'match.destination', 'xdp-filter matches exact addresses');
  return { id, objects: [`ip ${spec.destination.address} dst`] };
}

/** argv for one object: "ip 192.0.2.7 src" → xdp-filter ip 192.0.2.7 --mode src. */
export function objectArgv(object: string, remove: boolean): string[] {
  const [what, key, dir, proto] = object.split(' ') as [string, string, string, string | undefined];
  const argv = ['xdp-filter', what, ...(remove ? ['--remove'] : []), key, '--mode', dir];
  if (what === 'port' && proto) argv.push('--proto', proto);
  return argv;
}

const FLAG = { src: 1, dst: 2 } as const;

/** max_entries of xdp-filter's filter_ipv4 and filter_ipv6 maps (xdp-tools 1.3, read with bpftool map show). */
export const XDP_FILTER_MAP_CAPACITY = 10_000;

/** The pinned-map key of an address object, as bpftool hex bytes (network order, as xdp-filter stores it). */
function addressKey(object: string): { map: string; key: string; address: string; flag: number } | undefined {
  const m = /^ip (\S+) (src|dst)$/.exec(object);
  if (!m) return undefined;
  const p = checkPrefix('xdp', 'object', m[1]);
  const key = Array.from(p.bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  return {
    map: p.family === 4 ? 'filter_ipv4' : 'filter_ipv6',
    key,
    address: p.address,
    flag: FLAG[m[2] as 'src' | 'dst'],
  };
}

/** A u64 map value with only the mode flags set (xdp-filter keeps its hit counter above bit 6), little-endian. */
const flagValue = (flags: number) => [flags, 0, 0, 0, 0, 0, 0, 0].map((b) => b.toString(16).padStart(2, '0')).join(' ');

/**
 * One xdp-filter call after another: xdp-filter takes an exclusive lock file in its bpffs directory and a second
 * concurrent call fails at once ("Unable to read PID from lockfile"), so there is no parallel path and no batch.
 */
async function eachInTurn<T>(items: T[], work: (t: T) => Promise<void>): Promise<void> {
  for (const item of items) await work(item);
}

async function mountsOf(path: string): Promise<{ fstype: string; source: string } | undefined> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    if (pre.split(' ')[4] !== path) continue;
    const [fstype, source] = post.split(' ');
    return { fstype: fstype ?? '', source: source ?? '' };
  }
  return undefined;
}

class XdpAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  private readonly exec: HostExec;
  private readonly host = new HostExec();
  private readonly owners: OwnerFile;
  private readonly bpffs: string;
  private readonly env: Record<string, string>;

  constructor(
    private readonly config: XdpConfig,
    stateDir: string,
    private readonly logger: { warn(o: object, m: string): void },
  ) {
    this.exec = new HostExec(config.netns);
    this.owners = new OwnerFile(stateDir, `xdp-${config.interface}`);
    this.bpffs = config.bpffs ?? `/run/ft/bpffs/${config.netns ?? 'host'}`;
    this.env = { LIBXDP_BPFFS: this.bpffs };
  }

  render(rule: Rule): RenderedCommand[] {
    const { objects } = xdpObjects('xdp', rule, this.config.maxEntries);
    const pre = [
      argvCommand('xdp', this.host, ['mount', '-t', 'bpf', FT_BPFFS_SOURCE, this.bpffs]),
      argvCommand('xdp', this.exec, [
        'xdp-filter',
        'load',
        '--mode',
        this.config.mode === 'skb' ? 'skb' : 'native',
        this.config.interface,
      ]),
    ];
    for (const c of pre) c.text = `${c.text}    # only when not done yet`;
    // On a fresh interface every address is new: one bpftool batch writes them all; ports go through xdp-filter.
    const bulk = new Map<string, { map: string; key: string; flags: number }>();
    for (const o of objects) {
      const k = addressKey(o);
      if (!k) continue;
      const b = bulk.get(k.address) ?? { map: k.map, key: k.key, flags: 0 };
      b.flags |= k.flag;
      bulk.set(k.address, b);
    }
    const cmds = objects.filter((o) => !addressKey(o)).map((o) => argvCommand('xdp', this.exec, objectArgv(o, false)));
    if (bulk.size) {
      const dir = `${this.bpffs}/xdp-filter`;
      const lines = [...bulk.values()].map(
        (b) => `map update pinned ${dir}/${b.map} key hex ${b.key} value hex ${flagValue(b.flags)} noexist`,
      );
      cmds.unshift(argvCommand('xdp', this.exec, ['bpftool', 'batch', 'file', '-'], `${lines.join('\n')}\n`));
    }
    for (const c of [...pre.slice(1), ...cmds])
      if (c.argv?.includes('xdp-filter')) c.text = `LIBXDP_BPFFS=${this.bpffs} ${c.text}`;
    return [...pre, ...cmds];
  }

  private async status(): Promise<XdpStatus> {
    const r = await this.exec.run(['xdp-filter', 'status'], { env: this.env, allowFail: true });
    // Not loaded anywhere (no pinned maps yet): an empty status, not an error.
    if (r.code !== 0) return { loaded: new Map(), entries: [] };
    return parseStatus(r.stdout);
  }

  /** Mounts ft's bpffs instance when missing (and says so). */
  private async ensureBpffs(): Promise<string | undefined> {
    const m = await mountsOf(this.bpffs);
    if (m?.fstype === 'bpf') return undefined;
    if (m) throw new HostRuleError('xdp', 'bpffs', `${this.bpffs} is a ${m.fstype} mount, not bpffs`);
    await mkdir(this.bpffs, { recursive: true });
    await this.host.run(['mount', '-t', 'bpf', FT_BPFFS_SOURCE, this.bpffs]);
    const note = `bpffs was not mounted at ${this.bpffs}: ft mounted its own instance there`;
    this.logger.warn({ bpffs: this.bpffs }, note);
    return note;
  }

  private async ensureLoaded(status: XdpStatus): Promise<string> {
    const have = status.loaded.get(this.config.interface);
    if (have) return have;
    const modes = this.config.mode === 'auto' ? ['native', 'skb'] : [this.config.mode];
    const failures: string[] = [];
    for (const mode of modes) {
      const r = await this.exec.run(['xdp-filter', 'load', '--mode', mode, this.config.interface], {
        env: this.env,
        allowFail: true,
      });
      if (r.code === 0) return mode;
      failures.push(`${mode}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`);
    }
    const link = await this.exec.run(['ip', '-d', 'link', 'show', 'dev', this.config.interface], { allowFail: true });
    const foreign = /prog\/xdp id (\d+) name (\S+)/.exec(link.stdout);
    const why = foreign
      ? `; ${this.config.interface} already runs an XDP program ft did not load (id ${foreign[1]}, ${foreign[2]}), which ft leaves alone`
      : '';
    throw new HostRuleError(
      'xdp',
      'interface',
      `xdp-filter could not load on ${this.config.interface} (${failures.join('; ')})${why}`,
    );
  }

  async apply(rule: Rule): Promise<Applied> {
    const prepared = xdpObjects('xdp', rule, this.config.maxEntries);
    return serialize(`xdp:${this.bpffs}`, () => this.applyNow(prepared));
  }

  private async applyNow({ id, objects }: { id: RuleId; objects: string[] }): Promise<Applied> {
    const mounted = await this.ensureBpffs();
    const mode = await this.ensureLoaded(await this.status());
    await this.owners.set(id, objects);
    const before = await this.status();
    const missing = objects.filter((o) => !before.entries.some((e) => e.object === o));
    try {
      await this.change(missing, before, 'add');
    } catch (err) {
      // Nothing half-applied: take back what this call added, and forget the rule.
      const had = new Set(before.entries.map((e) => e.object));
      const now = await this.status();
      await this.change(
        missing.filter((o) => !had.has(o) && now.entries.some((e) => e.object === o)),
        now,
        'remove',
      ).catch(() => undefined);
      await this.owners.remove(id);
      await this.unloadIfIdle().catch(() => undefined);
      throw err;
    }
    return {
      ruleId: id,
      state: 'installed',
      nativeId: `xdp-filter ${this.config.interface} rule ${id}`,
      detail: [`${objects.length} entries, ${mode} mode`, mounted].filter(Boolean).join('; '),
    };
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    if ('kind' in target) xdpObjects('xdp', target, this.config.maxEntries);
    return serialize(`xdp:${this.bpffs}`, () => this.withdrawNow(target));
  }

  private async withdrawNow(target: Rule | InstalledRef): Promise<void> {
    const owners = await this.owners.read();
    let id: string | undefined;
    let objects: string[];
    if ('kind' in target) {
      const x = xdpObjects('xdp', target, this.config.maxEntries);
      id = x.id;
      objects = x.objects;
    } else {
      const prefix = `xdp-filter ${this.config.interface} `;
      if (!target.nativeId.startsWith(prefix))
        throw new HostRuleError(
          'xdp',
          'nativeId',
          `${JSON.stringify(target.nativeId)} is not on ${this.config.interface}`,
        );
      const rest = target.nativeId.slice(prefix.length);
      if (rest.startsWith('rule ')) {
        id = checkRuleId('xdp', rest.slice(5));
        objects = owners[id] ?? [];
      } else if (rest === 'program') objects = [];
      else if (/^(ip \S+ (src|dst)|port \d+ (src|dst) (tcp|udp))$/.test(rest)) objects = [rest];
      else throw new HostRuleError('xdp', 'nativeId', `${JSON.stringify(target.nativeId)} is not an xdp-filter object`);
    }
    const others = new Set(
      Object.entries(owners)
        .filter(([k]) => k !== id)
        .flatMap(([, v]) => v),
    );
    const status = await this.status();
    const present = new Set(status.entries.map((e) => e.object));
    await this.change(
      objects.filter((o) => present.has(o) && !others.has(o)),
      status,
      'remove',
    );
    if (id) await this.owners.remove(id);
    await this.unloadIfIdle();
  }

  /**
   * Adds or removes entries. xdp-filter has no batch command, so addresses whose key is new (add) or whose every
   * mode goes (remove) are written straight into xdp-filter's pinned maps in one `bpftool batch` call; the rest
   * (ports, an address gaining or losing one of two modes) goes through xdp-filter itself, one call at a time.
   * Without bpftool everything takes the slow path.
   */
  private async change(objects: string[], status: XdpStatus, how: 'add' | 'remove'): Promise<void> {
    const modes = new Map<string, Set<string>>();
    for (const e of status.entries) {
      const k = addressKey(e.object);
      if (k) modes.set(k.address, (modes.get(k.address) ?? new Set()).add(e.object));
    }
    const bulk = new Map<string, { map: string; key: string; flags: number }>();
    const slow: string[] = [];
    for (const o of objects) {
      const k = addressKey(o);
      const existing = k ? modes.get(k.address) : undefined;
      if (!k) slow.push(o);
      else if (how === 'add' && !existing) {
        const b = bulk.get(k.address) ?? { map: k.map, key: k.key, flags: 0 };
        b.flags |= k.flag;
        bulk.set(k.address, b);
      } else if (how === 'remove' && existing && [...existing].every((x) => objects.includes(x)))
        bulk.set(k.address, { map: k.map, key: k.key, flags: 0 });
      else slow.push(o);
    }
    if (how === 'add') {
      // xdp-filter's address maps are fixed-size hashes: refuse up front rather than fill them half-way.
      for (const map of ['filter_ipv4', 'filter_ipv6']) {
        const used = [...modes.keys()].filter((a) => (a.includes(':') ? 'filter_ipv6' : 'filter_ipv4') === map).length;
        const adding = [...bulk.values()].filter((b) => b.map === map).length;
        if (used + adding > XDP_FILTER_MAP_CAPACITY) {
          throw new HostRuleError(
            'xdp',
            'match.sources',
            `xdp-filter's ${map === 'filter_ipv4' ? 'IPv4' : 'IPv6'} map holds ${XDP_FILTER_MAP_CAPACITY} addresses: ${used} are in use and this rule adds ${adding} (use ipset or nft for longer lists)`,
          );
        }
      }
    }
    if (bulk.size > 0) {
      const dir = `${this.bpffs}/xdp-filter`;
      const lines = [...bulk.values()].map((b) =>
        how === 'add'
          ? `map update pinned ${dir}/${b.map} key hex ${b.key} value hex ${flagValue(b.flags)} noexist`
          : `map delete pinned ${dir}/${b.map} key hex ${b.key}`,
      );
      const r = await this.exec.run(['bpftool', 'batch', 'file', '-'], {
        input: `${lines.join('\n')}\n`,
        allowFail: true,
      });
      if (r.code === null) slow.push(...objects.filter((o) => addressKey(o) && !slow.includes(o)));
      else if (r.code !== 0)
        throw new HostRuleError(
          'xdp',
          'bpftool',
          `writing ${bulk.size} entries into xdp-filter's maps failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`,
        );
    }
    await eachInTurn(slow, async (o) => void (await this.exec.run(objectArgv(o, how === 'remove'), { env: this.env })));
  }

  /** No rule left: unload the program, then unmount ft's bpffs instance (never anyone else's). */
  private async unloadIfIdle(): Promise<void> {
    if (Object.keys(await this.owners.read()).length) return;
    const status = await this.status();
    if (status.entries.length) return;
    if (status.loaded.has(this.config.interface))
      await this.exec.run(['xdp-filter', 'unload', this.config.interface], { env: this.env });
    const m = await mountsOf(this.bpffs);
    if (m?.fstype === 'bpf' && m.source === FT_BPFFS_SOURCE && (await this.status()).loaded.size === 0) {
      await this.host.run(['umount', this.bpffs]);
      await rmdir(this.bpffs).catch(() => undefined);
    }
  }

  async list(): Promise<InstalledRef[]> {
    if ((await mountsOf(this.bpffs))?.fstype !== 'bpf') return [];
    const owners = await this.owners.read();
    const status = await this.status();
    const refs: InstalledRef[] = [];
    const byOwner = new Map<string, string[]>();
    for (const e of status.entries) {
      const owner = OwnerFile.ownerOf(owners, e.object);
      if (owner) byOwner.set(owner, [...(byOwner.get(owner) ?? []), e.object]);
      else
        refs.push({
          nativeId: `xdp-filter ${this.config.interface} ${e.object}`,
          description: `xdp-filter entry ${e.object} (no rule recorded)`,
        });
    }
    for (const [owner, objs] of byOwner)
      refs.push({
        ruleId: owner as RuleId,
        nativeId: `xdp-filter ${this.config.interface} rule ${owner}`,
        description: `xdp-filter ${objs.length} entries on ${this.config.interface}`,
      });
    if (refs.length === 0 && status.loaded.has(this.config.interface))
      refs.push({
        nativeId: `xdp-filter ${this.config.interface} program`,
        description: `xdp-filter loaded on ${this.config.interface} with no entries`,
      });
    return refs;
  }

  async counters(): Promise<RuleCounters[]> {
    const owners = await this.owners.read();
    const hits = new Map((await this.status()).entries.map((e) => [e.object, e.hits]));
    return Object.entries(owners).map(([ruleId, objs]) => ({
      ruleId: ruleId as RuleId,
      // xdp-filter counts hits per address/port; bytes are not counted by it.
      packets: [...new Set(objs)].reduce((n, o) => n + (hits.get(o) ?? 0), 0),
      bytes: 0,
    }));
  }

  async health(): Promise<Health> {
    const tool = await this.exec.run(['xdp-filter', 'help'], { allowFail: true });
    if (tool.code === null) return { status: 'down', detail: 'xdp-filter is not installed (Debian package xdp-tools)' };
    const m = await mountsOf(this.bpffs);
    if (!m)
      return {
        status: 'ok',
        detail: `bpffs not mounted at ${this.bpffs} yet: ft mounts its own instance on the first apply`,
      };
    if (m.fstype !== 'bpf') return { status: 'down', detail: `${this.bpffs} is a ${m.fstype} mount, not bpffs` };
    const mode = (await this.status()).loaded.get(this.config.interface);
    return {
      status: 'ok',
      detail: mode
        ? `xdp-filter loaded on ${this.config.interface} in ${mode} mode`
        : `xdp-filter not loaded on ${this.config.interface} yet`,
    };
  }
}

export const xdpFactory = defineAction({
  kind: 'xdp',
  description:
    'XDP drop at the driver via xdp-filter (native mode, skb fallback) with ft-owned bpffs, program and maps',
  configSchema: xdpConfig,
  capabilities: ['host-filter'],
  reach: 'host',
  // The onNode steps it can carry (policy validate refuses the others); test/policy/host-steps.test.ts checks them.
  features: { hostSteps: ['dropUdpSourcePorts', 'dropTopSources'] },
  async create(config, ctx) {
    return new XdpAction(xdpConfig.parse(config), ctx.stateDir, ctx.logger);
  },
});
