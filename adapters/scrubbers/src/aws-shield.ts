import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule, RuleId } from '@ft/sdk';
import { ConflictError, OwnershipFile, credential } from '@ft/http-vendor';
import { z } from 'zod';
import { CannotExpress } from './cannot.js';

const KIND = 'aws-shield';

const ipSet = z.object({ name: z.string().min(1).max(128), id: z.string().min(1).max(64) }).strict();
const loopbackOrHttps = z
  .string()
  .url()
  .refine((u) => {
    const url = new URL(u);
    return (
      url.protocol === 'https:' ||
      (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
    );
  }, 'must be https (plain http only to a loopback address, for tests)');

export const awsShieldConfigSchema = z
  .object({
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1')
      .default('us-east-1'),
    scope: z.enum(['REGIONAL', 'CLOUDFRONT']).default('REGIONAL').describe('CLOUDFRONT IP sets live in us-east-1.'),
    ipSets: z
      .object({ v4: ipSet.optional(), v6: ipSet.optional() })
      .strict()
      .refine((s) => s.v4 || s.v6, 'name at least one WAF IP set (v4 and/or v6)'),
    /** The Shield Advanced protection whose presence health() confirms (protection is always on once created). */
    protectionId: z.string().min(1).optional(),
    accessKeyId: z.string().min(1).describe('Name of the credential holding the access key id.'),
    secretAccessKey: z.string().min(1).describe('Name of the credential holding the secret access key.'),
    sessionToken: z
      .string()
      .min(1)
      .optional()
      .describe('Name of the credential holding a session token (temporary credentials).'),
    wafEndpoint: loopbackOrHttps.optional(),
    shieldEndpoint: loopbackOrHttps.optional(),
    retries: z.number().int().min(0).max(10).default(3),
    conflictRetries: z.number().int().min(0).max(10).default(3),
  })
  .strict();
export type AwsShieldConfig = z.output<typeof awsShieldConfigSchema>;

interface Owned {
  nativeId: string;
  ruleId: RuleId;
  /** Addresses this rule added (not those already in the set when it was applied). */
  added: string[];
}

/** The CIDRs a host-filter rule adds to the IP sets, or why WAF cannot express it. */
export function wafAddresses(rule: Rule): { v4: string[]; v6: string[] } {
  if (rule.kind !== 'host-filter')
    throw new CannotExpress(
      KIND,
      `Shield Advanced has no on-demand scrubbing (protection is always on); a ${rule.kind} rule is not expressible`,
    );
  const r = rule;
  if (r.action.type !== 'drop' && r.action.type !== 'reject')
    throw new CannotExpress(KIND, `a WAF IP set blocks; "${r.action.type}" is not expressible here`);
  if (!r.match.sources?.length) throw new CannotExpress(KIND, 'a rule without sources would block everyone');
  if (r.match.protocol || r.match.sourcePorts?.length || r.match.destinationPorts?.length || r.match.tcpFlags) {
    throw new CannotExpress(
      KIND,
      'a WAF IP set blocks whole sources (HTTP requests to the protected resources); protocol/port/flag narrowing is not expressible',
    );
  }
  return {
    v4: r.match.sources.filter((s) => s.family === 4).map(String),
    v6: r.match.sources.filter((s) => s.family === 6).map(String),
  };
}

type Sdk = {
  waf: import('@aws-sdk/client-wafv2').WAFV2Client;
  shield: import('@aws-sdk/client-shield').ShieldClient;
  wafMod: typeof import('@aws-sdk/client-wafv2');
  shieldMod: typeof import('@aws-sdk/client-shield');
};

/**
 * AWS: Shield Advanced protections are always on (nothing to switch per attack), so "activate" = add the attacking
 * sources to WAFv2 IP sets that a Block rule of your web ACL references. UpdateIPSet replaces the whole list:
 * GetIPSet → modify → UpdateIPSet with the LockToken; WAFOptimisticLockException (someone wrote in between)
 * means read again. IP set entries carry no label, so ft records which addresses it added and only removes those.
 */
export class AwsShieldAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  readonly #owned: OwnershipFile<Owned>;
  #sdk: Promise<Sdk> | undefined;

  constructor(
    readonly config: AwsShieldConfig,
    readonly ctx: PluginContext,
  ) {
    this.#owned = new OwnershipFile(ctx.stateDir, 'aws-ipset-entries');
  }

  /** SDK clients are loaded and built on first use: create() and render() stay offline. */
  #clients(): Promise<Sdk> {
    this.#sdk ??= (async () => {
      const [wafMod, shieldMod] = await Promise.all([
        import('@aws-sdk/client-wafv2'),
        import('@aws-sdk/client-shield'),
      ]);
      const id = credential(this.ctx, this.config.accessKeyId);
      const secret = credential(this.ctx, this.config.secretAccessKey);
      const session = this.config.sessionToken ? credential(this.ctx, this.config.sessionToken) : undefined;
      const credentials = async () => ({
        accessKeyId: id().reveal(),
        secretAccessKey: secret().reveal(),
        ...(session ? { sessionToken: session().reveal() } : {}),
      });
      const maxAttempts = this.config.retries + 1;
      const wafRegion = this.config.scope === 'CLOUDFRONT' ? 'us-east-1' : this.config.region;
      return {
        wafMod,
        shieldMod,
        waf: new wafMod.WAFV2Client({
          region: wafRegion,
          credentials,
          maxAttempts,
          ...(this.config.wafEndpoint ? { endpoint: this.config.wafEndpoint } : {}),
        }),
        // Shield's API lives in us-east-1 whatever the protected resource's region.
        shield: new shieldMod.ShieldClient({
          region: 'us-east-1',
          credentials,
          maxAttempts,
          ...(this.config.shieldEndpoint ? { endpoint: this.config.shieldEndpoint } : {}),
        }),
      };
    })();
    return this.#sdk;
  }

  #sets(): { family: 'v4' | 'v6'; name: string; id: string }[] {
    const out: { family: 'v4' | 'v6'; name: string; id: string }[] = [];
    if (this.config.ipSets.v4) out.push({ family: 'v4', ...this.config.ipSets.v4 });
    if (this.config.ipSets.v6) out.push({ family: 'v6', ...this.config.ipSets.v6 });
    return out;
  }

  render(rule: Rule): RenderedCommand[] {
    try {
      const addrs = wafAddresses(rule);
      const cmds: RenderedCommand[] = this.#sets()
        .filter((s) => addrs[s.family].length > 0)
        .map((s): RenderedCommand => {
          const body = { Name: s.name, Scope: this.config.scope, Id: s.id, add: addrs[s.family] };
          return {
            adapter: KIND,
            format: 'http',
            text: `AWSWAF_20190729.GetIPSet then AWSWAF_20190729.UpdateIPSet (${this.config.scope === 'CLOUDFRONT' ? 'us-east-1' : this.config.region}) ${s.name}/${s.id}: add ${addrs[s.family].join(', ')} to the current addresses, with the LockToken read`,
            payload: body,
          };
        });
      return [...cmds, ...this.#missingFamily(addrs)];
    } catch (err) {
      if (err instanceof CannotExpress) return err.render();
      throw err;
    }
  }

  #missingFamily(addrs: { v4: string[]; v6: string[] }): RenderedCommand[] {
    return (['v4', 'v6'] as const)
      .filter((f) => addrs[f].length > 0 && !this.config.ipSets[f])
      .map((f) => ({
        adapter: KIND,
        format: 'text',
        text: `${KIND} cannot: no ${f} IP set configured for ${addrs[f].join(', ')}`,
      }));
  }

  #describe(err: unknown): Error {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const auth = [
      'UnrecognizedClientException',
      'InvalidSignatureException',
      'AccessDeniedException',
      'ExpiredTokenException',
    ].includes(e.name ?? '');
    return new Error(
      `${KIND}: ${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}${auth ? ' (check the credential and its IAM permissions; not retried)' : ''}`,
    );
  }

  /** GetIPSet → change → UpdateIPSet(LockToken); a stale token means someone wrote: read again. */
  async #modify(
    set: { name: string; id: string },
    change: (addresses: string[]) => string[] | undefined,
  ): Promise<void> {
    const { waf, wafMod } = await this.#clients();
    for (let attempt = 0; attempt <= this.config.conflictRetries; attempt++) {
      let got;
      try {
        got = await waf.send(new wafMod.GetIPSetCommand({ Name: set.name, Scope: this.config.scope, Id: set.id }));
      } catch (err) {
        throw this.#describe(err);
      }
      const current = got.IPSet?.Addresses ?? [];
      const next = change(current);
      if (next === undefined) return;
      try {
        await waf.send(
          new wafMod.UpdateIPSetCommand({
            Name: set.name,
            Scope: this.config.scope,
            Id: set.id,
            Addresses: next,
            LockToken: got.LockToken,
            ...(got.IPSet?.Description ? { Description: got.IPSet.Description } : {}),
          }),
        );
        return;
      } catch (err) {
        if ((err as { name?: string }).name !== 'WAFOptimisticLockException') throw this.#describe(err);
        this.ctx.logger.warn(
          { ipSet: set.name, attempt },
          'IP set changed since it was read (stale LockToken); reading again',
        );
      }
    }
    throw new ConflictError(KIND, `WAF IP set ${set.name}`, this.config.conflictRetries + 1);
  }

  async apply(rule: Rule): Promise<Applied> {
    const addrs = wafAddresses(rule);
    const missing = this.#missingFamily(addrs);
    if (missing.length) throw new Error(missing[0]!.text);
    const nativeId = rule.id;
    const owned = (await this.#owned.get(nativeId)) ?? { nativeId, ruleId: rule.id, added: [] as string[] };
    for (const set of this.#sets()) {
      const want = addrs[set.family];
      if (!want.length) continue;
      // An address another ft rule added is shared with it (kept until both are withdrawn); one that was in the
      // set before ft touched it belongs to whoever put it there and is never claimed.
      const ftClaimed = new Set(
        [...(await this.#owned.all()).values()].filter((o) => o.nativeId !== nativeId).flatMap((o) => o.added),
      );
      let claim: string[] = [];
      await this.#modify(set, (current) => {
        const add = want.filter((a) => !current.includes(a));
        claim = [...add, ...want.filter((a) => current.includes(a) && ftClaimed.has(a))];
        return add.length ? [...current, ...add] : undefined;
      });
      // Recorded only once the write went through.
      const prior = (await this.#owned.get(nativeId))?.added ?? owned.added;
      await this.#owned.put({ ...owned, added: [...new Set([...prior, ...claim])] });
    }
    return { ruleId: rule.id, state: 'installed', nativeId };
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const nativeId = 'kind' in rule ? rule.id : rule.nativeId;
    const owned = await this.#owned.get(nativeId);
    if (!owned) return;
    // Addresses another live ft rule also added stay until that rule goes too.
    const stillNeeded = new Set(
      [...(await this.#owned.all()).values()].filter((o) => o.nativeId !== nativeId).flatMap((o) => o.added),
    );
    const drop = owned.added.filter((a) => !stillNeeded.has(a));
    for (const set of this.#sets()) {
      await this.#modify(set, (current) =>
        current.some((a) => drop.includes(a)) ? current.filter((a) => !drop.includes(a)) : undefined,
      );
    }
    await this.#owned.delete(nativeId);
  }

  async list(): Promise<InstalledRef[]> {
    const owned = [...(await this.#owned.all()).values()];
    if (!owned.length) return [];
    const { waf, wafMod } = await this.#clients();
    const present = new Set<string>();
    for (const set of this.#sets()) {
      try {
        const got = await waf.send(
          new wafMod.GetIPSetCommand({ Name: set.name, Scope: this.config.scope, Id: set.id }),
        );
        for (const a of got.IPSet?.Addresses ?? []) present.add(a);
      } catch (err) {
        throw this.#describe(err);
      }
    }
    return owned
      .filter((o) => o.added.some((a) => present.has(a)))
      .map((o) => ({
        ruleId: o.ruleId,
        nativeId: o.nativeId,
        description: `WAF IP set entries ${o.added.join(', ')}`,
      }));
  }

  async health(): Promise<Health> {
    try {
      const { shield, shieldMod, waf, wafMod } = await this.#clients();
      const set = this.#sets()[0]!;
      await waf.send(new wafMod.GetIPSetCommand({ Name: set.name, Scope: this.config.scope, Id: set.id }));
      if (this.config.protectionId) {
        const p = await shield.send(
          new shieldMod.DescribeProtectionCommand({ ProtectionId: this.config.protectionId }),
        );
        return {
          status: 'ok',
          detail: `Shield Advanced protection ${p.Protection?.Name ?? this.config.protectionId} on ${p.Protection?.ResourceArn ?? '?'}`,
        };
      }
      return { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: this.#describe(err).message };
    }
  }

  async close(): Promise<void> {
    if (this.#sdk) {
      const { waf, shield } = await this.#sdk;
      waf.destroy();
      shield.destroy();
    }
  }
}
