import { registerHooks } from 'node:module';

const SHARED = /^(?:@ft\/sdk|zod)(?:\/|$)/;
let registered = false;

/**
 * Plugins declare @ft/sdk and zod as peer dependencies: ft provides them. Node resolves a package from the importing
 * file's directory upwards, so a plugin linked or installed outside ft's directory would find no @ft/sdk (or its own
 * second copy, whose Prefix and zod schemas are other classes than ft's). This resolve hook resolves those two
 * names from ft's own directory for every importer. Registered only when a user or linked plugin is installed: a
 * resolve hook runs for every module Node loads afterwards, which costs ft's start-up a few milliseconds.
 */
export function shareHostModules(): void {
  if (registered) return;
  registered = true;
  const ftDir = import.meta.url; // resolving from here finds ft's node_modules
  registerHooks({
    resolve: (specifier, context, nextResolve) =>
      SHARED.test(specifier)
        ? nextResolve(specifier, { ...context, parentURL: ftDir })
        : nextResolve(specifier, context),
  });
}
