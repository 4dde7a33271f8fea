import type { RuleKind } from '@ft/sdk';

export const BIRD_CAPABILITIES: readonly RuleKind[] = ['flowspec', 'rtbh'];
