import type { AnnouncementCheck, RpkiVerdictProvider } from '../model/rpki.js';

/** For `rpki: off`: every announcement is let through, and the plan says the check was skipped. */
export const rpkiSkipped: RpkiVerdictProvider = {
  verdict: () => ({ state: 'skipped', reason: 'rpki: off in the policy', allowed: true }),
};

/**
 * When no VRP data is available at all. `enforce` refuses every announcement; `warn` lets FlowSpec and RTBH
 * through marked unknown; diversion fails closed whatever the mode (docs/rpki.md).
 */
export const rpkiNoData: RpkiVerdictProvider = {
  verdict(check: AnnouncementCheck) {
    if (check.mode === 'off') return { state: 'skipped', reason: 'rpki: off in the policy', allowed: true };
    if (check.kind === 'divert') {
      return {
        state: 'unknown',
        reason: 'no RPKI data: diversion fails closed (pass --vrps, or run with an RTR cache)',
        allowed: false,
      };
    }
    if (check.mode === 'warn')
      return { state: 'unknown', reason: 'no RPKI data; rpki: warn lets it through', allowed: true };
    return { state: 'unknown', reason: 'no RPKI data: pass --vrps or set rpki: warn/off', allowed: false };
  },
};
