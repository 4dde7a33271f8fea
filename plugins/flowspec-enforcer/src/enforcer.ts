import { backoffDelay, runArgv, type PluginLogger } from '@ft/sdk';
import type { GobgpClient, ListedPath } from '@ft/bgp-gobgp';
import { deleteTableScript, tableScript, TABLE_RE, type FlowRoute, type Skipped } from './nft.js';

export interface EnforcerOptions {
  /** The local gobgpd's gRPC API: host:port or unix:///path. */
  gobgp: string;
  /** Read only what this neighbor sent (its adj-in); default: every FlowSpec best path gobgpd holds. */
  peer?: string;
  /** Run nft inside this network namespace (the edge's forwarding namespace). */
  netns?: string;
  table?: string;
  protoDir?: string;
  /** Full re-read interval, besides WatchEvent-driven updates. */
  resyncMs?: number;
  /** When gobgpd stays unreachable this long, its sessions are gone too: remove our rules. */
  staleAfterMs?: number;
  /** At most this many routes become nft rules (most specific first); the rest are skipped and logged. */
  maxRoutes?: number;
  logger: PluginLogger;
}

export interface EnforcerState {
  table: string;
  installed: { nlri: string; ruleId?: string }[];
  skipped: Skipped[];
  lastSyncAt?: string;
  lastError?: string;
}

const NETNS_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$/;

/**
 * Mirrors the FlowSpec routes a local gobgpd received into one nftables table of ours. The routes are the truth:
 * every change (or resync tick) re-reads them and replaces the table in one nft transaction.
 */
export class FlowSpecEnforcer {
  readonly table: string;
  private client?: GobgpClient;
  private stopWatch?: () => void;
  private timer?: NodeJS.Timeout;
  private pending?: NodeJS.Timeout;
  private syncing: Promise<void> = Promise.resolve();
  private lastScript = '';
  private unreachableSince?: number;
  private stopped = false;
  readonly state: EnforcerState;

  constructor(private readonly options: EnforcerOptions) {
    this.table = options.table ?? 'ft_flowspec';
    if (!TABLE_RE.test(this.table))
      throw new Error(`table name ${JSON.stringify(this.table)} is not [A-Za-z][A-Za-z0-9_]*`);
    if (options.netns !== undefined && !NETNS_RE.test(options.netns))
      throw new Error(`netns name ${JSON.stringify(options.netns)} is invalid`);
    this.state = { table: this.table, installed: [], skipped: [] };
  }

  /** Connects, installs what is there now, then follows changes until stop(). */
  async start(): Promise<void> {
    const { GobgpClient } = await import('@ft/bgp-gobgp');
    this.client = await GobgpClient.create({ address: this.options.gobgp, protoDir: this.options.protoDir });
    await this.sync();
    this.follow();
    this.timer = setInterval(() => this.schedule(), this.options.resyncMs ?? 10_000);
  }

  /** One read-and-apply, for `--once` and tests. */
  async syncOnce(): Promise<EnforcerState> {
    if (!this.client) {
      const { GobgpClient } = await import('@ft/bgp-gobgp');
      this.client = await GobgpClient.create({ address: this.options.gobgp, protoDir: this.options.protoDir });
    }
    await this.sync();
    return this.state;
  }

  /** Stops following and removes our table: without a controller the rules would go stale. */
  async stop(options: { keepRules?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.stopWatch?.();
    clearInterval(this.timer);
    clearTimeout(this.pending);
    await this.syncing;
    if (!options.keepRules) await this.nft(deleteTableScript(this.table)).catch(() => undefined);
    this.client?.close();
  }

  private follow(failures = 0): void {
    if (this.stopped || !this.client) return;
    let opened = false;
    this.stopWatch = this.client.watch(
      { peers: true, table: this.options.peer ? 'ADJIN' : 'BEST' },
      () => this.schedule(),
      (err) => {
        if (this.stopped) return;
        const attempt = opened ? 0 : failures + 1;
        if (attempt <= 1)
          this.options.logger.warn({ err: err?.message }, 'enforcer: gobgp watch stream ended; retrying');
        // The resync timer keeps reading (and ages our rules out if gobgpd stays away); this only restores events.
        setTimeout(() => this.follow(attempt), backoffDelay(attempt, { baseMs: 250, maxMs: 10_000 })).unref();
        this.schedule();
      },
      () => {
        opened = true;
        this.schedule();
      },
    );
  }

  /** Coalesces bursts of events (a full table arriving) into one sync. */
  private schedule(): void {
    if (this.stopped || this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.sync();
    }, 5);
  }

  private sync(): Promise<void> {
    this.syncing = this.syncing
      .then(() => this.syncNow())
      .catch((err) => {
        this.state.lastError = (err as Error).message;
        this.options.logger.error({ err: (err as Error).message }, 'enforcer: sync failed');
      });
    return this.syncing;
  }

  private async syncNow(): Promise<void> {
    if (this.stopped) return;
    let routes: FlowRoute[];
    let undecodable: Skipped[];
    try {
      ({ routes, undecodable } = await this.readRoutes());
      this.unreachableSince = undefined;
    } catch (err) {
      this.unreachableSince ??= Date.now();
      if (
        Date.now() - this.unreachableSince >= (this.options.staleAfterMs ?? 60_000) &&
        this.lastScript !== 'deleted'
      ) {
        this.options.logger.warn(
          { err: (err as Error).message },
          'enforcer: gobgpd unreachable too long; removing FlowSpec rules',
        );
        await this.nft(deleteTableScript(this.table));
        this.lastScript = 'deleted';
        this.state.installed = [];
      }
      throw err;
    }
    let built = tableScript(this.table, routes, this.options.maxRoutes ?? 2000);
    let rejected: Skipped[] = [];
    if (built.script !== this.lastScript) {
      try {
        await this.nft(built.script);
      } catch (err) {
        rejected = await this.rejectedByNft(err as Error, built.installed);
        built = tableScript(
          this.table,
          routes.filter((r) => !rejected.some((x) => x.nlri === r.nlri)),
          this.options.maxRoutes ?? 2000,
        );
        if (built.script !== this.lastScript) await this.nft(built.script);
      }
    }
    const { script, installed } = built;
    const skipped = [...undecodable, ...built.skipped, ...rejected];
    for (const s of skipped) {
      if (!this.state.skipped.some((x) => x.nlri === s.nlri))
        this.options.logger.warn(s, 'enforcer: FlowSpec route not enforceable on Linux; skipped');
    }
    this.state.skipped = skipped;
    this.state.lastSyncAt = new Date().toISOString();
    if (script === this.lastScript) return;
    this.lastScript = script;
    this.state.installed = installed.map((r) => ({ nlri: r.nlri, ruleId: r.ruleId }));
    this.state.lastError = undefined;
    this.options.logger.info(
      { table: this.table, rules: installed.length, skipped: skipped.length },
      'enforcer: nftables updated',
    );
  }

  private async readRoutes(): Promise<{ routes: FlowRoute[]; undecodable: Skipped[] }> {
    const { FAMILIES, decodeFlowSpec, taggedRuleId, ComponentDecodeError } = await import('@ft/bgp-gobgp');
    const client = this.client as GobgpClient;
    const routes: FlowRoute[] = [];
    const undecodable: Skipped[] = [];
    for (const family of ['ipv4-flowspec', 'ipv6-flowspec'] as const) {
      const paths: ListedPath[] = this.options.peer
        ? await client.listPath('ADJ_IN', FAMILIES[family], this.options.peer)
        : (await client.listPath('GLOBAL', FAMILIES[family])).filter(
            (p) => p.neighborIp !== '' && p.neighborIp !== '<nil>',
          );
      for (const p of paths) {
        if (p.isWithdraw) continue;
        try {
          const { match, actions } = decodeFlowSpec(p.nlri, p.pattrs);
          const ruleId = findRuleId(p, taggedRuleId);
          routes.push({ nlri: p.prefix, match, actions, ...(ruleId ? { ruleId } : {}) });
        } catch (err) {
          // A route we cannot read is skipped, never allowed to stop enforcement of the others.
          const known = err instanceof ComponentDecodeError;
          undecodable.push({
            nlri: p.prefix,
            reason: known ? err.message : `unreadable route: ${(err as Error).message}`,
          });
        }
      }
    }
    return { routes, undecodable };
  }

  /**
   * When nft refuses the whole batch (a route our translation got wrong for this kernel), find the routes it
   * refuses one by one with `nft -c`, so one bad route cannot keep every other rule out.
   */
  private async rejectedByNft(whole: Error, routes: FlowRoute[]): Promise<Skipped[]> {
    const rejected: Skipped[] = [];
    for (const r of routes) {
      const err = await this.nft(tableScript(this.table, [r]).script, true).then(
        () => undefined,
        (e: Error) => e,
      );
      if (err) rejected.push({ nlri: r.nlri, reason: err.message });
    }
    if (rejected.length === 0) throw whole;
    return rejected;
  }

  /** Runs `nft -f -` (inside the namespace when asked) with the script on stdin; `check` only parses (-c). */
  private async nft(script: string, check = false): Promise<void> {
    const nft = ['nft', ...(check ? ['-c'] : []), '-f', '-'];
    const argv = this.options.netns ? ['ip', 'netns', 'exec', this.options.netns, ...nft] : nft;
    const r = await runArgv(argv, { input: script, timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`nft -f failed (exit ${r.code ?? 'none'}): ${r.stderr.trim()}`);
  }
}

/** The ft rule id a route carries, under any ASN (the edge does not know the controller's tag ASN). */
function findRuleId(
  p: ListedPath,
  taggedRuleId: (pattrs: ListedPath['pattrs'], asn: number) => string | undefined,
): string | undefined {
  const attr = p.pattrs.find((a) => a['@type'].endsWith('.LargeCommunitiesAttribute'));
  const asns = new Set(((attr?.communities ?? []) as { global_admin: number }[]).map((c) => Number(c.global_admin)));
  for (const asn of asns) {
    const id = taggedRuleId(p.pattrs, asn);
    if (id) return id;
  }
  return undefined;
}
