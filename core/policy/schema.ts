import { z } from 'zod';
import {
  adapterKind,
  asn,
  bitrate,
  bpsThreshold,
  byteSize,
  community,
  duration,
  family,
  name,
  oneOrMany,
  packetRate,
  percent,
  perSecond,
  ppsThreshold,
  prefix,
  requestRate,
  severity,
  ttl,
  vector,
} from './fields.js';
import { alertsSchema } from './alerts.js';
import { exportSchema } from './export.js';

/**
 * The policy as written in YAML. Parsing it yields units in base values and Prefix objects; the loader then checks
 * what a schema cannot (references between sections, rails) and builds the typed Policy. The JSON Schema published
 * in policies/policy.schema.json is generated from this (input side), so editors and ft agree.
 */

const port = () => z.number().int().min(0).max(65535);

export const triggerSchema = z
  .object({
    bps: bpsThreshold().optional(),
    pps: ppsThreshold().optional(),
    family: oneOrMany(family()).optional(),
    vector: oneOrMany(vector()).optional(),
    severity: severity().optional().describe('Minimum severity the incident must have.'),
  })
  .strict()
  .describe('All given conditions must hold, except bps and pps: either crossing is enough.');

const rateLimits = z.object({ pps: packetRate().optional(), bps: bitrate().optional() }).strict();

/** HTTP targets (l7 sites) count requests/s where packet targets count pps: their own floor and static threshold. */
const httpLimits = z
  .object({
    floor: z
      .object({ rps: requestRate().optional() })
      .strict()
      .optional()
      .describe('Never fire an HTTP target below this request rate (default 100rps).'),
    static: z
      .object({ rps: requestRate().optional() })
      .strict()
      .optional()
      .describe('Fire an HTTP target above this request rate, even while learning.'),
  })
  .strict()
  .describe(
    'Request-rate thresholds for HTTP targets (access-log sites): the packet floor/static do not apply to them.',
  );

const defaultsSchema = z
  .object({
    ttl: ttl().default(300).describe('How long a rule lives unless its attack goes on (refreshed while it does).'),
    maxRules: z
      .number()
      .int()
      .min(1)
      .max(100000)
      .default(200)
      .describe('Live rules per tenant, counted across the fleet.'),
    rpki: z.enum(['enforce', 'warn', 'off']).default('enforce'),
    cooldown: duration()
      .default(120)
      .describe('Escalation comes down only after this long since the higher rule went in or was last refreshed.'),
    minPrefixLength: z
      .object({
        v4: z.number().int().min(16).max(32).default(24),
        v6: z.number().int().min(32).max(128).default(48),
      })
      .strict()
      .default({ v4: 24, v6: 48 })
      .describe('No rule ever targets a prefix shorter than this (no /0 or /8 by accident).'),
  })
  .strict()
  .default({ ttl: 300, maxRules: 200, rpki: 'enforce', cooldown: 120, minPrefixLength: { v4: 24, v6: 48 } });

/** Thresholds for a protected prefix or a host group judged as a whole (carpet bombing: no host crosses its own). */
const aggregateLimits = z
  .object({
    floor: rateLimits.optional(),
    static: rateLimits.optional(),
    factor: z.number().min(1).optional(),
  })
  .strict()
  .describe(
    'Thresholds for the traffic of a whole protected prefix (or host group), replacing the host-level ones field by field.',
  );

const detectionSchema = z
  .object({
    baseline: z
      .object({
        window: z.number().int().min(10).max(86400).optional(),
        percentile: z.number().min(50).max(100).optional(),
        recalcEvery: z.number().int().min(1).optional(),
        factor: z.number().min(1).optional(),
      })
      .strict()
      .optional(),
    floor: rateLimits.optional().describe('Never fire below these, whatever the baseline.'),
    static: rateLimits.optional().describe('Fire when crossed, even while the baseline is learning.'),
    http: httpLimits.optional(),
    aggregate: aggregateLimits.optional(),
    tick: duration().optional(),
    window: duration().optional(),
    resolve: z.object({ ratio: percent().optional(), after: duration().optional() }).strict().optional(),
    severity: z
      .object({
        medium: z.number().min(1).optional(),
        high: z.number().min(1).optional(),
        critical: z.number().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const targetSchema = z
  .object({
    name: name().optional(),
    prefix: prefix(),
    tenant: name().optional(),
    maxLevel: z
      .number()
      .int()
      .min(0)
      .max(99)
      .optional()
      .describe('Never escalate this target above this level (0: on-node only).'),
    when: z
      .record(z.string().regex(/^[0-9]+$/, 'expected a level number'), triggerSchema)
      .optional()
      .describe('Replacement triggers for this target, by level number.'),
    ttl: ttl().optional(),
    detection: z
      .object({
        floor: rateLimits.optional(),
        static: rateLimits.optional(),
        http: httpLimits.optional(),
        factor: z.number().min(1).optional(),
        aggregate: aggregateLimits.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const groupSchema = z
  .object({
    prefixes: z.array(prefix()).min(1).describe('Hosts and subnets of the group, each inside protect.'),
    detection: aggregateLimits.optional(),
  })
  .strict();

const instanceBase = { adapter: adapterKind(), pop: name().optional() };

/** Adapter options sit beside ft's own keys and are validated by the adapter's configSchema. */
const speakerSchema = z.object(instanceBase).catchall(z.unknown());
const nodeActionSchema = z.object({ adapter: adapterKind() }).catchall(z.unknown());
const scrubberSchema = z
  .object({
    ...instanceBase,
    originAs: asn().optional().describe('AS that originates the diverted prefix; defaults to the policy asn.'),
    divertLength: z
      .object({ v4: z.number().int().min(16).max(32).default(24), v6: z.number().int().min(32).max(128).default(48) })
      .strict()
      .optional()
      .describe('Length of the covering prefix diverted for an attacked host (default /24 and /48).'),
  })
  .catchall(z.unknown());

/** Off-box block-rule actions: cloud WAF/firewall APIs (reach network, capability host-filter). */
const filterSchema = z.object(instanceBase).catchall(z.unknown());

const blockDo = z
  .object({
    sources: z.literal('top').default('top').describe("Which sources: the incident's top source addresses."),
    count: z.number().int().min(1).max(1000).default(100).describe('At most this many sources (the busiest).'),
  })
  .strict()
  .describe(
    "Block the attack's top source addresses through the `filters` named in `via` (never when the sources are spoofed).",
  );

const flowspecDo = z.discriminatedUnion('then', [
  z.object({ then: z.literal('discard') }).strict(),
  z.object({ then: z.literal('rate-limit'), rate: bitrate() }).strict(),
  z.object({ then: z.literal('redirect'), routeTarget: community() }).strict(),
  z.object({ then: z.literal('mark'), dscp: z.number().int().min(0).max(63) }).strict(),
]);

const rtbhDo = z
  .object({
    community: oneOrMany(community()).optional().describe('Added to 65535:666, which is always sent.'),
    noExport: z.boolean().default(true),
    nextHop: z.string().optional().describe('Discard next hop (e.g. 192.0.2.1); adapters may set their own.'),
    wholePrefix: z
      .boolean()
      .default(false)
      .describe(
        'Also blackhole a whole protected prefix (or every member of a host group) under an attack on it as a whole. Off: RTBH only ever for one attacked host.',
      ),
  })
  .strict();

const levelSchema = z
  .object({
    level: z.number().int().min(1).max(99),
    name: z.string().max(80).optional(),
    when: triggerSchema,
    do: z
      .object({
        flowspec: flowspecDo.optional(),
        rtbh: rtbhDo.optional(),
        scrub: z.object({ provider: name() }).strict().optional(),
        block: blockDo.optional(),
      })
      .strict(),
    via: oneOrMany(name())
      .optional()
      .describe('Speakers (from `speakers`) that carry FlowSpec/RTBH, and filters (from `filters`) that carry block.'),
    ttl: ttl().optional(),
  })
  .strict();

const hostStepSchema = z
  .object({
    synCookies: z.literal(true).optional(),
    hashlimit: perSecond().optional(),
    burst: z.number().int().min(1).optional(),
    per: z.enum(['source', 'destination']).optional(),
    connlimit: z.number().int().min(1).optional(),
    rateLimit: perSecond().optional(),
    dropUdpSourcePorts: z.union([z.literal('auto'), z.array(port()).min(1)]).optional(),
    dropTopSources: z.number().int().min(1).max(1000).optional(),
    shape: bitrate().optional(),
  })
  .strict();

const onNodeSchema = z
  .object({
    when: triggerSchema,
    do: z.array(z.record(name(), hostStepSchema)).min(1),
    ttl: ttl().optional(),
  })
  .strict();

export const policySchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1),
    tenant: name(),
    installId: name()
      .optional()
      .describe(
        "Names this ft installation in the ownership tag of every route it announces, beside the tenant. Set it when two ft installs with the same tenant share a BGP speaker, so neither takes the other's routes for its own.",
      ),
    mode: z.enum(['enforce', 'preview']).default('preview').describe('preview plans and logs, changes nothing.'),
    asn: asn().optional().describe('Our origin AS: what RPKI checks of our announcements validate.'),
    defaults: defaultsSchema,
    protect: z.array(prefix()).min(1).describe('Nothing outside these is ever targeted.'),
    neverTarget: z.array(prefix()).default([]).describe('Never targeted, even inside protect (e.g. the resolvers).'),
    rpki: z
      .object({
        caches: z
          .array(
            z.union([
              z.string(),
              z
                .object({
                  address: z.string(),
                  preference: z.number().int().min(0).optional(),
                  ca: z
                    .string()
                    .min(1)
                    .optional()
                    .describe(
                      "PEM file with the CA that signed a tls:// cache's certificate (relative to the policy file); default: the system CAs.",
                    ),
                })
                .strict(),
            ]),
          )
          .optional()
          .describe(
            'RTR caches ("HOST:PORT", "tls://HOST:PORT" or { address, preference, ca }), lower preference tried first.',
          ),
      })
      .strict()
      .optional(),
    tenants: z.record(name(), z.object({ maxRules: z.number().int().min(1).max(100000) }).strict()).optional(),
    targets: z.array(targetSchema).default([]),
    groups: z
      .record(name(), groupSchema)
      .default({})
      .describe(
        'Host groups: { NAME: { prefixes, detection } }. Each is watched as one aggregate (flow detectors count it exactly) with its own baseline and thresholds.',
      ),
    detection: detectionSchema.optional(),
    detectors: z
      .record(name(), z.object({ detector: adapterKind() }).catchall(z.unknown()))
      .default({})
      .describe(
        'Detector instances: { NAME: { detector: KIND, ...options } }, the same shape as `ft run --detectors FILE`.',
      ),
    speakers: z.record(name(), speakerSchema).default({}),
    scrubbers: z.record(name(), scrubberSchema).default({}),
    filters: z
      .record(name(), filterSchema)
      .default({})
      .describe(
        'Off-box block-rule actions (cloudflare-waf, hetzner, linode, ...) that a level with `do: { block }` names in `via`.',
      ),
    nodeActions: z.record(name(), nodeActionSchema).default({}).describe('Named on-node actions with adapter options.'),
    escalation: z.array(levelSchema).default([]),
    onNode: z.array(onNodeSchema).default([]),
    atCap: z.enum(['refuse', 'aggregate']).default('refuse'),
    rollback: z.object({ collateralDrop: percent().optional() }).strict().optional(),
    onShutdown: z.enum(['withdraw', 'keep']).default('withdraw'),
    alerts: alertsSchema.optional(),
    events: z
      .object({
        retain: byteSize()
          .optional()
          .describe('Keep about this much of the event journal (default 256MiB); the oldest segments go first.'),
        retainFor: duration()
          .optional()
          .describe('Drop journal segments last written longer ago than this (default 90d).'),
        segment: byteSize().optional().describe('Journal segment size (default 8MiB).'),
        fleetMaxLen: z
          .number()
          .int()
          .min(1000)
          .max(100_000_000)
          .optional()
          .describe('With --redis: about how many events the fleet stream keeps (default 100000).'),
      })
      .strict()
      .superRefine((e, ctx) => {
        if (e.segment !== undefined && (e.segment < 64 * 1024 || e.segment > 2 ** 30))
          ctx.addIssue({ code: 'custom', path: ['segment'], message: 'a segment is between 64KiB and 1GiB' });
        if (e.retain !== undefined && e.retain < 2 ** 20)
          ctx.addIssue({ code: 'custom', path: ['retain'], message: 'keep at least 1MiB of events' });
        if (e.retainFor !== undefined && e.retainFor < 3600)
          ctx.addIssue({ code: 'custom', path: ['retainFor'], message: 'keep events at least 1h' });
      })
      .optional()
      .describe('The event stream (docs/events.md): how much of it is kept.'),
    export: exportSchema.optional(),
  })
  .strict();

export type RawPolicy = z.output<typeof policySchema>;
export type RawTrigger = z.output<typeof triggerSchema>;
export type RawHostStep = z.output<typeof hostStepSchema>;

/** The JSON Schema editors use (input side: what is written, units as text). */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    title: 'ft escalation policy',
    description: 'Generated from core/policy/schema.ts by `ft policy schema`; do not edit by hand.',
  };
}
