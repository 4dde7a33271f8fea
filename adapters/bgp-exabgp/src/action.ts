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
  type RuleId,
} from '@ft/sdk';
import { join } from 'node:path';
import { EXABGP_CAPABILITIES } from './capabilities.js';
import { ExabgpChannel } from './channel.js';
import type { ExabgpConfig } from './config.js';
import { renderRule, type RenderOptions } from './render.js';
import { parseNeighborSummary, parseRib, withdrawForNativeId, type RibRoute } from './rib.js';

function isRule(x: Rule | InstalledRef): x is Rule {
  return typeof (x as Rule).kind === 'string' && isPrefix((x as Rule).target);
}

export class ExabgpAction implements Action {
  readonly capabilities = EXABGP_CAPABILITIES;
  private readonly opts: RenderOptions;
  private readonly channel: ExabgpChannel;
  /** What ft announced through this instance and has not withdrawn: re-sent whenever ExaBGP or a session restarts. */
  private readonly live = new Map<RuleId, { key: string; announce: string }>();
  private reannouncing?: Promise<void>;
  /**
   * apply, withdraw and each re-announcement step run one at a time, so a re-announcement round can never send
   * a rule that a newer rule for the same NLRI replaced meanwhile.
   */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: ExabgpConfig,
    private readonly ctx: PluginContext,
  ) {
    this.opts = {
      tagAsn: config.tagAsn,
      installId: ctx.owner?.installId ?? '',
      neighbors: config.peers,
      nextHops: { ipv4: Prefix.parse(config.nextHop4), ipv6: Prefix.parse(config.nextHop6) },
    };
    // Nothing is bound or connected here (create() must stay side-effect free for preview); the socket is
    // bound on the first apply/withdraw/list/health.
    this.channel = new ExabgpChannel(config.socket ?? join(ctx.stateDir, 'exabgp.sock'), ctx.logger, config.timeoutMs);
    this.channel.on('connected', (pid: number) => {
      ctx.logger.info({ exabgpPid: pid, live: this.live.size }, 'ExaBGP connected; announcing live rules');
      this.scheduleReannounce('exabgp connected');
    });
    this.channel.on('neighbor', (address: string, state: string) => {
      ctx.logger.info({ neighbor: address, state }, 'ExaBGP neighbor state');
      if (state === 'up') this.scheduleReannounce(`neighbor ${address} up`);
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private scheduleReannounce(why: string): void {
    const ids = [...this.live.keys()];
    if (ids.length === 0) return;
    const run = (async () => {
      for (const id of ids) {
        try {
          await this.serial(async () => {
            // Read at send time: the rule may have been withdrawn or replaced since the round started.
            const line = this.live.get(id)?.announce;
            if (!line) return;
            const r = await this.channel.send(line);
            if (!r.ok) this.ctx.logger.error({ command: line, why }, 'ExaBGP refused a re-announcement');
          });
        } catch (err) {
          this.ctx.logger.warn(
            { err: (err as Error).message, why },
            're-announcement interrupted; it will be retried on the next connect',
          );
          return;
        }
      }
    })();
    this.reannouncing = run;
  }

  /** For tests and shutdown: resolves once the last re-announcement round has been sent. */
  async settled(): Promise<void> {
    await this.reannouncing;
  }

  render(rule: Rule): RenderedCommand[] {
    const { announce } = renderRule(rule, this.opts);
    return [{ adapter: this.ctx.name, format: 'exabgp', text: announce }];
  }

  renderWithdraw(rule: Rule): RenderedCommand[] {
    const { withdraw } = renderRule(rule, this.opts);
    return [{ adapter: this.ctx.name, format: 'exabgp', text: withdraw }];
  }

  async apply(rule: Rule): Promise<Applied> {
    const { announce, key } = renderRule(rule, this.opts);
    await this.serial(() => this.applyLocked(rule, announce, key));
    return { ruleId: rule.id, state: 'installed', detail: announce };
  }

  private async applyLocked(rule: Rule, announce: string, key: string): Promise<void> {
    if (rule.kind === 'rtbh') {
      // ExaBGP keeps one route per prefix: announcing over a route ft did not tag would replace it, and ft's
      // later withdrawal would remove the operator's route. (FlowSpec matches of other software are not compared.)
      const nativeId = `${rule.target.family === 6 ? 'ipv6' : 'ipv4'} unicast ${rule.target.toString()}`;
      if ((await this.rib()).some((x) => x.nativeId === nativeId && !x.ruleId)) {
        throw new Error(
          `ExaBGP already announces ${rule.target.toString()} without ft's tag (not announced by ft); refusing to take it over`,
        );
      }
    }
    const r = await this.channel.send(announce);
    if (!r.ok)
      throw new Error(`ExaBGP refused the announcement of ${rule.id} (see ExaBGP's log for the reason): ${announce}`);
    // The same NLRI announced for another rule (escalation: rate-limit → discard) was just replaced in ExaBGP:
    // forget it, so a later re-announcement cannot bring it back over this one.
    for (const [id, l] of this.live) if (l.key === key && id !== rule.id) this.live.delete(id);
    this.live.delete(rule.id);
    this.live.set(rule.id, { key, announce });
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    await this.serial(() => this.withdrawLocked(target));
  }

  private async withdrawLocked(target: Rule | InstalledRef): Promise<void> {
    const rib = await this.rib();
    if (isRule(target)) {
      this.live.delete(target.id);
      const { withdraw } = renderRule(target, this.opts);
      // Withdraw only what carries this rule's tag: the same prefix or match announced by someone else (or by a
      // newer ft rule that replaced it) stays.
      if (!rib.some((r) => r.ruleId === target.id)) return;
      await this.sendOrThrow(withdraw, target.id);
      return;
    }
    const found = rib.find((r) => r.nativeId === target.nativeId);
    if (!found) return;
    if (!found.ruleId)
      throw new Error(`refusing to withdraw ${target.nativeId}: it carries no ft tag (not announced by ft)`);
    for (const [id] of this.live) if (id === found.ruleId) this.live.delete(id);
    await this.sendOrThrow(withdrawForNativeId(found.nativeId), found.ruleId);
  }

  private async sendOrThrow(command: string, id: string): Promise<void> {
    const r = await this.channel.send(command);
    if (!r.ok) throw new Error(`ExaBGP refused the withdrawal of ${id}: ${command}`);
  }

  private async rib(): Promise<RibRoute[]> {
    const r = await this.channel.send('show adj-rib out extensive');
    if (!r.ok) throw new Error('ExaBGP refused "show adj-rib out extensive"');
    return parseRib(r.output, this.config.tagAsn, this.ctx.owner);
  }

  async list(): Promise<InstalledRef[]> {
    return (await this.rib())
      .filter((r) => r.ruleId !== undefined)
      .map((r) => ({ ruleId: r.ruleId, nativeId: r.nativeId, description: r.nativeId }));
  }

  async health(): Promise<Health> {
    let lines: string[];
    try {
      // The bridge reconnects within ~200 ms of ExaBGP starting: waiting longer only delays reporting "down".
      const r = await this.channel.send('show neighbor summary', Math.min(1000, this.config.timeoutMs));
      lines = r.output;
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
    const peers = parseNeighborSummary(lines).filter(
      (p) => this.config.peers.length === 0 || this.config.peers.includes(p.address),
    );
    if (peers.length === 0) return { status: 'down', detail: 'ExaBGP has no neighbor configured for ft' };
    const up = peers.filter((p) => p.state === 'established');
    const detail = peers.map((p) => `${p.address} ${p.state}`).join(', ');
    if (up.length === peers.length) return { status: 'ok', detail };
    return { status: up.length ? 'degraded' : 'down', detail };
  }

  async close(): Promise<void> {
    await this.channel.close();
  }
}
