import type { AttackFamily, Prefix, RouteOwner, Severity, Vector } from '@ft/sdk';
import type { DetectionSettings } from '../model/detection.js';
import type { RpkiMode } from '../model/rpki.js';
import type { AlertsPolicy } from './alerts.js';
import type { ExportPolicy } from './export.js';

/** A rate condition as written ("> 100Mbps"), kept with its text so explanations quote the policy. */
export interface RateThreshold {
  op: '>' | '>=';
  value: number;
  text: string;
}

/**
 * When a level or an on-node rule applies. Rates are alternatives (either crossing is enough: floods show in bps
 * or in pps, rarely both); family, vector and severity narrow it (all given must hold).
 */
export interface Trigger {
  bps?: RateThreshold;
  pps?: RateThreshold;
  family?: AttackFamily[];
  vector?: Vector[];
  severity?: Severity;
}

export type FlowSpecThen =
  | { then: 'discard' }
  | { then: 'rate-limit'; bitsPerSecond: number }
  | { then: 'redirect'; routeTarget: string }
  | { then: 'mark'; dscp: number };

export interface RtbhDo {
  /** Always starts with 65535:666 (RFC 7999); the policy adds its upstreams' own communities. */
  communities: string[];
  noExport: boolean;
  nextHop?: string;
  /** Blackhole a whole prefix (or a host group's members) under an attack on it as a whole. */
  wholePrefix: boolean;
}

/** A policy host group: its traffic is judged as one aggregate. */
export interface HostGroup {
  name: string;
  prefixes: Prefix[];
}

export interface LevelActions {
  flowspec?: FlowSpecThen;
  rtbh?: RtbhDo;
  scrub?: { provider: string };
  /** Block the incident's top sources through the level's `filters` (off-box block-rule APIs). */
  block?: { sources: 'top'; count: number };
}

export interface EscalationLevel {
  level: number;
  name?: string;
  when: Trigger;
  do: LevelActions;
  /** Speakers that carry this level's FlowSpec/RTBH. */
  via: string[];
  /** Filters (the policy's `filters` entries) that carry this level's block rule. */
  filters: string[];
  ttlSeconds?: number;
  /** Index in the policy's escalation list, for error messages and explanations. */
  index: number;
}

export type HostStep =
  | { type: 'syn-cookies' }
  | { type: 'hashlimit'; packetsPerSecond: number; burst: number; per: 'source' | 'destination' }
  | { type: 'connlimit'; maxConnections: number }
  | { type: 'rate-limit'; packetsPerSecond: number; burst: number }
  | { type: 'drop-udp-source-ports'; ports: 'auto' | number[] }
  | { type: 'drop-top-sources'; count: number }
  | { type: 'shape'; bitsPerSecond: number };

export interface OnNodeRule {
  index: number;
  when: Trigger;
  /** Each entry: the host action instance that carries the steps; `index` is its place in the YAML list. */
  do: { via: string; steps: HostStep[]; index: number }[];
  ttlSeconds?: number;
}

/**
 * How an instance is run (core/run sets per-call patience by role). A `filters` entry is a vendor API like a
 * scrubber, so it runs as one; its policy section (`source[0] === 'filters'`) is what marks it a block filter.
 */
export type ActionRole = 'speaker' | 'scrubber' | 'node';

/** One named action instance: a BGP speaker, a scrubber, an off-box filter or an on-node action. */
export interface ActionInstance {
  name: string;
  role: ActionRole;
  /** The action kind a plugin registers ("gobgp", "nft", "cloudflare-magic-transit"). */
  adapter: string;
  pop?: string;
  /** Adapter-specific options: validated against the adapter's configSchema when a registry is given. */
  options: Record<string, unknown>;
  /** Where the policy declares it (a `speakers`/`scrubbers`/`nodeActions` entry, or the onNode item naming a kind). */
  source: readonly PropertyKey[];
  /** Whether `options` were validated (false when no registry was given, or the kind is not installed). */
  validated: boolean;
  /** Whose rules it carries (the policy's tenants and install id): handed to the adapter as PluginContext.owner. */
  owner?: RouteOwner;
}

export interface ScrubberInstance extends ActionInstance {
  role: 'scrubber';
  /** The AS that will originate the diverted prefix (the scrubber's, or ours when we announce it ourselves). */
  originAs: number;
  /** Length of the covering prefix diverted for an attacked host. */
  divertLength: { v4: number; v6: number };
}

/** A detector instance `ft run` starts; options validated against the detector kind's configSchema. */
export interface DetectorInstance {
  name: string;
  kind: string;
  options: Record<string, unknown>;
  validated: boolean;
  source: readonly PropertyKey[];
}

export interface TargetOverride {
  name: string;
  prefix: Prefix;
  tenant?: string;
  maxLevel?: number;
  /** Replacement triggers by level number. */
  when: Map<number, Trigger>;
  ttlSeconds?: number;
  index: number;
}

export type { AlertsPolicy, AlertChannelInstance, AlertRoute } from './alerts.js';
export type { ExportPolicy, ExportSinkInstance } from './export.js';

export interface EventsPolicy {
  /** The journal's size bound, bytes. */
  retainBytes: number;
  /** Segments last written longer ago than this go, days. */
  retainDays: number;
  segmentBytes: number;
  /** The fleet stream's approximate length (XADD MAXLEN ~). */
  fleetMaxLen: number;
}

export interface PolicyDefaults {
  ttlSeconds: number;
  maxRules: number;
  rpki: RpkiMode;
  cooldownSeconds: number;
  minPrefixLength: { v4: number; v6: number };
}

/** A policy that passed validation: units parsed, prefixes typed, references resolved. */
export interface Policy {
  file: string;
  version: 1;
  tenant: string;
  mode: 'enforce' | 'preview';
  /** Our origin AS, for RPKI checks of what we announce; absent only when nothing is announced or rpki is off. */
  asn?: number;
  /** Whose routes this install's speakers carry: every tenant named here and the policy's installId ("" if none). */
  owner: RouteOwner;
  defaults: PolicyDefaults;
  protect: Prefix[];
  neverTarget: Prefix[];
  detection: DetectionSettings;
  detectors: Map<string, DetectorInstance>;
  tenants: Map<string, { maxRules: number }>;
  targets: TargetOverride[];
  /** Host groups (detection settings carry their thresholds; detectors get their prefixes). */
  groups: HostGroup[];
  speakers: Map<string, ActionInstance>;
  scrubbers: Map<string, ScrubberInstance>;
  /** Off-box block-rule actions (reach network, host-filter) that levels with `do.block` name in `via`. */
  filters: Map<string, ActionInstance>;
  nodeActions: Map<string, ActionInstance>;
  escalation: EscalationLevel[];
  onNode: OnNodeRule[];
  atCap: 'refuse' | 'aggregate';
  rollback: { collateralDrop: number };
  onShutdown: 'withdraw' | 'keep';
  /** Alert channels and routes (empty when the policy has no `alerts:` section: alerts go to the log only). */
  alerts: AlertsPolicy;
  /** How much of the event stream is kept (the policy's `events:` section, defaults filled in). */
  events: EventsPolicy;
  /** Export sinks (none when the policy has no `export:` section: nothing leaves the box). */
  export: ExportPolicy;
  /** Things worth knowing that are not errors (an adapter kind not installed here, options not validated). */
  warnings: string[];
}
