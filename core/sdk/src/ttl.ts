/**
 * Bounds on a rule's TTL, everywhere a TTL is accepted (policy, `mitigate apply --rule`, the RuleBook). At least one
 * second: a TTL of 0 (or 300ms) would expire a rule before it reached the router, and device-side timeouts
 * (ipset, firewalld, CSF) count whole seconds. At most 24 days: Node's timers and ipset's timeout both stop at
 * 2^31-1 (ms and s-ish respectively), past which a timer fires at once.
 */
export const TTL_LIMITS = { minSeconds: 1, maxSeconds: 24 * 86_400 } as const;

/** Why `seconds` is not a usable TTL, or undefined when it is. */
export function ttlProblem(seconds: number): string | undefined {
  if (!Number.isFinite(seconds)) return `a TTL must be a finite duration, got ${seconds}`;
  if (seconds <= 0) return 'every rule needs a TTL: 0 would expire it before it is installed; expected at least 1s';
  if (seconds < TTL_LIMITS.minSeconds)
    return `a TTL under a second (${Math.round(seconds * 1000)}ms) expires before the rule reaches the router: expected at least 1s`;
  if (!Number.isInteger(seconds)) return `TTLs are whole seconds (devices count them so): got ${seconds}s`;
  if (seconds > TTL_LIMITS.maxSeconds) return `a TTL of ${seconds}s is longer than the maximum of 24d`;
  return undefined;
}
