import type { RenderedCommand, Rule } from '@ft/sdk';

/** The outcome of the RPKI check for one announcement, carried into the plan, the preview and the audit trail. */
export interface RpkiVerdict {
  state: 'valid' | 'invalid' | 'not-found' | 'unknown' | 'skipped';
  /** Why the planner let it through or refused it ("strictly Valid for AS64500", "no VRP covers 203.0.113.0/24"). */
  reason: string;
  /** For RTBH: the loose (maxLength-ignored) state recorded beside the strict one. */
  loose?: 'valid' | 'invalid' | 'not-found';
  sessionId?: number;
  serial?: number;
  dataAgeSeconds?: number;
}

/** Why an op is in the plan: which level and trigger, and the values that fired it. */
export interface Reason {
  summary: string;
  level?: number;
  trigger?: string;
  observed?: Record<string, number | string>;
}

export type OpType = 'add' | 'refresh' | 'withdraw';

export interface Op {
  type: OpType;
  rule: Rule;
  /** Action instance names (from the policy) that carry this rule out. */
  via: string[];
  reason: Reason;
  /** What each action in `via` will run, from the action's own render(). */
  rendered: RenderedCommand[];
  rpki?: RpkiVerdict;
}

/** A rule the planner would have wanted but refused, and the rail or cap that refused it. */
export interface Refusal {
  rule?: Rule;
  rail: string;
  message: string;
}

export interface Plan {
  tenant: string;
  mode: 'enforce' | 'preview';
  incidentId?: string;
  ops: Op[];
  refused: Refusal[];
  notes: string[];
}

/** A rule the store knows to be live, with where it is installed and when it expires. */
export interface ActiveRule {
  rule: Rule;
  via: string[];
  /** Epoch ms: when this rule went in, and when its TTL runs out. */
  appliedAt: number;
  expiresAt: number;
  incidentId?: string;
}
