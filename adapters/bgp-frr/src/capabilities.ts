import type { RuleKind } from '@ft/sdk';

/** RTBH only: FRR 8.4 cannot originate FlowSpec (its flowspec address family only receives). */
export const FRR_CAPABILITIES: readonly RuleKind[] = ['rtbh'];
