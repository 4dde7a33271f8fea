import type { Redis } from 'ioredis';
import type { RuleId } from '@ft/sdk';
import type { Incident } from '../../model/incident.js';
import { reviveIncident, reviveRule } from '../codec.js';
import type { AuditQuery, AuditRecord, RuleRecord, RuleStore } from '../store.js';
import { CLAIM_SLOT, PUT_RULE, REMOVE_RULE } from './scripts.js';
import { closeRedis } from './connect.js';

export interface RedisStoreOptions {
  conn: Redis;
  /** Key namespace, so several ft deployments can share one Redis (default "ft"). */
  namespace?: string;
  /** The Redis audit stream keeps about this many records (default 100 000); older ones live only in the archive. */
  auditMaxLen?: number;
  /**
   * Long-term archive of what this process writes to the audit trail (the embedded journal of a controller). The
   * stream is the fleet-wide recent trail; the archive is the durable, unbounded one.
   */
  archive?: Pick<RuleStore, 'appendAudit' | 'close'>;
  /** A slot claimed but not yet taken by a stored rule lapses after this (default 60 s): a planner that died gives it back. */
  leaseMs?: number;
  /** Close the connection with the store (default true). */
  ownsConnection?: boolean;
}

/** Redis keys of one namespace; tenants and rule ids are key suffixes (Redis keys may hold any bytes). */
export function keys(ns: string) {
  const p = `${ns}:`;
  return {
    rules: `${p}rules`,
    incidents: `${p}incidents`,
    audit: `${p}audit`,
    slotsPrefix: `${p}slots:`,
    slots: (tenant: string) => `${p}slots:${tenant}`,
    epoch: (base: string) => `${p}epoch:${base}`,
    worker: (pop: string, id: string) => `${p}worker:${pop}:${id}`,
    workers: `${p}worker:*`,
  };
}

/**
 * The fleet's RuleStore: every controller and worker sees the same live rules, incidents, slots and audit trail.
 *
 *   <ns>:rules            hash   rule id → RuleRecord JSON
 *   <ns>:incidents        hash   incident id → Incident JSON
 *   <ns>:slots:<tenant>   zset   rule id → lease expiry (ms), +inf while a stored rule holds the slot
 *   <ns>:audit            stream bounded (MAXLEN ~), one field "r" = AuditRecord JSON
 *
 * Writes resolve once Redis acknowledged them; durability across a Redis restart is the server's (appendonly yes,
 * see docs/fleet.md).
 */
export class RedisRuleStore implements RuleStore {
  readonly description: string;
  readonly conn: Redis;
  readonly keys: ReturnType<typeof keys>;
  private readonly leaseMs: number;

  constructor(private readonly opts: RedisStoreOptions) {
    this.conn = opts.conn;
    this.keys = keys(opts.namespace ?? 'ft');
    this.leaseMs = opts.leaseMs ?? 60_000;
    const o = opts.conn.options;
    this.description = `redis ${o.tls ? 'rediss' : 'redis'}://${o.host}:${o.port}/${o.db ?? 0} namespace ${opts.namespace ?? 'ft'}`;
    this.conn.defineCommand('ftClaimSlot', { numberOfKeys: 1, lua: CLAIM_SLOT });
    this.conn.defineCommand('ftPutRule', { numberOfKeys: 2, lua: PUT_RULE });
    this.conn.defineCommand('ftRemoveRule', { numberOfKeys: 1, lua: REMOVE_RULE });
  }

  private get cmd() {
    return this.conn as unknown as {
      ftClaimSlot(key: string, cap: number, leaseMs: number, id: string): Promise<[number, number]>;
      ftPutRule(rules: string, slots: string, id: string, json: string): Promise<number>;
      ftRemoveRule(rules: string, id: string, slotsPrefix: string): Promise<number>;
    };
  }

  async rules(): Promise<RuleRecord[]> {
    const all = await this.conn.hgetall(this.keys.rules);
    return Object.values(all).map((json) => this.revive(json));
  }

  async rule(id: RuleId): Promise<RuleRecord | undefined> {
    const json = await this.conn.hget(this.keys.rules, id);
    return json === null ? undefined : this.revive(json);
  }

  private revive(json: string): RuleRecord {
    const r = JSON.parse(json) as RuleRecord;
    return { ...r, rule: reviveRule(r.rule, this.keys.rules, false) };
  }

  async putRule(record: RuleRecord): Promise<void> {
    await this.cmd.ftPutRule(
      this.keys.rules,
      this.keys.slots(record.rule.tenant),
      record.rule.id,
      JSON.stringify(record),
    );
  }

  async removeRule(id: RuleId): Promise<void> {
    await this.cmd.ftRemoveRule(this.keys.rules, id, this.keys.slotsPrefix);
  }

  async putIncident(incident: Incident): Promise<void> {
    await this.conn.hset(this.keys.incidents, incident.id, JSON.stringify(incident));
  }

  async incidents(): Promise<Incident[]> {
    const all = await this.conn.hgetall(this.keys.incidents);
    return Object.values(all).map((json) => reviveIncident(JSON.parse(json)));
  }

  async claimSlot(tenant: string, ruleId: RuleId, cap: number): Promise<{ granted: boolean; used: number }> {
    const [granted, used] = await this.cmd.ftClaimSlot(this.keys.slots(tenant), cap, this.leaseMs, ruleId);
    return { granted: granted === 1, used };
  }

  /** Live slots per tenant (stored rules plus unexpired leases), for `ft fleet status`. */
  async slotsUsed(tenant: string): Promise<number> {
    await this.conn.zremrangebyscore(this.keys.slots(tenant), '-inf', Date.now());
    return this.conn.zcard(this.keys.slots(tenant));
  }

  async appendAudit(records: AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const max = this.opts.auditMaxLen ?? 100_000;
    const pipe = this.conn.pipeline();
    for (const r of records) pipe.xadd(this.keys.audit, 'MAXLEN', '~', max, '*', 'r', JSON.stringify(r));
    const results = await pipe.exec();
    const failed = results?.find(([err]) => err);
    await this.opts.archive?.appendAudit(records);
    if (failed?.[0]) throw failed[0];
  }

  async queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const since = query.since?.getTime();
    const until = query.until?.getTime();
    // Stream ids are the server's arrival times: a cheap first cut, then the records' own times decide (a minute of
    // slack covers clocks that disagree).
    const start = since !== undefined ? String(Math.max(0, since - 60_000)) : '-';
    const entries = await this.conn.xrange(this.keys.audit, start, '+');
    const out: AuditRecord[] = [];
    for (const [, fields] of entries) {
      const json = fields[1];
      if (json === undefined) continue;
      const r = JSON.parse(json) as AuditRecord;
      const t = Date.parse(r.at);
      if (since !== undefined && t < since) continue;
      if (until !== undefined && t > until) continue;
      if (query.ruleId && r.ruleId !== query.ruleId) continue;
      if (query.incidentId && r.incidentId !== query.incidentId) continue;
      out.push(r);
    }
    out.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    return query.limit !== undefined ? out.slice(Math.max(0, out.length - query.limit)) : out;
  }

  async close(): Promise<void> {
    await this.opts.archive?.close();
    if (this.opts.ownsConnection !== false) await closeRedis(this.conn);
  }
}
