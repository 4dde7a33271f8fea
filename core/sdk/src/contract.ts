import type { ZodType } from 'zod';
import type { Applied, Health, InstalledRef, RenderedCommand, Rule, RuleCounters, RuleKind, Sample } from './model.js';
import type { Incident, IncidentEvidence } from './incident.js';
import type { Prefix } from './prefix.js';
import type { Secret } from './secret.js';
import type { AlertChannelFactory } from './alerts.js';
import type { ExportSinkFactory } from './export.js';

/** Bumped on any incompatible change to the shapes below; the host refuses factories of another version. */
export const API_VERSION = 1 as const;

/** The subset of a pino logger plugins may use (so plugins need not depend on pino). */
export interface PluginLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): PluginLogger;
}

/** What the host hands a factory's create(). */
export interface PluginContext {
  /** Instance name from the policy (e.g. "pop1-gobgp"). */
  name: string;
  logger: PluginLogger;
  /** A directory this instance may keep state in. */
  stateDir: string;
  /** Resolves a credential referenced by name in the policy ({ env: X } or a secrets file entry). */
  secret(ref: string): Secret;
  /** Aborted when the host shuts down. */
  signal: AbortSignal;
  /**
   * Whose rules this instance carries: the policy's tenants and its install id. Adapters that share a device with
   * other software (a BGP speaker) write it into their ownership tag and treat only objects tagged with it as
   * theirs, so two ft installs on one speaker never withdraw each other's routes. Absent (an older host): every
   * ft tag counts as this instance's.
   */
  owner?: RouteOwner;
  /**
   * The policy's protected space and host groups, when the host runs from a policy: a detector that aggregates by
   * prefix or group (the flow collector) uses them unless its own options say otherwise, so nothing is listed twice.
   */
  scope?: {
    protect: readonly Prefix[];
    groups: readonly { name: string; prefixes: readonly Prefix[] }[];
  };
}

/** The owner written into ft's tags: every tenant the policy names, and the install id (`installId`, default ""). */
export interface RouteOwner {
  tenants: readonly string[];
  installId: string;
}

/** One number a detector reports about itself (e.g. kernel socket drops); `ft run` may export it. */
export interface DetectorMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
  labels?: Record<string, string>;
}

export interface Detector {
  start(sink: (sample: Sample) => void): Promise<void>;
  stop(): Promise<void>;
  health(): Health;
  /** Optional: the detector's own operational numbers, as of its last window. */
  metrics?(): DetectorMetric[];
  /**
   * Optional: told of every incident event, for detectors that act on incidents (the pcap detector starts a
   * capture for the target). `report` attaches what it found (verdicts, IOC matches, the capture) to the open
   * incident, which the engine then re-announces as an update. Must return at once: no work on the caller's turn.
   */
  observe?(event: IncidentEventView, report: (evidence: IncidentEvidence) => void): void;
}

/** An incident event as detectors see it. */
export interface IncidentEventView {
  type: 'open' | 'update' | 'resolve';
  incident: Incident;
}

export interface Action {
  readonly capabilities: readonly RuleKind[];
  /** Exactly what apply() would run for this rule, for preview and the audit trail. Pure: no I/O. */
  render(rule: Rule): RenderedCommand[];
  /**
   * Optional: what withdraw() would run for this rule, for preview and the audit trail. Pure: no I/O. Adapters
   * whose removal depends on what they find installed (nft handles, vendor ids) leave it out, and preview says so.
   */
  renderWithdraw?(rule: Rule): RenderedCommand[];
  /** Idempotent: applying an applied rule is a no-op. */
  apply(rule: Rule): Promise<Applied>;
  /** Idempotent: withdrawing what is not installed is a no-op. Takes a ref for orphans found by reconcile. */
  withdraw(rule: Rule | InstalledRef): Promise<void>;
  /** What is really installed now (ft's own tagged objects only), for reconcile. */
  list(): Promise<InstalledRef[]>;
  health(): Promise<Health>;
  /** Per-rule match counters, where the mechanism keeps them (collateral-damage rollback). */
  counters?(): Promise<RuleCounters[]>;
  close?(): Promise<void>;
}

interface FactoryCommon<C> {
  apiVersion: typeof API_VERSION;
  /** The name policies use ("gobgp", "iptables", "proc"). Unique across all installed plugins. */
  kind: string;
  description: string;
  /** Validates this kind's options in the policy; errors point at the policy's own lines. */
  configSchema: ZodType<C>;
}

export interface DetectorFactory<C = unknown> extends FactoryCommon<C> {
  create(config: C, ctx: PluginContext): Promise<Detector>;
}

/** A policy's on-node steps (`onNode: - KIND: { STEP: ... }`), by the names a host action kind declares. */
export const HOST_STEPS = [
  'synCookies',
  'hashlimit',
  'rateLimit',
  'connlimit',
  'dropUdpSourcePorts',
  'dropTopSources',
  'shape',
] as const;
export type HostStepName = (typeof HOST_STEPS)[number];

/**
 * What a kind can carry beyond its rule kinds, declared so `ft policy validate` refuses a policy the kind cannot
 * carry (naming the capability) instead of the adapter failing at the first attack. A key left out is not checked.
 */
export interface ActionFeatures<C = unknown> {
  /** The on-node steps this host action carries (e.g. ipset: only dropTopSources). */
  hostSteps?: readonly HostStepName[];
  /** RTBH announcements may carry large communities (RFC 8092, a:b:c) from the policy's `rtbh.community`. */
  rtbhLargeCommunities?: boolean;
  /**
   * The device an instance with these options drives, as text ("gobgpd at 127.0.0.1:50051"): two instances of
   * one policy on one device would each take the other's routes for its own, which `policy validate` warns about.
   */
  endpoint?: (config: C) => string | undefined;
}

export interface ActionFactory<C = unknown> extends FactoryCommon<C> {
  /** Known without creating an instance, so the planner and preview can route rules before anything starts. */
  capabilities: readonly RuleKind[];
  features?: ActionFeatures<C>;
  /**
   * 'host': changes only this machine. 'network': sends something off the box (BGP, a vendor API); the planner
   * only routes rules to such actions when the policy names them in `via`/`scrubbers`.
   */
  reach: 'host' | 'network';
  /** Rendering needs no live connection: preview builds the instance with render-only context. */
  create(config: C, ctx: PluginContext): Promise<Action>;
}

export interface Registration {
  apiVersion: typeof API_VERSION;
  detectors: DetectorFactory[];
  actions: ActionFactory[];
  /** Alert channel kinds (optional: plugins written before alerts existed register none). */
  alertChannels?: AlertChannelFactory[];
  /** Export sink kinds (optional, like alertChannels). */
  exportSinks?: ExportSinkFactory[];
}

/** What a plugin function receives: it registers what it provides, and nothing else happens at load time. */
export interface Registrar {
  detector<C>(factory: DetectorFactory<C>): void;
  action<C>(factory: ActionFactory<C>): void;
  /** An alert channel kind (slack, pagerduty, …): `ft.alertChannel(defineAlertChannel({...}))`. */
  alertChannel<C>(factory: AlertChannelFactory<C>): void;
  /** An export sink kind (splunk-hec, syslog, kafka, …): `ft.exportSink(defineExportSink({...}))`. */
  exportSink<C>(factory: ExportSinkFactory<C>): void;
}

export type FtPlugin = (ft: Registrar) => void;

/** fastify-style: `export default definePlugin((ft) => { ft.action({...}) })`. */
export function definePlugin(plugin: FtPlugin): FtPlugin {
  return plugin;
}

export function defineAction<C>(factory: Omit<ActionFactory<C>, 'apiVersion'>): ActionFactory<C> {
  return { apiVersion: API_VERSION, ...factory };
}

export function defineDetector<C>(factory: Omit<DetectorFactory<C>, 'apiVersion'>): DetectorFactory<C> {
  return { apiVersion: API_VERSION, ...factory };
}

/** Runs a plugin function against a collecting registrar. */
export function collect(plugin: FtPlugin): Registration {
  const alertChannels: AlertChannelFactory[] = [];
  const exportSinks: ExportSinkFactory[] = [];
  const registration: Registration = {
    apiVersion: API_VERSION,
    detectors: [],
    actions: [],
    alertChannels,
    exportSinks,
  };
  plugin({
    detector: (f) => void registration.detectors.push(f),
    action: (f) => void registration.actions.push(f as ActionFactory),
    alertChannel: (f) => void alertChannels.push(f),
    exportSink: (f) => void exportSinks.push(f),
  });
  return registration;
}

/**
 * The oclif hook a plugin package exports for `ft:register` (declared in its package.json under oclif.hooks):
 * `export default registerHook(plugin)`.
 */
export function registerHook(plugin: FtPlugin): (options: { apiVersion: number }) => Promise<Registration> {
  return async () => collect(plugin);
}

/** The hook event name plugins declare. */
export const REGISTER_HOOK = 'ft:register';
