import {
  Prefix,
  isPrefix,
  type Action,
  type Applied,
  type Health,
  type InstalledRef,
  type PluginContext,
  type RenderedCommand,
  type Rule,
  type RtbhRule,
  type RuleId,
} from '@ft/sdk';
import type { FrrConfig } from './config.js';
import { FRR_CAPABILITIES } from './capabilities.js';
import { renderRtbh, takeOver, type RenderOptions } from './render.js';
import { localBlackholePrefixes, parsePrefixDetail, parseSummary, type FrrPath } from './rib.js';
import { RuleRejected } from './validate.js';
import { splitJsonDocuments, vtysh, type VtyshOptions } from './vtysh.js';

function isRule(x: Rule | InstalledRef): x is Rule {
  return typeof (x as Rule).kind === 'string' && isPrefix((x as Rule).target);
}

const afOf = (p: Prefix) => (p.family === 6 ? 'ipv6' : 'ipv4');

export class FrrAction implements Action {
  readonly capabilities = FRR_CAPABILITIES;
  private readonly opts: RenderOptions;
  private readonly vty: VtyshOptions;
  private readonly tagAsn: number;
  /** Rules ft announced through this instance: re-announced if FRR loses them (FRR restarted without them). */
  private readonly live = new Map<RuleId, RtbhRule>();
  private lock: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly config: FrrConfig,
    private readonly ctx: PluginContext,
  ) {
    this.tagAsn = config.tagAsn ?? config.asn;
    this.opts = {
      asn: config.asn,
      tagAsn: this.tagAsn,
      installId: ctx.owner?.installId ?? '',
      staticTag: config.staticTag,
      routeMapPrefix: config.routeMapPrefix,
      nextHops: { ipv4: Prefix.parse(config.nextHop4), ipv6: Prefix.parse(config.nextHop6) },
    };
    this.vty = {
      vtysh: config.vtysh,
      vtySocket: config.vtySocket,
      pathspace: config.pathspace,
      timeoutMs: config.timeoutMs,
    };
  }

  private rtbh(rule: Rule): RtbhRule {
    if (rule.kind !== 'rtbh') {
      throw new RuleRejected(
        rule.id,
        `FRR cannot originate ${rule.kind === 'flowspec' ? 'FlowSpec (it only receives it)' : rule.kind}; route it to a gobgp, exabgp or bird speaker`,
      );
    }
    return rule;
  }

  /** The vtysh invocation that runs these commands, as preview shows it. */
  private vtyshCommand(lines: string[]): RenderedCommand {
    const args = [
      ...(this.vty.vtySocket ? ['--vty_socket', this.vty.vtySocket] : []),
      ...(this.vty.pathspace ? ['-N', this.vty.pathspace] : []),
      ...lines.flatMap((x) => ['-c', x]),
    ];
    return { adapter: this.ctx.name, format: 'vtysh', text: lines.join('\n'), argv: [this.vty.vtysh, ...args] };
  }

  render(rule: Rule): RenderedCommand[] {
    return [this.vtyshCommand(renderRtbh(this.rtbh(rule), this.opts).announce)];
  }

  renderWithdraw(rule: Rule): RenderedCommand[] {
    return [this.vtyshCommand(renderRtbh(this.rtbh(rule), this.opts).withdraw)];
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private async paths(prefixes: Prefix[]): Promise<FrrPath[]> {
    if (prefixes.length === 0) return [];
    const r = await vtysh(
      this.vty,
      prefixes.map((p) => `show bgp ${afOf(p)} unicast ${p.toString()} json`),
    );
    if (r.code !== 0) throw new Error(`vtysh show bgp failed: ${r.output.trim()}`);
    return splitJsonDocuments(r.output).flatMap((d) => parsePrefixDetail(d, this.tagAsn, this.ctx.owner));
  }

  private async ownPath(prefix: Prefix, id: RuleId): Promise<FrrPath | undefined> {
    return (await this.paths([prefix])).find((p) => p.local && p.ruleId === id);
  }

  async apply(rule: Rule): Promise<Applied> {
    const r = this.rtbh(rule);
    const c = renderRtbh(r, this.opts);
    await this.serial(() => this.applyLocked(r));
    this.startResync();
    return {
      ruleId: r.id,
      state: 'installed',
      nativeId: `${afOf(c.prefix)} ${c.prefix.toString()}`,
      detail: c.routeMap,
    };
  }

  /**
   * Runs under the lock, like everything that changes FRR or `live`: the resync timer re-applying a rule while
   * a newer rule for the same prefix is being applied would otherwise take the prefix back (the tests caught
   * exactly that, intermittently, before resync took the lock).
   */
  private async applyLocked(r: RtbhRule): Promise<void> {
    const c = renderRtbh(r, this.opts);
    const remember = () => {
      // A rule for the same prefix that this one replaced must not be brought back by resync.
      for (const [id, other] of this.live) if (id !== r.id && other.target.equals(r.target)) this.live.delete(id);
      this.live.set(r.id, r);
    };
    const local = (await this.paths([c.prefix])).filter((p) => p.local);
    if (local.some((p) => p.ruleId === r.id)) {
      remember();
      return;
    }
    const foreign = local.find((p) => !p.ruleId);
    if (foreign) {
      // Taking over the operator's own origination would make a later ft withdrawal remove it.
      throw new Error(
        `FRR already originates ${c.prefix.toString()} without ft's tag (not announced by ft); refusing to take it over`,
      );
    }
    const previous = local.find((p) => p.ruleId)?.ruleId;
    const res = await vtysh(this.vty, [...(previous ? takeOver(c.prefix, previous, this.opts) : []), ...c.announce]);
    if (res.code !== 0) {
      // Undo what this attempt may have left, so nothing stays half-configured.
      await vtysh(this.vty, c.withdraw).catch(() => undefined);
      throw new Error(`FRR refused the RTBH announcement of ${r.id}: ${res.output.trim()}`);
    }
    await this.waitFor(() => this.ownPath(c.prefix, r.id), `${r.id} to enter FRR's BGP table`);
    await this.persist();
    remember();
  }

  private async waitFor(check: () => Promise<unknown>, what: string): Promise<void> {
    const deadline = Date.now() + this.config.timeoutMs;
    for (;;) {
      if (await check()) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  }

  private async persist(): Promise<void> {
    if (!this.config.persist) return;
    const r = await vtysh(this.vty, ['write memory']);
    if (r.code !== 0) this.ctx.logger.warn({ output: r.output }, 'FRR could not save its configuration');
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    let rule: RtbhRule;
    if (isRule(target)) {
      rule = this.rtbh(target);
    } else {
      const m = /^(ipv4|ipv6) (\S+)$/.exec(target.nativeId);
      if (!m || !target.ruleId)
        throw new Error(`refusing to withdraw ${target.nativeId}: not an ft RTBH route from list()`);
      // Only the prefix and the id matter for withdrawal: rebuild a minimal rule around them.
      rule = {
        kind: 'rtbh',
        id: target.ruleId,
        target: Prefix.parse(m[2] as string),
        communities: [],
        noExport: false,
      } as unknown as RtbhRule;
    }
    const c = renderRtbh(rule, this.opts);
    await this.serial(async () => {
      this.live.delete(rule.id);
      // Only a route carrying this rule's tag is taken down; another rule (or the operator) may own the prefix now.
      if (!(await this.ownPath(c.prefix, rule.id))) return;
      const res = await vtysh(this.vty, c.withdraw);
      if (res.code !== 0) throw new Error(`FRR refused the withdrawal of ${rule.id}: ${res.output.trim()}`);
      await this.waitFor(async () => !(await this.ownPath(c.prefix, rule.id)), `${rule.id} to leave FRR's BGP table`);
      await this.persist();
    });
  }

  async list(): Promise<InstalledRef[]> {
    const r = await vtysh(this.vty, [
      'show bgp ipv4 unicast community blackhole json',
      'show bgp ipv6 unicast community blackhole json',
    ]);
    if (r.code !== 0) throw new Error(`vtysh show bgp failed: ${r.output.trim()}`);
    const prefixes = splitJsonDocuments(r.output)
      .flatMap(localBlackholePrefixes)
      .map((p) => Prefix.parse(p));
    const seen = new Set<string>();
    const out: InstalledRef[] = [];
    for (const p of await this.paths(prefixes)) {
      if (!p.local || !p.ruleId) continue;
      const prefix = Prefix.parse(p.prefix);
      const nativeId = `${afOf(prefix)} ${prefix.toString()}`;
      if (seen.has(nativeId)) continue;
      seen.add(nativeId);
      out.push({
        ruleId: p.ruleId,
        nativeId,
        description: `${nativeId} next-hop ${p.nextHop ?? '?'} ${p.communities.join(' ')}`,
      });
    }
    return out;
  }

  /** Re-announces live rules FRR no longer has (its daemons restarted from a config without them). */
  async resync(): Promise<number> {
    if (this.live.size === 0) return 0;
    return this.serial(async () => {
      const have = new Set((await this.list()).map((r) => r.ruleId));
      let n = 0;
      for (const rule of [...this.live.values()]) {
        if (have.has(rule.id)) continue;
        this.ctx.logger.warn({ ruleId: rule.id }, 'FRR lost an ft RTBH announcement; announcing it again');
        await this.applyLocked(rule);
        n++;
      }
      return n;
    });
  }

  private startResync(): void {
    if (this.timer || this.closed || this.config.resyncIntervalMs === 0) return;
    this.timer = setInterval(() => {
      this.resync().catch((err: Error) => this.ctx.logger.warn({ err: err.message }, 'FRR resync failed; retrying'));
    }, this.config.resyncIntervalMs);
    this.timer.unref();
  }

  async health(): Promise<Health> {
    let peers;
    try {
      const r = await vtysh(this.vty, ['show bgp summary json']);
      if (r.code !== 0) return { status: 'down', detail: r.output.trim() };
      peers = parseSummary(splitJsonDocuments(r.output)[0]);
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
    peers = peers.filter((p) => this.config.peers.length === 0 || this.config.peers.includes(p.address));
    if (peers.length === 0) return { status: 'down', detail: 'FRR has no BGP neighbor for ft' };
    const up = peers.filter((p) => p.state === 'Established');
    const detail = peers.map((p) => `${p.address} ${p.state}`).join(', ');
    if (up.length === peers.length) return { status: 'ok', detail };
    return { status: up.length ? 'degraded' : 'down', detail };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
