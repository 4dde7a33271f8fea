import type { Action, Applied, Health, InstalledRef, PluginContext, RenderedCommand, Rule, RuleId } from '@ft/sdk';
import { isRuleId } from '@ft/sdk';
import { ConflictError, VendorClient, commonErrorMessage, credential, httpBase, type Refusal } from '@ft/http-vendor';
import { z } from 'zod';
import { CannotExpress } from './cannot.js';

const KIND = 'hetzner';
/** Robot's documented cap on rules per direction. */
export const ROBOT_MAX_INPUT_RULES = 10;

export const hetznerConfigSchema = z
  .object({
    serverNumber: z.number().int().positive().describe('Robot server number (identifying by IP is deprecated).'),
    user: z.string().min(1).describe('Name of the credential holding the Robot webservice user.'),
    password: z.string().min(1).describe('Name of the credential holding the Robot webservice password.'),
    baseUrl: httpBase('https://robot-ws.your-server.de'),
    timeoutMs: z.number().int().min(1000).max(120_000).default(30_000),
    retries: z.number().int().min(0).max(10).default(3),
    conflictRetries: z.number().int().min(0).max(10).default(3),
  })
  .strict();
export type HetznerConfig = z.output<typeof hetznerConfigSchema>;

export interface RobotRule {
  name?: string | null;
  ip_version?: string | null;
  dst_ip?: string | null;
  dst_port?: string | null;
  src_ip?: string | null;
  src_port?: string | null;
  protocol?: string | null;
  tcp_flags?: string | null;
  action: 'accept' | 'discard';
}
export interface RobotFirewall {
  server_ip?: string;
  server_ipv6_net?: string;
  server_number: number;
  status: 'active' | 'disabled' | 'in process';
  /** IPv4 is always filtered; IPv6 only when this is on. */
  filter_ipv6?: boolean;
  whitelist_hos: boolean;
  port: string;
  rules: { input: RobotRule[]; output?: RobotRule[] };
  /** Settings a newer Robot may return: echoed back unchanged, because the POST replaces the whole configuration. */
  [setting: string]: unknown;
}

/** Fields of GET /firewall that identify the server rather than configure its firewall: never sent back. */
const IDENTITY_FIELDS = new Set(['server_ip', 'server_ipv6_net', 'server_number']);

interface RobotError {
  status?: number;
  code?: string;
  message?: string;
  max_request?: number;
  interval?: number;
}
const robotError = (body: unknown): RobotError | undefined => {
  const e = (body as { error?: unknown } | undefined)?.error;
  return e && typeof e === 'object' ? e : undefined;
};

/**
 * Robot's documented errors (robot.hetzner.com/doc/webservice, "Errors"): 401 is a wrong user/password (and Robot
 * blocks the calling address for 10 minutes after 3 failed logins, so it is never retried); 403 is the request
 * limit, `RATE_LIMIT_EXCEEDED` with `max_request` requests per `interval` seconds: wait the interval and resend.
 */
export function robotClassify(status: number, body: unknown): Refusal | undefined {
  const e = robotError(body);
  if (status === 403 && e?.code === 'RATE_LIMIT_EXCEEDED') {
    const s = typeof e.interval === 'number' && Number.isFinite(e.interval) && e.interval > 0 ? e.interval : 1;
    return { kind: 'rate-limited', waitMs: Math.ceil(s * 1000) };
  }
  // Robot documents 403 for its request limit only: any other code is a refusal of this request, not the login.
  if (status === 403) return { kind: 'client' };
  return undefined;
}

export function robotErrorMessage(status: number, body: unknown): string | undefined {
  const e = robotError(body);
  const base = commonErrorMessage(status, body);
  if (e?.code === 'RATE_LIMIT_EXCEEDED' && e.max_request !== undefined)
    return `${base} (Robot allows ${e.max_request} requests per ${e.interval ?? '?'} s)`;
  if (status === 401) return `${base} (Robot blocks the calling address for 10 minutes after 3 failed logins)`;
  return base;
}

const LABEL = 'ft-';
const ruleIdOf = (name: string | null | undefined): RuleId | undefined => {
  const id = name?.startsWith(LABEL) ? name.slice(LABEL.length) : undefined;
  return id && isRuleId(id) ? id : undefined;
};

/** The Robot input rules (discard) a host-filter rule becomes, or why Robot cannot express it. */
export function robotRules(rule: Rule): RobotRule[] {
  if (rule.kind !== 'host-filter')
    throw new CannotExpress(
      KIND,
      `the Robot firewall filters packets; a ${rule.kind} rule is not expressible (Hetzner has no scrubbing API: its DDoS protection is automatic)`,
    );
  const r = rule;
  if (r.action.type !== 'drop' && r.action.type !== 'reject')
    throw new CannotExpress(KIND, `the Robot firewall accepts or discards; "${r.action.type}" is not expressible`);
  const m = r.match;
  if (m.destination.family !== 4 || m.sources?.some((s) => s.family !== 4))
    throw new CannotExpress(KIND, 'ft drives IPv4 Robot rules only');
  if (m.tcpFlags)
    throw new CannotExpress(KIND, 'TCP flag matches are not expressed (Robot tcp_flags syntax unverified)');
  const onePort = (ranges: { min: number; max: number }[] | undefined, what: string): string | null => {
    if (!ranges?.length) return null;
    if (ranges.length > 1)
      throw new CannotExpress(KIND, `one ${what} range per Robot rule; the rule has ${ranges.length}`);
    const [p] = ranges;
    return p!.min === p!.max ? String(p!.min) : `${p!.min}-${p!.max}`;
  };
  const base: Omit<RobotRule, 'src_ip'> = {
    name: `${LABEL}${rule.id}`,
    ip_version: 'ipv4',
    dst_ip: String(m.destination),
    dst_port: onePort(m.destinationPorts, 'destination port'),
    src_port: onePort(m.sourcePorts, 'source port'),
    protocol: m.protocol ?? null,
    tcp_flags: null,
    action: 'discard',
  };
  const sources = m.sources?.length ? m.sources.map(String) : [null];
  return sources.map((s) => ({ ...base, src_ip: s }));
}

/**
 * x-www-form-urlencoded with Robot's bracketed keys: rules[input][0][src_ip]=… The POST replaces the whole
 * configuration, so every setting GET returned goes back as it was (filter_ipv6 included: leaving it out could
 * switch the owner's IPv6 filtering off), only `status` is written as active.
 */
export function robotForm(fw: RobotFirewall): string {
  const f = new URLSearchParams();
  f.set('status', 'active');
  for (const [k, v] of Object.entries(fw)) {
    if (k === 'status' || k === 'rules' || IDENTITY_FIELDS.has(k)) continue;
    if (typeof v === 'boolean' || typeof v === 'number' || (typeof v === 'string' && v !== '')) f.set(k, String(v));
  }
  for (const dir of ['input', 'output'] as const) {
    (fw.rules[dir] ?? []).forEach((rule, i) => {
      for (const [k, v] of Object.entries(rule))
        if (v !== null && v !== undefined && v !== '') f.set(`rules[${dir}][${i}][${k}]`, String(v));
    });
  }
  return f.toString();
}

/**
 * Hetzner Robot (dedicated servers) firewall: block sources with discard rules placed before the server's own
 * rules. The API replaces the whole rule set, so every write is read-modify-write: ft re-reads just before writing
 * and starts over if anything changed, and touches only rules named `ft-<rule id>`.
 */
export class HetznerRobotAction implements Action {
  readonly capabilities = ['host-filter'] as const;
  readonly #http: VendorClient;

  constructor(
    readonly config: HetznerConfig,
    readonly ctx: PluginContext,
  ) {
    const user = credential(ctx, config.user);
    const password = credential(ctx, config.password);
    this.#http = new VendorClient({
      vendor: KIND,
      baseUrl: config.baseUrl,
      timeoutMs: config.timeoutMs,
      retries: config.retries,
      logger: ctx.logger,
      signal: ctx.signal,
      classify: robotClassify,
      errorMessage: robotErrorMessage,
      authorize: (r) =>
        void (r.headers.authorization = `Basic ${Buffer.from(`${user().reveal()}:${password().reveal()}`).toString('base64')}`),
    });
  }

  #path(): string {
    return `/firewall/${this.config.serverNumber}`;
  }

  render(rule: Rule): RenderedCommand[] {
    try {
      const rules = robotRules(rule);
      const url = `${this.config.baseUrl}${this.#path()}`;
      return [
        {
          adapter: KIND,
          format: 'http',
          text: `GET ${url}, then POST ${url} (form, whole rule set) with these input rules first, the server's own rules after them unchanged: ${JSON.stringify(rules)}`,
          payload: { method: 'POST', url, contentType: 'application/x-www-form-urlencoded', insertInputRules: rules },
        },
      ];
    } catch (err) {
      if (err instanceof CannotExpress) return err.render();
      throw err;
    }
  }

  async #read(): Promise<RobotFirewall> {
    return (await this.#http.request<{ firewall: RobotFirewall }>({ method: 'GET', path: this.#path() })).body.firewall;
  }

  /** Read, change, re-read, write; a change between the reads means someone else is editing: start over. */
  async #modify(
    change: (input: RobotRule[]) => RobotRule[] | undefined,
  ): Promise<{ outcome: 'unchanged' | 'busy' | 'written'; status: RobotFirewall['status'] }> {
    for (let attempt = 0; attempt <= this.config.conflictRetries; attempt++) {
      const fw = await this.#read();
      const next = change(fw.rules.input);
      if (next === undefined) return { outcome: 'unchanged', status: fw.status };
      if (fw.status === 'in process') return { outcome: 'busy', status: fw.status };
      if (fw.status !== 'active') {
        throw new Error(
          `${KIND}: the Robot firewall of server ${this.config.serverNumber} is ${fw.status}; ft will not switch it on (Robot discards whatever no rule accepts)`,
        );
      }
      if (next.length > ROBOT_MAX_INPUT_RULES) {
        throw new Error(
          `${KIND}: would need ${next.length} input rules, Robot allows ${ROBOT_MAX_INPUT_RULES}; nothing was changed`,
        );
      }
      const again = await this.#read();
      // Settings too: what goes back is the first read's, so a change to any of them in between must not be undone.
      if (again.status === 'in process' || robotForm(again) !== robotForm(fw)) {
        this.ctx.logger.warn(
          { server: this.config.serverNumber, attempt },
          'Robot firewall changed between read and write; starting over',
        );
        continue;
      }
      await this.#http.request({
        method: 'POST',
        path: this.#path(),
        rawBody: {
          text: robotForm({ ...fw, rules: { ...fw.rules, input: next } }),
          contentType: 'application/x-www-form-urlencoded',
        },
      });
      return { outcome: 'written', status: 'in process' };
    }
    throw new ConflictError(
      KIND,
      `the Robot firewall of server ${this.config.serverNumber}`,
      this.config.conflictRetries + 1,
    );
  }

  async apply(rule: Rule): Promise<Applied> {
    const wanted = robotRules(rule);
    const nativeId = `${this.config.serverNumber}/${rule.id}`;
    const { outcome, status } = await this.#modify((input) => {
      const mine = input.filter((r) => ruleIdOf(r.name) === rule.id);
      if (mine.length === wanted.length) return undefined;
      const others = input.filter((r) => ruleIdOf(r.name) !== rule.id);
      // ft's discards go first: Robot stops at the first matching rule, and the server's own accepts follow.
      const ftFirst = others.filter((r) => ruleIdOf(r.name) !== undefined);
      const theirs = others.filter((r) => ruleIdOf(r.name) === undefined);
      return [...ftFirst, ...wanted, ...theirs];
    });
    if (outcome === 'unchanged' && status === 'active') return { ruleId: rule.id, state: 'installed', nativeId };
    return {
      ruleId: rule.id,
      state: 'pending',
      nativeId,
      detail:
        outcome !== 'written'
          ? 'Robot firewall is "in process" (another change being applied); will retry'
          : 'Robot firewall change submitted; takes 20-30 s',
    };
  }

  async withdraw(rule: Rule | InstalledRef): Promise<void> {
    const id = 'kind' in rule ? rule.id : (rule.ruleId ?? rule.nativeId.split('/')[1]);
    const { outcome } = await this.#modify((input) =>
      input.some((r) => ruleIdOf(r.name) === id) ? input.filter((r) => ruleIdOf(r.name) !== id) : undefined,
    );
    // The executor retries a failed withdraw; Robot applies one change at a time.
    if (outcome === 'busy')
      throw new Error(
        `${KIND}: the Robot firewall is "in process" (a change is being applied); withdraw will be retried`,
      );
  }

  async list(): Promise<InstalledRef[]> {
    const fw = await this.#read();
    const ids = new Set(fw.rules.input.map((r) => ruleIdOf(r.name)).filter((x): x is RuleId => x !== undefined));
    return [...ids].map((id) => ({
      ruleId: id,
      nativeId: `${this.config.serverNumber}/${id}`,
      description: `Robot firewall discard rules ${LABEL}${id}`,
    }));
  }

  async health(): Promise<Health> {
    try {
      const fw = await this.#read();
      return fw.status === 'disabled'
        ? { status: 'degraded', detail: 'Robot firewall is disabled: ft cannot add rules' }
        : { status: 'ok' };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }
}
