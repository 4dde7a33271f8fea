import type { RuleKind } from '@ft/sdk';

export const EXABGP_CAPABILITIES: readonly RuleKind[] = ['flowspec', 'rtbh'];
