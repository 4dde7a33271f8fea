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

/**
 * ft's ownership tag for a rule, written out from the documented scheme (@ft/bgp-common/tag) independently of the
 * adapters' code, as "asn:data1:data2" texts: marker + kind with the tenant's FNV-1a hash, the install id's hash,
 * the rule id's two halves. FNV-1a("lab") = 1650496244 and FNV-1a("") = 2166136261 (checked with another
 * implementation).
 */
export function expectedTags(asn: number, id: string, tenant = 'lab', installId = ''): string[] {
  const [kind, hex] = id.split('-') as [string, string];
  return [
    `${asn}:${0x66740000 + (kind === 'fs' ? 1 : 2)}:${fnv1a32(tenant)}`,
    `${asn}:${0x66748000}:${fnv1a32(installId)}`,
    `${asn}:${parseInt(hex.slice(0, 8), 16)}:${parseInt(hex.slice(8), 16)}`,
  ];
}

function fnv1a32(text: string): number {
  let h = 2166136261;
  for (const b of Buffer.from(text, 'utf8')) h = Number((BigInt(h ^ b) * 16777619n) % 4294967296n);
  return h;
}

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
