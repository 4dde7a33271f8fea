import type { InstalledRef, Rule } from '@ft/sdk';

/**
 * What travels through a POP queue. Rules are content (never secret); the speaker is named, and the worker
 * resolves its options and credentials from its own policy and environment. Nothing secret is ever in a job.
 */
export type FleetJobData =
  | { op: 'apply'; adapter: string; rule: Rule; by: string }
  | { op: 'withdraw'; adapter: string; rule?: Rule; ref?: InstalledRef; by: string }
  /** Delayed until the rule's expiry: withdraws it unless the store says it was extended (then re-arms itself). */
  | { op: 'ttl'; adapter: string; rule: Rule; expiresAt: string }
  | { op: 'list'; adapter: string };

export interface ApplyResult {
  state: 'installed' | 'pending';
  nativeId?: string;
  detail?: string;
  pop: string;
  worker: string;
}

export interface TtlResult {
  outcome: 'withdrawn' | 'rearmed';
  expiresAt?: string;
  worker: string;
}

/** Retries inside BullMQ before a job counts as failed (the controller's lifecycle retries after that). */
export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 500;
