// Rule builders for the scrubber tests (documentation prefixes only).
import { makeRule, Prefix, type DivertRule, type HostFilterAction, type HostFilterRule, type HostMatch } from '@ft/sdk';

export function block(
  sources: string[],
  extra: Partial<Omit<HostMatch, 'destination' | 'sources'>> = {},
  dest = '203.0.113.7/32',
  action: HostFilterAction = { type: 'drop' },
): HostFilterRule {
  return makeRule<HostFilterRule>({
    kind: 'host-filter',
    tenant: 'lab',
    target: Prefix.parse(dest),
    match: { destination: Prefix.parse(dest), sources: sources.map((s) => Prefix.parse(s)), ...extra },
    action,
    level: 4,
    ttlSeconds: 300,
  });
}

export function divert(target = '203.0.113.0/24', provider = 'scrub'): DivertRule {
  return makeRule<DivertRule>({
    kind: 'divert',
    tenant: 'lab',
    target: Prefix.parse(target),
    provider,
    level: 4,
    ttlSeconds: 300,
  });
}
