import {
  defineAction,
  type Action,
  type Applied,
  type InstalledRef,
  type RenderedCommand,
  type Rule,
  type RuleCounters,
  type RuleId,
} from '@ft/sdk';
import { z } from 'zod';
import { HostRuleError } from '../common/errors.js';
import { HostExec } from '../common/exec.js';
import { argvCommand } from '../common/render.js';
import { interfaceOption, netnsOption } from '../common/schema.js';
import { serialize } from '../common/lock.js';
import { OwnerFile } from '../common/state.js';
import { checkMatch, checkPositiveInt, checkRuleId, expectKind, type FilterSpec } from '../common/validate.js';
import { preferredMinor, ROOT_HANDLE, shapeBatch } from './render.js';

export const tcConfig = z.strictObject({
  /**
   * The interface whose outgoing traffic is shaped: on a router or edge, the one facing the protected hosts; to
   * shape what arrives at this host, an IFB device the ingress traffic is redirected to.
   */
  interface: interfaceOption,
  netns: netnsOption,
  maxSources: z.number().int().min(1).max(10_000).default(1_000),
});
export type TcConfig = z.infer<typeof tcConfig>;

interface ClassStat {
  minor: number;
  packets: number;
  bytes: number;
  dropped: number;
}

class TcAction implements Action {
  readonly capabilities = ['shape'] as const;
  private readonly exec: HostExec;
  private readonly owners: OwnerFile;

  constructor(
    private readonly config: TcConfig,
    stateDir: string,
  ) {
    this.exec = new HostExec(config.netns);
    this.owners = new OwnerFile(stateDir, `tc-${config.interface}`);
  }

  private prepare(rule: Rule): { spec: FilterSpec; bps: number } {
    const r = expectKind('tc', rule, ['shape']);
    const id = checkRuleId('tc', r.id);
    const spec = checkMatch('tc', id, r.match, { maxSources: this.config.maxSources });
    if (spec.tcpFlags)
      throw new HostRuleError(
        'tc',
        'match.tcpFlags',
        'tc shaping matches addresses, protocol and ports, not TCP flags',
      );
    return { spec, bps: checkPositiveInt('tc', 'bitsPerSecond', r.bitsPerSecond, 1e12) };
  }

  render(rule: Rule): RenderedCommand[] {
    const { spec, bps } = this.prepare(rule);
    const lines = shapeBatch(this.config.interface, spec, bps, preferredMinor(spec.id), true);
    return [argvCommand('tc', this.exec, ['tc', '-batch', '-'], `${lines.join('\n')}\n`)];
  }

  /** The root qdisc: ft's (f7: htb), the kernel's default (handle 0:), or an operator's (refused). */
  private async root(): Promise<'ft' | 'default'> {
    const r = await this.exec.run(['tc', '-j', 'qdisc', 'show', 'dev', this.config.interface]);
    const root = (JSON.parse(r.stdout || '[]') as { kind: string; handle: string; root?: boolean }[]).find(
      (q) => q.root,
    );
    if (!root || root.handle === '0:') return 'default';
    if (root.handle === ROOT_HANDLE && root.kind === 'htb') return 'ft';
    throw new HostRuleError(
      'tc',
      'interface',
      `${this.config.interface} has its own root qdisc (${root.kind} ${root.handle}); ft shapes only where the root is the kernel default, and never replaces an operator's qdisc`,
    );
  }

  private async classes(): Promise<ClassStat[]> {
    const r = await this.exec.run(['tc', '-s', 'class', 'show', 'dev', this.config.interface], { allowFail: true });
    const out: ClassStat[] = [];
    const re = /class htb f7:([0-9a-f]+) [^\n]*\n\s*Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/g;
    for (const m of r.stdout.matchAll(re))
      out.push({
        minor: parseInt(m[1] as string, 16),
        bytes: Number(m[2]),
        packets: Number(m[3]),
        dropped: Number(m[4]),
      });
    return out;
  }

  private locked<T>(work: () => Promise<T>): Promise<T> {
    return serialize(`tc:${this.config.netns ?? ''}:${this.config.interface}`, work);
  }

  async apply(rule: Rule): Promise<Applied> {
    const prepared = this.prepare(rule);
    return this.locked(() => this.applyNow(prepared));
  }

  private async applyNow({ spec, bps }: { spec: FilterSpec; bps: number }): Promise<Applied> {
    const root = await this.root();
    const owners = await this.owners.read();
    const taken = new Map(
      (await this.classes()).map((c) => [c.minor, OwnerFile.ownerOf(owners, `f7:${c.minor.toString(16)}`)]),
    );
    let minor = preferredMinor(spec.id);
    while (taken.has(minor) && taken.get(minor) !== spec.id) minor = minor >= 0xfeff ? 0x100 : minor + 1;
    const classid = `f7:${minor.toString(16)}`;
    if (taken.get(minor) === spec.id)
      return { ruleId: spec.id, state: 'installed', nativeId: classid, detail: 'already installed' };
    await this.owners.set(spec.id, [classid]);
    const lines = shapeBatch(this.config.interface, spec, bps, minor, root === 'default');
    try {
      await this.exec.run(['tc', '-batch', '-'], { input: `${lines.join('\n')}\n` });
    } catch (err) {
      // tc -batch stops at the first error: take back whatever of this rule got in.
      await this.removeClass(minor).catch(() => undefined);
      await this.owners.remove(spec.id);
      throw err;
    }
    return {
      ruleId: spec.id,
      state: 'installed',
      nativeId: classid,
      detail: `${this.config.interface} egress ${bps} bit/s`,
    };
  }

  private async removeClass(minor: number): Promise<void> {
    const dev = this.config.interface;
    const present = await this.classes();
    if (!present.some((c) => c.minor === minor)) return;
    const lines = [
      `filter del dev ${dev} parent ${ROOT_HANDLE} protocol all prio ${minor}`,
      `class del dev ${dev} classid f7:${minor.toString(16)}`,
    ];
    // The last class gone: give the interface its default qdisc back.
    if (present.every((c) => c.minor === minor)) lines.push(`qdisc del dev ${dev} root`);
    await this.exec.run(['tc', '-force', '-batch', '-'], { input: `${lines.join('\n')}\n`, allowFail: true });
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    return this.locked(() => this.withdrawNow(target));
  }

  private async withdrawNow(target: Rule | InstalledRef): Promise<void> {
    const owners = await this.owners.read();
    let id: string | undefined;
    let classid: string | undefined;
    if ('kind' in target) {
      id = checkRuleId('tc', target.id);
      classid = owners[id]?.[0];
    } else {
      const m = /^f7:([0-9a-f]{1,4})$/.exec(target.nativeId);
      if (!m)
        throw new HostRuleError('tc', 'nativeId', `${JSON.stringify(target.nativeId)} is not a tc class ft created`);
      classid = target.nativeId;
      id = target.ruleId ?? OwnerFile.ownerOf(owners, classid);
    }
    if (classid) await this.removeClass(parseInt(classid.slice(3), 16));
    if (id) await this.owners.remove(id);
  }

  async list(): Promise<InstalledRef[]> {
    const owners = await this.owners.read();
    return (await this.classes()).map((c) => {
      const classid = `f7:${c.minor.toString(16)}`;
      const ref: InstalledRef = { nativeId: classid, description: `htb class ${classid} on ${this.config.interface}` };
      const owner = OwnerFile.ownerOf(owners, classid);
      if (owner) ref.ruleId = owner as RuleId;
      return ref;
    });
  }

  /** Packets the class handled (sent + dropped): what the shaping rule matched. */
  async counters(): Promise<RuleCounters[]> {
    const owners = await this.owners.read();
    const out: RuleCounters[] = [];
    for (const c of await this.classes()) {
      const owner = OwnerFile.ownerOf(owners, `f7:${c.minor.toString(16)}`);
      if (owner) out.push({ ruleId: owner as RuleId, packets: c.packets + c.dropped, bytes: c.bytes });
    }
    return out;
  }

  async health() {
    const r = await this.exec.run(['tc', '-j', 'qdisc', 'show', 'dev', this.config.interface], { allowFail: true });
    if (r.code !== 0) return { status: 'down' as const, detail: `tc on ${this.config.interface}: ${r.stderr.trim()}` };
    try {
      await this.root();
    } catch (err) {
      return { status: 'degraded' as const, detail: (err as Error).message };
    }
    return { status: 'ok' as const, detail: `htb ${ROOT_HANDLE} on ${this.config.interface} egress` };
  }
}

export const tcFactory = defineAction({
  kind: 'tc',
  description: 'tc HTB shaping (root f7:, one class + u32 filters per rule) of traffic leaving an interface',
  configSchema: tcConfig,
  capabilities: ['shape'],
  reach: 'host',
  // The onNode steps it can carry (policy validate refuses the others); test/policy/host-steps.test.ts checks them.
  features: { hostSteps: ['shape'] },
  async create(config, ctx) {
    return new TcAction(tcConfig.parse(config), ctx.stateDir);
  },
});
