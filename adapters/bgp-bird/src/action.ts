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
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { birdc } from './birdc.js';
import { BIRD_CAPABILITIES } from './capabilities.js';
import type { BirdConfig } from './config.js';
import {
  parseIncludeFile,
  protocolName,
  renderIncludeFile,
  renderRoute,
  routeKey,
  SLOTS,
  type BirdRoute,
  type FileOptions,
  type RenderOptions,
  type Slot,
} from './render.js';
import { parseBgpSessions, parseShowRouteAll, type BirdRibRoute } from './rib.js';

/** BIRD refused the new configuration; the running config and ft's include file are as they were before. */
export class BirdConfigRejected extends Error {
  constructor(readonly birdOutput: string) {
    super(
      `BIRD rejected the new configuration; it keeps running the previous one and ft restored its include file. BIRD said: ${birdOutput.trim()}`,
    );
    this.name = 'BirdConfigRejected';
  }
}

function isRule(x: Rule | InstalledRef): x is Rule {
  return typeof (x as Rule).kind === 'string' && isPrefix((x as Rule).target);
}

const TABLE_OF: Record<Slot, keyof FileOptions['tables']> = {
  flow4: 'flow4',
  flow6: 'flow6',
  rtbh4: 'ipv4',
  rtbh6: 'ipv6',
};

export class BirdAction implements Action {
  readonly capabilities = BIRD_CAPABILITIES;
  private readonly renderOpts: RenderOptions;
  private readonly fileOpts: FileOptions;
  /** ft's routes, keyed by rule id; loaded from the include file on first use (it survives ft restarts). */
  private routes?: Map<string, BirdRoute>;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: BirdConfig,
    private readonly ctx: PluginContext,
  ) {
    this.renderOpts = {
      tagAsn: config.tagAsn,
      installId: ctx.owner?.installId ?? '',
      nextHops: { ipv4: Prefix.parse(config.nextHop4), ipv6: Prefix.parse(config.nextHop6) },
    };
    this.fileOpts = { protocolPrefix: config.protocolPrefix, tables: config.tables };
  }

  render(rule: Rule): RenderedCommand[] {
    const route = renderRoute(rule, this.renderOpts);
    return [
      {
        adapter: this.ctx.name,
        format: 'bird-config',
        text: `protocol static ${protocolName(route.slot, this.fileOpts)} { ... ${route.line} }`,
      },
    ];
  }

  renderWithdraw(rule: Rule): RenderedCommand[] {
    const route = renderRoute(rule, this.renderOpts);
    return [
      {
        adapter: this.ctx.name,
        format: 'bird-config',
        text: `protocol static ${protocolName(route.slot, this.fileOpts)} { ... without ${route.line} }   # rewrite ${this.config.includeFile}, then birdc configure`,
      },
    ];
  }

  /** One change at a time: the include file and `birdc configure` are a single shared resource. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  private loaded(): Map<string, BirdRoute> {
    if (!this.routes) {
      this.routes = existsSync(this.config.includeFile)
        ? parseIncludeFile(readFileSync(this.config.includeFile, 'utf8'))
        : new Map();
    }
    return this.routes;
  }

  private writeAtomically(text: string): void {
    const tmp = `${this.config.includeFile}.ft-${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, this.config.includeFile);
  }

  /** Writes the include file for `next` and reconfigures BIRD; on any refusal the previous file is put back. */
  private async commit(next: Map<string, BirdRoute>, force = false): Promise<void> {
    const previous = existsSync(this.config.includeFile) ? readFileSync(this.config.includeFile, 'utf8') : undefined;
    const text = renderIncludeFile([...next.values()], this.fileOpts);
    if (text === previous && !force) {
      this.routes = next;
      return;
    }
    this.writeAtomically(text);
    let result;
    try {
      result = await birdc(this.config.birdc, this.config.socket, ['configure'], this.config.timeoutMs);
    } catch (err) {
      this.restore(previous);
      throw err;
    }
    if (result.code !== 0 || !/Reconfigur(ed|ation in progress|ation already in progress)/.test(result.output)) {
      this.restore(previous);
      throw new BirdConfigRejected(result.output);
    }
    this.routes = next;
  }

  private restore(previous: string | undefined): void {
    this.writeAtomically(previous ?? renderIncludeFile([], this.fileOpts));
  }

  async apply(rule: Rule): Promise<Applied> {
    const route = renderRoute(rule, this.renderOpts);
    await this.serial(async () => {
      const current = this.loaded();
      if (current.get(rule.id)?.line === route.line) {
        // In ft's file already; if BIRD does not run it (its config was not reloaded since), reload it now.
        if ((await this.showSlot(route.slot)).some((r) => r.ruleId === rule.id)) return;
        await this.commit(current, true);
        return;
      }
      const next = new Map(current);
      // One announcement per NLRI (BIRD would refuse two static routes for one net): a newer ft rule for the same
      // match or prefix (escalation: rate-limit → discard) replaces the older one; withdrawing the older is then
      // a no-op.
      for (const [id, r] of current) if (id !== rule.id && routeKey(r) === routeKey(route)) next.delete(id);
      next.set(rule.id, route);
      await this.commit(next);
    });
    await this.waitInRib(rule.id, route.slot);
    return {
      ruleId: rule.id,
      state: 'installed',
      nativeId: `${protocolName(route.slot, this.fileOpts)} ${rule.id}`,
      detail: route.line,
    };
  }

  /** BIRD applies a reconfiguration asynchronously: a change counts as done once BIRD's table shows it. */
  private async waitInRib(id: RuleId, slot: Slot, present = true): Promise<void> {
    const deadline = Date.now() + this.config.timeoutMs;
    for (;;) {
      const routes = await this.showSlot(slot);
      if (routes.some((r) => r.ruleId === id) === present) return;
      if (Date.now() > deadline) {
        throw new Error(
          `BIRD accepted the configuration but ${id} is ${present ? 'not' : 'still'} in table ${this.config.tables[TABLE_OF[slot]]} after ${this.config.timeoutMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    const id = isRule(target) ? target.id : target.ruleId;
    if (!id)
      throw new Error(
        `refusing to withdraw ${(target as InstalledRef).nativeId}: it carries no ft tag (not announced by ft)`,
      );
    const slot = await this.serial(async () => {
      const current = this.loaded();
      const route = current.get(id);
      if (!route) return undefined;
      const next = new Map(current);
      next.delete(id);
      await this.commit(next);
      return route.slot;
    });
    if (slot) await this.waitInRib(id, slot, false);
  }

  private async showSlot(slot: Slot): Promise<BirdRibRoute[]> {
    const table = this.config.tables[TABLE_OF[slot]];
    const proto = protocolName(slot, this.fileOpts);
    const r = await birdc(
      this.config.birdc,
      this.config.socket,
      ['show', 'route', 'table', table, 'protocol', proto, 'all'],
      this.config.timeoutMs,
    );
    if (r.code !== 0) {
      // A protocol that does not exist yet (nothing written so far) has no routes.
      if (/syntax error|Not a protocol|No such protocol|is not a protocol/i.test(r.output)) return [];
      throw new Error(`birdc show route failed: ${r.output.trim()}`);
    }
    return parseShowRouteAll(r.output, this.config.tagAsn, this.ctx.owner).filter((x) => x.protocol === proto);
  }

  async list(): Promise<InstalledRef[]> {
    const out: InstalledRef[] = [];
    for (const slot of SLOTS) {
      for (const r of await this.showSlot(slot)) {
        if (r.ruleId) out.push({ ruleId: r.ruleId, nativeId: `${r.protocol} ${r.ruleId}`, description: r.net });
      }
    }
    return out;
  }

  async health(): Promise<Health> {
    let output: string;
    try {
      const r = await birdc(this.config.birdc, this.config.socket, ['show', 'protocols', 'all'], this.config.timeoutMs);
      if (r.code !== 0) return { status: 'down', detail: r.output.trim() };
      output = r.output;
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
    const sessions = parseBgpSessions(output).filter(
      (s) => this.config.bgpProtocols.length === 0 || this.config.bgpProtocols.includes(s.name),
    );
    if (sessions.length === 0) return { status: 'down', detail: 'BIRD runs no BGP protocol for ft' };
    const up = sessions.filter((s) => s.state === 'Established');
    const detail = sessions.map((s) => `${s.name} ${s.state}`).join(', ');
    if (up.length === sessions.length) return { status: 'ok', detail };
    return { status: up.length ? 'degraded' : 'down', detail };
  }
}
