import { Secret, type Action, type PluginContext, type PluginLogger, type RenderedCommand, type Rule } from '@ft/sdk';
import type { Registry } from '../plugin-host/registry.js';
import { allInstances } from '../policy/load.js';
import type { Policy } from '../policy/types.js';

export interface RenderContext {
  logger: PluginLogger;
  stateDir: string;
  /** Preview never needs real credentials: by default every reference resolves to an empty placeholder. */
  secret?: (ref: string) => Secret;
  signal?: AbortSignal;
}

export interface Renderers {
  /** What the named instance will run for the rule; [] when its kind is not installed or it cannot render it. */
  render(via: string, rule: Rule): RenderedCommand[];
  /** What the named instance will run to withdraw the rule; [] when it does not render removals. */
  renderWithdraw(via: string, rule: Rule): RenderedCommand[];
  /** Instances whose kind is not installed, or whose create() failed, with why. */
  unavailable: Map<string, string>;
  close(): Promise<void>;
}

/**
 * Builds each action the policy names with its factory's create() (adapters promise create() does not connect),
 * so preview shows the exact commands of the kinds installed here. One failing adapter does not hide the others.
 */
export async function createRenderers(policy: Policy, registry: Registry, ctx: RenderContext): Promise<Renderers> {
  const actions = new Map<string, Action>();
  const unavailable = new Map<string, string>();
  const controller = new AbortController();
  for (const inst of allInstances(policy)) {
    const entry = registry.action(inst.adapter);
    if (!entry) {
      unavailable.set(inst.name, `action kind "${inst.adapter}" is not installed`);
      continue;
    }
    const pluginCtx: PluginContext = {
      name: inst.name,
      logger: ctx.logger.child({ action: inst.name, adapter: inst.adapter }),
      stateDir: ctx.stateDir,
      secret: ctx.secret ?? ((ref) => new Secret('', ref)),
      signal: ctx.signal ?? controller.signal,
      owner: inst.owner ?? policy.owner,
    };
    try {
      const options = inst.validated ? inst.options : entry.factory.configSchema.parse(inst.options);
      actions.set(inst.name, await entry.factory.create(options, pluginCtx));
    } catch (err) {
      unavailable.set(inst.name, `${inst.adapter} could not be prepared for rendering: ${(err as Error).message}`);
    }
  }
  return {
    unavailable,
    render: (via, rule) => renderWith(actions.get(via), via, rule, (a) => a.render(rule)),
    renderWithdraw: (via, rule) => renderWith(actions.get(via), via, rule, (a) => a.renderWithdraw?.(rule) ?? []),
    async close() {
      controller.abort();
      await Promise.allSettled([...actions.values()].map(async (a) => a.close?.()));
    },
  };
}

/** One instance's rendering of a rule it can carry: a failing adapter becomes a line saying so, not a crash. */
function renderWith(
  action: Action | undefined,
  via: string,
  rule: Rule,
  render: (a: Action) => RenderedCommand[],
): RenderedCommand[] {
  if (!action || !action.capabilities.includes(rule.kind)) return [];
  try {
    return render(action);
  } catch (err) {
    return [{ adapter: via, format: 'text', text: `(render failed: ${(err as Error).message})` }];
  }
}
