import {
  API_VERSION,
  type ActionFactory,
  type AlertChannelFactory,
  type DetectorFactory,
  type ExportSinkFactory,
  type Registration,
} from '@ft/sdk';

export type FactoryRole = 'detector' | 'action' | 'alert channel' | 'export sink';

export interface RegisteredFactory<F> {
  role: FactoryRole;
  kind: string;
  /** The npm package that provided it. */
  plugin: string;
  factory: F;
}

export class PluginError extends Error {
  constructor(
    readonly plugin: string,
    message: string,
  ) {
    super(`plugin ${plugin}: ${message}`);
    this.name = 'PluginError';
  }
}

export class DuplicateKindError extends Error {
  constructor(
    readonly role: FactoryRole,
    readonly kind: string,
    readonly first: string,
    readonly second: string,
  ) {
    super(
      `${role} kind "${kind}" is provided by two plugins: ${first} and ${second}. Uninstall or unlink one of them.`,
    );
    this.name = 'DuplicateKindError';
  }
}

/**
 * Every detector and action kind available, and which plugin provides it. Shapes are checked structurally,
 * never with instanceof: each installed plugin carries its own copy of its dependencies.
 */
export class Registry {
  readonly detectors = new Map<string, RegisteredFactory<DetectorFactory>>();
  readonly actions = new Map<string, RegisteredFactory<ActionFactory>>();
  readonly alertChannels = new Map<string, RegisteredFactory<AlertChannelFactory>>();
  readonly exportSinks = new Map<string, RegisteredFactory<ExportSinkFactory>>();
  /** Plugins whose registration failed: reported by `ft registry`, never silently ignored. */
  readonly failures: PluginError[] = [];

  add(plugin: string, registration: unknown): void {
    const reg = checkRegistration(plugin, registration);
    // Validate the whole registration before adding any of it: a bad plugin contributes nothing.
    const detectors = reg.detectors.map((f, i) => checkFactory(plugin, 'detector', f, i) as DetectorFactory);
    const actions = reg.actions.map((f, i) => checkFactory(plugin, 'action', f, i) as ActionFactory);
    const channels = (reg.alertChannels ?? []).map(
      (f, i) => checkFactory(plugin, 'alert channel', f, i) as unknown as AlertChannelFactory,
    );
    const sinks = (reg.exportSinks ?? []).map(
      (f, i) => checkFactory(plugin, 'export sink', f, i) as unknown as ExportSinkFactory,
    );
    for (const f of detectors) this.assertFree('detector', this.detectors, f.kind, plugin);
    for (const f of sinks) this.assertFree('export sink', this.exportSinks, f.kind, plugin);
    for (const f of actions) this.assertFree('action', this.actions, f.kind, plugin);
    for (const f of channels) this.assertFree('alert channel', this.alertChannels, f.kind, plugin);
    for (const f of detectors) this.detectors.set(f.kind, { role: 'detector', kind: f.kind, plugin, factory: f });
    for (const f of actions) this.actions.set(f.kind, { role: 'action', kind: f.kind, plugin, factory: f });
    for (const f of channels)
      this.alertChannels.set(f.kind, { role: 'alert channel', kind: f.kind, plugin, factory: f });
    for (const f of sinks) this.exportSinks.set(f.kind, { role: 'export sink', kind: f.kind, plugin, factory: f });
  }

  exportSink(kind: string): RegisteredFactory<ExportSinkFactory> | undefined {
    return this.exportSinks.get(kind);
  }

  alertChannel(kind: string): RegisteredFactory<AlertChannelFactory> | undefined {
    return this.alertChannels.get(kind);
  }

  detector(kind: string): RegisteredFactory<DetectorFactory> | undefined {
    return this.detectors.get(kind);
  }

  action(kind: string): RegisteredFactory<ActionFactory> | undefined {
    return this.actions.get(kind);
  }

  /** Sorted by role then kind, for listings. */
  entries(): RegisteredFactory<DetectorFactory | ActionFactory | AlertChannelFactory>[] {
    const all = [
      ...this.detectors.values(),
      ...this.actions.values(),
      ...this.alertChannels.values(),
      ...this.exportSinks.values(),
    ] as RegisteredFactory<DetectorFactory | ActionFactory | AlertChannelFactory>[];
    return all.sort((a, b) => a.role.localeCompare(b.role) || a.kind.localeCompare(b.kind));
  }

  private assertFree(
    role: FactoryRole,
    map: Map<string, RegisteredFactory<unknown>>,
    kind: string,
    plugin: string,
  ): void {
    const existing = map.get(kind);
    if (existing) throw new DuplicateKindError(role, kind, existing.plugin, plugin);
  }
}

function checkRegistration(plugin: string, value: unknown): Registration {
  if (typeof value !== 'object' || value === null)
    throw new PluginError(plugin, 'its ft:register hook returned nothing');
  const reg = value as Partial<Registration>;
  if (reg.apiVersion !== API_VERSION) {
    throw new PluginError(plugin, `was built for plugin API ${String(reg.apiVersion)}, this ft speaks ${API_VERSION}`);
  }
  const detectors = reg.detectors ?? [];
  const actions = reg.actions ?? [];
  const alertChannels = reg.alertChannels ?? [];
  const exportSinks = reg.exportSinks ?? [];
  if (
    !Array.isArray(detectors) ||
    !Array.isArray(actions) ||
    !Array.isArray(alertChannels) ||
    !Array.isArray(exportSinks)
  )
    throw new PluginError(plugin, 'detectors, actions, alertChannels and exportSinks must be arrays');
  return { apiVersion: API_VERSION, detectors, actions, alertChannels, exportSinks };
}

const KIND_RE = /^[a-z][a-z0-9-]{0,62}$/;

function checkFactory(
  plugin: string,
  role: FactoryRole,
  value: unknown,
  index: number,
): DetectorFactory | ActionFactory | AlertChannelFactory {
  const where = `${role} #${index}`;
  if (typeof value !== 'object' || value === null) throw new PluginError(plugin, `${where} is not an object`);
  const f = value as Partial<ActionFactory>;
  if (f.apiVersion !== API_VERSION)
    throw new PluginError(plugin, `${where} has apiVersion ${String(f.apiVersion)}, expected ${API_VERSION}`);
  if (typeof f.kind !== 'string' || !KIND_RE.test(f.kind)) {
    throw new PluginError(
      plugin,
      `${where} has kind ${JSON.stringify(f.kind)}: use lower-case letters, digits and dashes`,
    );
  }
  if (typeof f.create !== 'function') throw new PluginError(plugin, `${role} "${f.kind}" has no create()`);
  const schema = f.configSchema as { safeParse?: unknown } | undefined;
  if (!schema || typeof schema.safeParse !== 'function')
    throw new PluginError(plugin, `${role} "${f.kind}" has no zod configSchema`);
  if (role === 'action') {
    if (!Array.isArray(f.capabilities)) throw new PluginError(plugin, `action "${f.kind}" declares no capabilities`);
    if (f.reach !== 'host' && f.reach !== 'network')
      throw new PluginError(plugin, `action "${f.kind}" must declare reach: host or network`);
  }
  if (role === 'alert channel') {
    const c = value as Partial<AlertChannelFactory>;
    const r = c.rateLimit;
    if (!r || !(r.perSecond > 0) || !(r.burst >= 1))
      throw new PluginError(plugin, `alert channel "${f.kind}" declares no rateLimit { perSecond > 0, burst ≥ 1 }`);
  }
  if (role === 'export sink') {
    const c = value as Partial<ExportSinkFactory>;
    const r = c.rateLimit;
    const b = c.batch;
    if (!r || !(r.perSecond > 0) || !(r.burst >= 1) || !b || !(b.maxRecords >= 1) || !(b.maxBytes >= 1024))
      throw new PluginError(plugin, `export sink "${f.kind}" declares no rateLimit or batch limits`);
  }
  return value as DetectorFactory | ActionFactory | AlertChannelFactory;
}
