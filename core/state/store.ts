import type { IncidentReport, RenderedCommand, Rule, RuleId } from '@ft/sdk';
import type { Incident } from '../model/incident.js';
import type { ActiveRule, Reason, RpkiVerdict } from '../model/plan.js';

/** Where one rule stands on one action instance. */
export type AdapterState = 'pending' | 'installed' | 'failed' | 'withdrawn' | 'withdraw-failed';

export interface AdapterStatus {
  state: AdapterState;
  /** Consecutive failed attempts (reset on success); drives retry backoff. */
  failures: number;
  error?: string;
  nativeId?: string;
  /** When the lifecycle may try again after a failure (ISO time). */
  retryAt?: string;
  updatedAt: string;
}

/**
 * A rule the store knows about. `live`: wanted until `expiresAt`. `withdrawing`: on its way out (a crash in
 * between is finished by reconcile). Written before any action is touched, so a restart knows what may be
 * installed even when the process died halfway through an apply.
 */
export interface RuleRecord extends Omit<ActiveRule, 'appliedAt' | 'expiresAt'> {
  appliedAt: string;
  expiresAt: string;
  phase: 'live' | 'withdrawing';
  adapters: Record<string, AdapterStatus>;
  /** Who or what asked for it: "planner", "operator:alice", "reconcile". */
  plannedBy: string;
  reason?: Reason;
  /** Why it is being withdrawn. */
  withdrawReason?: string;
  /** Legitimate traffic measured just before the rule went in (collateral-damage rollback compares to it). */
  legitBefore?: number;
}

export type AuditOp = 'add' | 'refresh' | 'withdraw' | 'forget' | 'reconcile' | 'incident' | 'alert' | 'preview';
export type Outcome = 'ok' | 'partial' | 'failed' | 'skipped' | 'interrupted';

export interface AdapterResult {
  adapter: string;
  outcome: 'ok' | 'failed' | 'timeout' | 'skipped';
  attempts: number;
  ms: number;
  detail?: string;
  error?: string;
}

/**
 * One entry of the audit trail. An op writes a `start` record before it touches any action and an `end` record
 * with the results; a crash between them is closed by reconcile with outcome `interrupted`, so no op is ever
 * missing from the trail.
 */
export interface AuditRecord {
  /** Shared by an op's start and end records. */
  id: string;
  phase: 'start' | 'end' | 'event';
  at: string;
  op: AuditOp;
  tenant?: string;
  ruleId?: RuleId;
  incidentId?: string;
  plannedBy?: string;
  mode?: 'enforce' | 'preview';
  rule?: Rule;
  via?: string[];
  reason?: Reason | string;
  rendered?: RenderedCommand[];
  rpki?: RpkiVerdict;
  results?: AdapterResult[];
  outcome?: Outcome;
  durationMs?: number;
  message?: string;
  /** The reference JSON (the trail is an edge: people and tools read it). */
  incident?: IncidentReport;
}

export interface AuditQuery {
  since?: Date;
  until?: Date;
  ruleId?: string;
  incidentId?: string;
  /** The newest N matching records (after the other filters). */
  limit?: number;
}

/**
 * What ft remembers. Async and narrow on purpose: the embedded journal implements it today, the fleet puts Redis
 * behind it. Every write resolves only once it is durable.
 */
export interface RuleStore {
  readonly description: string;
  rules(): Promise<RuleRecord[]>;
  rule(id: RuleId): Promise<RuleRecord | undefined>;
  putRule(record: RuleRecord): Promise<void>;
  removeRule(id: RuleId): Promise<void>;
  putIncident(incident: Incident): Promise<void>;
  incidents(): Promise<Incident[]>;
  appendAudit(records: AuditRecord[]): Promise<void>;
  queryAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /**
   * A slot under the tenant's live-rule cap for this rule (a rule already holding one keeps it). The fleet store
   * implements it as a lease shared by every worker; the embedded store counts its own live rules. The slot is
   * taken by the putRule that follows a granted claim and given back by removeRule.
   */
  claimSlot(tenant: string, ruleId: RuleId, cap: number): Promise<{ granted: boolean; used: number }>;
  close(): Promise<void>;
}
