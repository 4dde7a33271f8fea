// Rule builders shared by the adapter tests (documentation prefixes only).
import {
  makeRule,
  Prefix,
  type FlowSpecAction,
  type FlowSpecMatch,
  type FlowSpecRule,
  type PluginContext,
  type PluginLogger,
  type RtbhRule,
} from '@ft/sdk';

export function flow(
  match: Omit<FlowSpecMatch, 'destination'> & { destination: string },
  action: FlowSpecAction,
  tenant = 'lab',
): FlowSpecRule {
  const destination = Prefix.parse(match.destination);
  return makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant,
    target: destination,
    match: { ...match, destination, source: match.source },
    action,
    level: 2,
    ttlSeconds: 300,
  });
}

export function rtbh(
  target: string,
  extra: Partial<Pick<RtbhRule, 'communities' | 'noExport' | 'nextHop'>> = {},
  tenant = 'lab',
): RtbhRule {
  return makeRule<RtbhRule>({
    kind: 'rtbh',
    tenant,
    target: Prefix.parse(target),
    communities: extra.communities ?? ['65535:666'],
    noExport: extra.noExport ?? true,
    nextHop: extra.nextHop,
    level: 3,
    ttlSeconds: 300,
  });
}

const quiet: PluginLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return quiet;
  },
};

export function context(name: string, stateDir: string, logger: PluginLogger = quiet): PluginContext {
  return {
    name,
    logger,
    stateDir,
    secret() {
      throw new Error('no secrets in this test');
    },
    signal: new AbortController().signal,
  };
}
