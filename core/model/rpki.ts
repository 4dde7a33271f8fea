import type { Prefix } from '@ft/sdk';
import type { RpkiVerdict } from './plan.js';

export type RpkiMode = 'enforce' | 'warn' | 'off';

/** One announcement the planner is about to make, as the RPKI check (docs/rpki.md; RFC 6811) needs to see it. */
export interface AnnouncementCheck {
  kind: 'rtbh' | 'flowspec' | 'divert';
  /** What is announced: the /32 or /128 for RTBH, the FlowSpec destination, the diverted prefix. */
  announced: Prefix;
  /** The unicast route that covers it (the protected prefix as originated); for divert, the diverted prefix. */
  covering: Prefix;
  /** The effective origin AS: ours, or the scrubber's for diversion. */
  originAs: number;
  mode: RpkiMode;
}

/** The planner's RPKI verdict source. `allowed` already applies mode and staleness (diversion fails closed). */
export interface RpkiVerdictProvider {
  verdict(check: AnnouncementCheck): RpkiVerdict & { allowed: boolean };
}
