import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule, RuleId } from '@ft/sdk';
import { ConflictError, OwnershipFile, VendorClient, VendorHttpError, credential, httpUrl } from '@ft/http-vendor';
import { z } from 'zod';

const KIND = 'f5-bigip';
/** MCAST-TEST-NET (RFC 5771): keeps the list from ever being empty, as integrations do (empty lists may be refused). */
export const F5_PLACEHOLDER = '233.252.0.255';
const PLACEHOLDER_ENTRY: AddressEntry = {
  name: F5_PLACEHOLDER,
  description: 'ft: placeholder (MCAST-TEST-NET) so the list is never empty',
};

export const f5BigipConfigSchema = z
  .object({
    url: httpUrl().describe('BIG-IP management address, e.g. https://bigip1.example.net'),
    username: z.string().min(1).describe('Name of the credential holding the BIG-IP user.'),
    password: z.string().min(1).describe('Name of the credential holding the BIG-IP password.'),
    addressList: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/)
      .describe('AFM address list referenced by your drop rule (created once, by you).'),
    partition: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,62}$/)
      .default('Common'),
    timeoutMs: z.number().int().min(1000).max(120_000).default(20_000),
    retries: z.number().int().min(0).max(10).default(3),
    conflictRetries: z.number().int().min(0).max(10).default(3),
  })
  .strict();
export type F5BigipConfig = z.output<typeof f5BigipConfigSchema>;

/** One entry of an AFM address list, as iControl REST returns it; anything else it carries is kept too. */
export interface AddressEntry {
  name: string;
  description?: string;
  [field: string]: unknown;
}
interface AddressList {
  name: string;
  partition?: string;
  generation?: number;
  addresses?: AddressEntry[];
}
interface Owned {
  nativeId: string;
  ruleId: RuleId;
  added: string[];
}

export function f5Addresses(rule: Rule): string[] {
  if (rule.kind !== 'host-filter')
    throw new Error(
      `${KIND} cannot: an AFM address list holds sources to drop; a ${rule.kind} rule is not expressible`,
    );
  const r = rule;
  if (r.action.type !== 'drop' && r.action.type !== 'reject')
    throw new Error(`${KIND} cannot: "${r.action.type}" is not expressible (the list feeds a drop rule)`);
  if (!r.match.sources?.length) throw new Error(`${KIND} cannot: a rule without sources would drop everyone`);
  if (r.match.protocol || r.match.sourcePorts?.length || r.match.destinationPorts?.length || r.match.tcpFlags) {
    throw new Error(
      `${KIND} cannot: the address list blocks whole sources; protocol/port/flag narrowing is not expressible`,
    );
  }
  return r.match.sources.map((s) => (s.length === (s.family === 4 ? 32 : 128) ? String(s).split('/')[0]! : String(s)));
}

/**
 * F5 BIG-IP AFM: sources go into an address list your firewall rule drops. PATCH replaces the whole `addresses`
 * set, so each change is read-modify-write: every entry goes back exactly as GET returned it (descriptions and all,
 * whoever added it), guarded by the object's `generation`, re-read just before the PATCH (F5's own SDK checks it
 * the same way: iControl REST takes no precondition on a write, so a write landing between that read and the PATCH
 * cannot be detected). ft records what it added and only ever removes that.
 */
export class F5BigipAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  readonly #http: VendorClient;
  readonly #owned: OwnershipFile<Owned>;

  constructor(
    readonly config: F5BigipConfig,
    readonly ctx: PluginContext,
  ) {
    const user = credential(ctx, config.username);
    const pass = credential(ctx, config.password);
    this.#http = new VendorClient({
      vendor: KIND,
      baseUrl: config.url,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      logger: ctx.logger,
      signal: ctx.signal,
      authorize: (r) =>
        void (r.headers.authorization = `Basic ${Buffer.from(`${user().reveal()}:${pass().reveal()}`).toString('base64')}`),
    });
    this.#owned = new OwnershipFile(ctx.stateDir, 'f5-address-list');
  }

  #path(): string {
    return `/mgmt/tm/security/firewall/address-list/~${this.config.partition}~${this.config.addressList}`;
  }

  render(rule: Rule): RenderedCommand[] {
    try {
      const add = f5Addresses(rule);
      const url = `${this.config.url}${this.#path()}`;
      return [
        {
          adapter: KIND,
          format: 'http',
          text: `GET ${url}, then PATCH ${url} {"addresses":[…every current entry as read, unchanged…, ${add.map((a) => JSON.stringify({ name: a, description: `ft ${rule.id}` })).join(', ')}]}`,
          payload: { method: 'PATCH', url, add },
        },
      ];
    } catch (err) {
      return [{ adapter: KIND, format: 'text', text: (err as Error).message }];
    }
  }

  async #read(): Promise<AddressList> {
    return (await this.#http.request<AddressList>({ method: 'GET', path: this.#path() })).body;
  }

  async #modify(change: (entries: AddressEntry[]) => AddressEntry[] | undefined): Promise<void> {
    for (let attempt = 0; attempt <= this.config.conflictRetries; attempt++) {
      const cur = await this.#read();
      const next = change(cur.addresses ?? []);
      if (next === undefined) return;
      const again = await this.#read();
      if (again.generation !== cur.generation) {
        this.ctx.logger.warn(
          { list: this.config.addressList, attempt },
          'address list changed between read and write; starting over',
        );
        continue;
      }
      await this.#http.request({
        method: 'PATCH',
        path: this.#path(),
        body: { addresses: next.length ? next : [PLACEHOLDER_ENTRY] },
      });
      return;
    }
    throw new ConflictError(KIND, `address list ${this.config.addressList}`, this.config.conflictRetries + 1);
  }

  async apply(rule: Rule): Promise<Applied> {
    const want = f5Addresses(rule);
    const nativeId = rule.id;
    const others = new Set(
      [...(await this.#owned.all()).values()].filter((o) => o.nativeId !== nativeId).flatMap((o) => o.added),
    );
    let claim: string[] = [];
    await this.#modify((entries) => {
      const names = entries.map((e) => e.name);
      const add = want.filter((a) => !names.includes(a));
      claim = [...add, ...want.filter((a) => names.includes(a) && others.has(a))];
      if (!add.length) return undefined;
      const kept = entries.filter((e) => e.name !== F5_PLACEHOLDER);
      return [...kept, ...add.map((name) => ({ name, description: `ft ${rule.id}` }))];
    });
    const prior = (await this.#owned.get(nativeId))?.added ?? [];
    await this.#owned.put({ nativeId, ruleId: rule.id, added: [...new Set([...prior, ...claim])] });
    return { ruleId: rule.id, state: 'installed', nativeId };
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const nativeId = 'kind' in rule ? rule.id : rule.nativeId;
    const owned = await this.#owned.get(nativeId);
    if (!owned) return;
    const stillNeeded = new Set(
      [...(await this.#owned.all()).values()].filter((o) => o.nativeId !== nativeId).flatMap((o) => o.added),
    );
    const drop = owned.added.filter((a) => !stillNeeded.has(a));
    await this.#modify((entries) =>
      entries.some((e) => drop.includes(e.name)) ? entries.filter((e) => !drop.includes(e.name)) : undefined,
    );
    await this.#owned.delete(nativeId);
  }

  async list(): Promise<InstalledRef[]> {
    const owned = [...(await this.#owned.all()).values()];
    if (!owned.length) return [];
    const names = new Set(((await this.#read()).addresses ?? []).map((a) => a.name));
    return owned
      .filter((o) => o.added.some((a) => names.has(a)))
      .map((o) => ({
        ruleId: o.ruleId,
        nativeId: o.nativeId,
        description: `AFM address list entries ${o.added.join(', ')}`,
      }));
  }

  async health(): Promise<Health> {
    try {
      await this.#read();
      return { status: 'ok' };
    } catch (err) {
      const e = err as VendorHttpError;
      return { status: 'down', detail: e.message };
    }
  }
}
