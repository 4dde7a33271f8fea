import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Secret, type PluginLogger, type RouteOwner } from '@ft/sdk';
import type { Registry } from '../plugin-host/registry.js';
import { DEFAULT_CALL, type ActionHandle } from '../exec/actions.js';

/** One action instance to start: the policy's name for it, its kind and its (unvalidated) options. */
export interface ActionSpec {
  name: string;
  kind: string;
  options: Record<string, unknown>;
  timeoutMs?: number;
  retries?: number;
  /** The policy loader already ran the options through the factory's schema (they are its output). */
  validated?: boolean;
  /** Whose rules it carries (PluginContext.owner). */
  owner?: RouteOwner;
}

export class ActionSetupError extends Error {}

/**
 * Creates every action instance through its plugin's factory. Options go through the factory's configSchema (a
 * typo is an error naming the instance, before anything runs); each instance gets a state directory of its own.
 * Any failure closes what was already created and throws: the daemon never runs with half its actions.
 */
export async function createActionHandles(
  registry: Registry,
  specs: ActionSpec[],
  options: { stateDir: string; logger: PluginLogger; signal: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<Map<string, ActionHandle>> {
  const env = options.env ?? process.env;
  const handles = new Map<string, ActionHandle>();
  try {
    for (const spec of specs) {
      const entry = registry.action(spec.kind);
      if (!entry)
        throw new ActionSetupError(
          `action ${spec.name}: no installed plugin provides kind "${spec.kind}" (see \`ft registry\`)`,
        );
      const parsed = spec.validated
        ? ({ success: true, data: spec.options } as const)
        : entry.factory.configSchema.safeParse(spec.options);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
        throw new ActionSetupError(`action ${spec.name} (${spec.kind}): invalid options: ${issues}`);
      }
      const stateDir = join(options.stateDir, 'actions', spec.name);
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      const action = await entry.factory.create(parsed.data, {
        name: spec.name,
        logger: options.logger.child({ action: spec.name, kind: spec.kind }),
        stateDir,
        signal: options.signal,
        ...(spec.owner ? { owner: spec.owner } : {}),
        secret(ref: string): Secret {
          const value = env[ref];
          if (value === undefined || value === '')
            throw new ActionSetupError(`action ${spec.name}: the credential ${ref} is not set in the environment`);
          return new Secret(value, ref);
        },
      });
      handles.set(spec.name, {
        name: spec.name,
        kind: spec.kind,
        reach: entry.factory.reach,
        action,
        timeoutMs: spec.timeoutMs ?? DEFAULT_CALL.timeoutMs,
        retries: spec.retries ?? DEFAULT_CALL.retries,
        backoffMs: DEFAULT_CALL.backoffMs,
      });
    }
  } catch (err) {
    for (const h of handles.values()) await h.action.close?.().catch(() => undefined);
    throw err;
  }
  return handles;
}

/** Per-call patience by role: vendor scrubbing APIs are slow to answer, speakers and the host are not. */
export const ROLE_TIMEOUT_MS = { speaker: 10_000, node: 10_000, scrubber: 60_000 } as const;

/**
 * The action instances a policy names, with per-adapter timeouts: the role's default, or a little more than the
 * adapter's own `timeoutMs` option where it has one (so the adapter's own, more precise error wins the race).
 */
export function specsFromInstances(
  instances: {
    name: string;
    adapter: string;
    role: keyof typeof ROLE_TIMEOUT_MS;
    options: Record<string, unknown>;
    validated: boolean;
    owner?: RouteOwner;
  }[],
): ActionSpec[] {
  return instances.map((i) => {
    const own = typeof i.options.timeoutMs === 'number' && i.options.timeoutMs > 0 ? i.options.timeoutMs + 2000 : 0;
    return {
      name: i.name,
      kind: i.adapter,
      options: i.options,
      validated: i.validated,
      ...(i.owner ? { owner: i.owner } : {}),
      timeoutMs: Math.max(ROLE_TIMEOUT_MS[i.role], own),
    };
  });
}
