import { readFileSync } from 'node:fs';
import {
  backoffDelay,
  parseHostPort,
  type Action,
  type Applied,
  type Health,
  type InstalledRef,
  type PluginContext,
  type RenderedCommand,
  type Rule,
  type RuleId,
} from '@ft/sdk';
import type { GobgpClient, ListedPath } from './client.js';
import type { GobgpConfig } from './config.js';
import { decodeFlowSpec, taggedRuleId } from './decode.js';
import { FAMILIES, renderFlowSpec, renderRtbh, shellQuote, type FamilyName, type RenderedPath } from './render.js';
import { familyName, LocalRibIndex, nlriKey } from './rib-index.js';

export const ADAPTER = 'gobgp';
const ALL_FAMILIES = Object.keys(FAMILIES) as FamilyName[];
/** Best-path events keep the index current; a full re-read this often catches anything they missed. */
const REPRIME_MS = 5 * 60_000;

/** Paths ft added itself: GoBGP lists locally originated paths without a neighbor. */
function isLocal(p: ListedPath): boolean {
  return !p.isFromExternal && (p.neighborIp === '' || p.neighborIp === '<nil>');
}

export function renderPath(
  rule: Rule,
  config: Pick<GobgpConfig, 'tagAsn' | 'nextHop4' | 'nextHop6'> & { installId?: string },
): RenderedPath {
  if (rule.kind === 'flowspec') return renderFlowSpec(rule, config);
  if (rule.kind === 'rtbh') return renderRtbh(rule, config);
  throw new Error(`gobgp cannot carry ${rule.kind} rules (only flowspec and rtbh)`);
}

/**
 * ft's GoBGP speaker of one POP. Connects on first use (preview only renders). Keeps the set of rules it was
 * asked to keep live and puts missing ones back whenever gobgpd comes back (restart) or a session comes up.
 */
export class GobgpAction implements Action {
  readonly capabilities = ['flowspec', 'rtbh'] as const;
  private client?: Promise<GobgpClient>;
  private readonly live = new Map<RuleId, Rule>();
  private stopWatch?: () => void;
  private retryTimer?: NodeJS.Timeout;
  private resyncing?: Promise<void>;
  private listing?: Promise<ListedPath[]>;
  private readonly rib: LocalRibIndex;
  private closed = false;
  /** Number of rules put back after gobgpd lost them (restart); for health detail and tests. */
  reannounced = 0;

  constructor(
    private readonly config: GobgpConfig,
    private readonly ctx: Pick<PluginContext, 'logger' | 'secret' | 'name' | 'owner'>,
  ) {
    this.rib = new LocalRibIndex(config.tagAsn, ctx.owner);
    this.renderOptions = { ...config, installId: ctx.owner?.installId ?? '' };
  }

  private readonly renderOptions: GobgpConfig & { installId: string };

  /** The gobgp CLI line equivalent to a gRPC call, for humans: `sub` is 'add' or 'del'. */
  private cliLine(r: RenderedPath, sub: 'add' | 'del'): string {
    const target = this.config.address.startsWith('unix://')
      ? ['--target', this.config.address]
      : hostPortArgs(this.config.address);
    const at = r.cliArgs.indexOf('add');
    return ['gobgp', ...target, ...r.cliArgs.slice(0, at), sub, ...r.cliArgs.slice(at + 1)].map(shellQuote).join(' ');
  }

  render(rule: Rule): RenderedCommand[] {
    const r = renderPath(rule, this.renderOptions);
    return [
      {
        adapter: ADAPTER,
        format: 'grpc',
        text: `${this.cliLine(r, 'add')}   # gRPC AddPath{table_type: GLOBAL} to ${this.config.address}`,
        payload: { method: 'apipb.GobgpApi/AddPath', request: { table_type: 'GLOBAL', path: r.path } },
      },
    ];
  }

  renderWithdraw(rule: Rule): RenderedCommand[] {
    const r = renderPath(rule, this.renderOptions);
    // `gobgp global rib del` takes the NLRI only; ft deletes the exact path it added (its tag included), so a path
    // for the same match that someone else (or a newer ft rule) announced stays.
    return [
      {
        adapter: ADAPTER,
        format: 'grpc',
        text: `${this.cliLine(r, 'del')}   # gRPC DeletePath{table_type: GLOBAL} of ft's own tagged path at ${this.config.address}`,
        payload: {
          method: 'apipb.GobgpApi/DeletePath',
          request: { table_type: 'GLOBAL', path: { ...r.path, is_withdraw: true } },
        },
      },
    ];
  }

  async apply(rule: Rule): Promise<Applied> {
    const rendered = renderPath(rule, this.renderOptions);
    const client = await this.ready();
    const key = nlriKey(rendered.familyName, rendered.path.nlri);
    const foreign = this.rib.foreignAt(key);
    if (foreign)
      throw new Error(
        `gobgpd at ${this.config.address} already has a ${foreign.family} path for this ${rule.kind === 'rtbh' ? 'prefix' : 'FlowSpec match'} without ft's tag (the operator's, or another ft install's); refusing to replace it`,
      );
    const already = this.rib.get(key)?.id === rule.id;
    if (!already) {
      await client.addPath(rendered.path);
      this.rib.set(key, { id: rule.id, family: rendered.familyName, raw: client.toWire(rendered.path) });
    }
    // Most recent last: when two live rules share a match, the newer one is what must be on the wire.
    this.live.delete(rule.id);
    this.live.set(rule.id, rule);
    return {
      ruleId: rule.id,
      state: 'installed',
      nativeId: nativeId(rendered.familyName, rule.id),
      detail: already ? 'already announced' : 'announced',
    };
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    const { id, families } = whatToWithdraw(target, this.config);
    this.live.delete(id);
    const client = await this.ready();
    // Only paths carrying this rule's tag: a rule that replaced it under the same match stays.
    for (const [key, entry] of this.rib.byRule(id)) {
      if (!families.includes(entry.family)) continue;
      await client.deletePath(entry.raw);
      this.rib.delete(key);
    }
  }

  async list(): Promise<InstalledRef[]> {
    const client = await this.connect();
    const paths = await this.listAll(client);
    const out: InstalledRef[] = [];
    for (const p of paths) {
      const family = familyName(p.family);
      const id = isLocal(p) ? taggedRuleId(p.pattrs, this.config.tagAsn, this.ctx.owner) : undefined;
      if (id && family) out.push({ ruleId: id, nativeId: nativeId(family, id), description: describe(family, p) });
    }
    return out;
  }

  async health(): Promise<Health> {
    try {
      const client = await this.connect();
      const peers = await client.listPeers();
      const wanted = this.config.peers ? peers.filter((p) => this.config.peers?.includes(p.address)) : peers;
      if (wanted.length === 0)
        return {
          status: 'degraded',
          detail: `gobgpd at ${this.config.address} has no ${this.config.peers ? 'matching ' : ''}neighbors`,
        };
      const up = wanted.filter((p) => p.state === 'ESTABLISHED');
      const detail = wanted.map((p) => `${p.address} AS${p.peerAsn} ${p.state.toLowerCase()}`).join(', ');
      return { status: up.length === wanted.length ? 'ok' : up.length > 0 ? 'degraded' : 'down', detail };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }

  /** Makes `rules` the set to keep live and announces whatever of it gobgpd lacks (after an ft restart). */
  async reannounce(rules: readonly Rule[]): Promise<number> {
    this.live.clear();
    for (const r of rules) if (r.kind === 'flowspec' || r.kind === 'rtbh') this.live.set(r.id, r);
    return this.resync();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatch?.();
    clearTimeout(this.retryTimer);
    if (this.client) (await this.client.catch(() => undefined))?.close();
  }

  private connect(): Promise<GobgpClient> {
    if (!this.client) {
      this.client = (async () => {
        const { GobgpClient } = await import('./client.js');
        const tls = this.config.tls;
        const client = await GobgpClient.create({
          address: this.config.address,
          protoDir: this.config.protoDir,
          timeoutMs: this.config.timeoutMs,
          tls: tls && {
            ca: tls.ca ? readFileSync(tls.ca) : undefined,
            cert: tls.cert ? readFileSync(tls.cert) : undefined,
            key: tls.key ? readFileSync(tls.key) : undefined,
            serverName: tls.serverName,
          },
          auth: this.config.auth && {
            header: this.config.auth.header,
            value: () =>
              `${this.config.auth?.scheme ? `${this.config.auth.scheme} ` : ''}${this.ctx.secret(this.config.auth?.secret as string).reveal()}`,
          },
        });
        this.watch(client);
        return client;
      })();
      this.client.catch(() => (this.client = undefined));
    }
    return this.client;
  }

  /** Peer events keep a stream open; when it breaks (gobgpd restarted) we retry, then put back what is missing. */
  private watch(client: GobgpClient, failures = 0): void {
    if (this.closed) return;
    let opened = false;
    const resync = () =>
      void this.resync().catch((err) => this.ctx.logger.warn({ err: String(err) }, 'gobgp re-announce failed'));
    this.stopWatch = client.watch(
      { peers: true, table: 'BEST', init: false },
      (e) => {
        if (e.type === 'peer' && e.peer.state === 'ESTABLISHED') resync();
        if (e.type === 'table') for (const p of e.paths) this.rib.observe(p);
      },
      (err) => {
        if (this.closed) return;
        // gobgpd may have restarted with an empty RIB: the index is refilled on the next use.
        this.rib.reset();
        const attempt = opened ? 0 : failures + 1;
        // Say it once per outage, and back off to 10 s while gobgpd stays away.
        if (attempt <= 1)
          this.ctx.logger.warn(
            { address: this.config.address, err: err?.message },
            'gobgp watch stream ended; reconnecting',
          );
        this.retryTimer = setTimeout(
          () => this.watch(client, attempt),
          backoffDelay(attempt, { baseMs: 250, maxMs: 10_000 }),
        );
        this.retryTimer.unref();
      },
      () => {
        opened = true;
        resync();
      },
    );
  }

  private resync(): Promise<number> {
    const run = async () => {
      if (this.live.size === 0) return 0;
      const client = await this.connect();
      await this.listAll(client);
      // Per match, the most recently applied live rule is the one that belongs on the wire.
      const wanted = new Map<string, { rule: Rule; rendered: RenderedPath }>();
      for (const rule of this.live.values()) {
        const rendered = renderPath(rule, this.renderOptions);
        wanted.set(nlriKey(rendered.familyName, rendered.path.nlri), { rule, rendered });
      }
      let added = 0;
      for (const [key, { rule, rendered }] of wanted) {
        if (this.rib.get(key)?.id === rule.id || !this.live.has(rule.id) || this.rib.foreignAt(key)) continue;
        await client.addPath(rendered.path);
        this.rib.set(key, { id: rule.id, family: rendered.familyName, raw: client.toWire(rendered.path) });
        added++;
      }
      if (added > 0) {
        this.reannounced += added;
        this.ctx.logger.info({ address: this.config.address, added }, 'gobgp: re-announced rules gobgpd had lost');
      }
      return added;
    };
    // One resync at a time; a request during a run waits for it and then runs again.
    const next = (this.resyncing ?? Promise.resolve()).catch(() => undefined).then(run);
    this.resyncing = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** The client, with the RIB index filled (once per connection, and again every few minutes as a safety net). */
  private async ready(): Promise<GobgpClient> {
    const client = await this.connect();
    if (!this.rib.primedAt || Date.now() - this.rib.primedAt > REPRIME_MS) await this.listAll(client);
    return client;
  }

  /** Lists every family of the global RIB and refreshes the index from it (one listing at a time). */
  private listAll(client: GobgpClient): Promise<ListedPath[]> {
    this.listing ??= (async () => {
      try {
        const paths: ListedPath[] = [];
        for (const family of ALL_FAMILIES) paths.push(...(await client.listPath('GLOBAL', FAMILIES[family])));
        this.rib.prime(paths);
        return paths;
      } finally {
        this.listing = undefined;
      }
    })();
    return this.listing;
  }
}

export function nativeId(family: FamilyName, id: RuleId): string {
  return `${family}/${id}`;
}

function whatToWithdraw(target: Rule | InstalledRef, config: GobgpConfig): { id: RuleId; families: FamilyName[] } {
  if ('kind' in target) return { id: target.id, families: [renderPath(target, config).familyName] };
  const [family, idText] = target.nativeId.split('/') as [string, string | undefined];
  const id = target.ruleId ?? (idText as RuleId | undefined);
  if (!id) throw new Error(`cannot withdraw ${target.nativeId}: it carries no ft rule id`);
  return { id, families: ALL_FAMILIES.includes(family as FamilyName) ? [family as FamilyName] : ALL_FAMILIES };
}

function describe(family: FamilyName, p: ListedPath): string {
  if (family.endsWith('flowspec')) {
    try {
      const actions = decodeFlowSpec(p.nlri, p.pattrs)
        .actions.map((a) => (a.type === 'rate-limit' ? `rate-limit ${a.bytesPerSecond}` : a.type))
        .join(',');
      return `${family} ${p.prefix} then ${actions || 'accept'}`;
    } catch {
      return `${family} ${p.prefix}`;
    }
  }
  return `${family} ${p.prefix} (RTBH)`;
}

function hostPortArgs(address: string): string[] {
  const { host, port } = parseHostPort(address);
  return ['-u', host, '-p', String(port)];
}
