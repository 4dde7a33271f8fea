import {
  defineAction,
  type Action,
  type Applied,
  type InstalledRef,
  type Prefix,
  type RenderedCommand,
  type Rule,
  type RuleId,
} from '@ft/sdk';
import { z } from 'zod';
import { HostRuleError } from '../common/errors.js';
import { HostExec } from '../common/exec.js';
import { argvCommand } from '../common/render.js';
import { netnsOption } from '../common/schema.js';
import { OwnerFile } from '../common/state.js';
import { checkFilterAction, checkMatch, checkPrefix, checkRuleId, expectKind } from '../common/validate.js';

/**
 * Routes ft installs carry this protocol number, so `ip route show proto 247` is exactly ft's routes and no
 * routing daemon or operator route is ever touched. 247 is unassigned in iproute2's rt_protos.
 */
export const FT_ROUTE_PROTO = 247;

export const nullrouteConfig = z.strictObject({
  /** blackhole: silent drop; unreachable/prohibit: drop and answer ICMP. */
  type: z.enum(['blackhole', 'unreachable', 'prohibit']).default('blackhole'),
  table: z.union([z.literal('main'), z.number().int().min(1).max(4_294_967_295)]).default('main'),
  protocol: z.number().int().min(1).max(255).default(FT_ROUTE_PROTO),
  netns: netnsOption,
  maxSources: z.number().int().min(1).max(1_000_000).default(100_000),
});
export type NullrouteConfig = z.infer<typeof nullrouteConfig>;

class NullrouteAction implements Action {
  readonly capabilities = ['rtbh', 'host-filter'] as const;
  private readonly exec: HostExec;
  private readonly owners: OwnerFile;

  constructor(
    private readonly config: NullrouteConfig,
    stateDir: string,
  ) {
    this.exec = new HostExec(config.netns);
    this.owners = new OwnerFile(stateDir, 'nullroute-owners');
  }

  /**
   * rtbh → the target itself (a router drops what it would forward to it); host-filter drop → the listed sources
   * (replies to them are dropped, so no handshake completes, and with strict rp_filter their packets too).
   */
  private prefixesOf(rule: Rule): { id: RuleId; prefixes: Prefix[] } {
    const r = expectKind('nullroute', rule, ['rtbh', 'host-filter']);
    const id = checkRuleId('nullroute', r.id);
    if (r.kind === 'rtbh') return { id, prefixes: [checkPrefix('nullroute', 'target', r.target)] };
    const hf = r;
    const spec = checkMatch('nullroute', id, hf.match, { maxSources: this.config.maxSources });
    const action = checkFilterAction('nullroute', hf.action);
    if (action.type !== 'drop' && action.type !== 'reject')
      throw new HostRuleError(
        'nullroute',
        'action.type',
        `a route drops or rejects; ${action.type} needs iptables or nft`,
      );
    if (spec.sources.length === 0)
      throw new HostRuleError(
        'nullroute',
        'match.sources',
        'a host-filter null route routes the sources away: give at least one (use an rtbh rule to null-route the target)',
      );
    if (spec.protocol || spec.sourcePorts.length || spec.destinationPorts.length || spec.tcpFlags) {
      throw new HostRuleError(
        'nullroute',
        'match',
        'a route matches addresses only: protocol, ports and TCP flags need iptables or nft',
      );
    }
    return { id, prefixes: spec.sources };
  }

  private line(verb: 'replace' | 'delete', p: Prefix): string {
    return `route ${verb} ${this.config.type} ${p.toString()} proto ${this.config.protocol} table ${this.config.table}`;
  }

  render(rule: Rule): RenderedCommand[] {
    const { prefixes } = this.prefixesOf(rule);
    return [
      argvCommand(
        'nullroute',
        this.exec,
        ['ip', '-batch', '-'],
        `${prefixes.map((p) => this.line('replace', p)).join('\n')}\n`,
      ),
    ];
  }

  /** ft's routes as `ip route` prints them: "blackhole 192.0.2.7" (family both). */
  private async routes(): Promise<{ type: string; dst: string }[]> {
    const out: { type: string; dst: string }[] = [];
    for (const fam of ['-4', '-6']) {
      const r = await this.exec.run([
        'ip',
        '-j',
        fam,
        'route',
        'show',
        'table',
        String(this.config.table),
        'proto',
        String(this.config.protocol),
      ]);
      for (const route of JSON.parse(r.stdout || '[]') as { type?: string; dst: string }[]) {
        const dst = route.dst.includes('/') ? route.dst : `${route.dst}/${fam === '-4' ? 32 : 128}`;
        out.push({ type: route.type ?? 'unicast', dst });
      }
    }
    return out;
  }

  async apply(rule: Rule): Promise<Applied> {
    const { id, prefixes } = this.prefixesOf(rule);
    // Recorded first: a crash after the routes went in still leaves them attributable.
    await this.owners.set(
      id,
      prefixes.map((p) => p.toString()),
    );
    await this.exec.run(['ip', '-batch', '-'], {
      input: `${prefixes.map((p) => this.line('replace', p)).join('\n')}\n`,
    });
    return {
      ruleId: id,
      state: 'installed',
      nativeId: `${this.config.type} proto ${this.config.protocol}`,
      detail: `${prefixes.length} route(s)`,
    };
  }

  async withdraw(target: Rule | InstalledRef): Promise<void> {
    const owners = await this.owners.read();
    let id: string | undefined;
    let wanted: string[];
    if ('kind' in target) {
      const p = this.prefixesOf(target);
      id = p.id;
      wanted = p.prefixes.map((x) => x.toString());
    } else {
      const m = /^route (\S+)$/.exec(target.nativeId);
      if (!m)
        throw new HostRuleError(
          'nullroute',
          'nativeId',
          `${JSON.stringify(target.nativeId)} is not a route ft installed`,
        );
      wanted = [checkPrefix('nullroute', 'nativeId', m[1]).toString()];
      id = target.ruleId;
    }
    // A route another live rule also asked for stays.
    const stillWanted = new Set(
      Object.entries(owners)
        .filter(([k]) => k !== id)
        .flatMap(([, v]) => v),
    );
    const present = new Set((await this.routes()).map((r) => r.dst));
    const go = wanted.filter((p) => present.has(p) && !stillWanted.has(p));
    if (go.length) {
      const lines = go.map((p) => `route delete ${p} proto ${this.config.protocol} table ${this.config.table}`);
      await this.exec.run(['ip', '-batch', '-'], { input: `${lines.join('\n')}\n` });
    }
    if (id) await this.owners.remove(id);
  }

  async list(): Promise<InstalledRef[]> {
    const owners = await this.owners.read();
    return (await this.routes()).map((r) => {
      const owner = OwnerFile.ownerOf(owners, r.dst);
      const ref: InstalledRef = {
        nativeId: `route ${r.dst}`,
        description: `${r.type} ${r.dst} proto ${this.config.protocol} table ${this.config.table}`,
      };
      if (owner) ref.ruleId = owner as RuleId;
      return ref;
    });
  }

  async health() {
    const r = await this.exec.run(['ip', 'route', 'show', 'table', String(this.config.table)], { allowFail: true });
    if (r.code !== 0) return { status: 'down' as const, detail: `ip route: ${r.stderr.trim()}` };
    return {
      status: 'ok' as const,
      detail: `${this.config.type} routes, proto ${this.config.protocol}, table ${this.config.table}`,
    };
  }
}

export const nullrouteFactory = defineAction({
  kind: 'nullroute',
  description: `local null route (blackhole/unreachable/prohibit) tagged proto ${FT_ROUTE_PROTO}: the target (rtbh) or attacking sources (host-filter)`,
  configSchema: nullrouteConfig,
  capabilities: ['rtbh', 'host-filter'],
  reach: 'host',
  // The onNode steps it can carry (policy validate refuses the others); test/policy/host-steps.test.ts checks them.
  features: { hostSteps: ['dropTopSources'] },
  async create(config, ctx) {
    return new NullrouteAction(nullrouteConfig.parse(config), ctx.stateDir);
  },
});
