// Plugins declare @ft/sdk and zod as peer dependencies: ft provides them. Node resolves a package from the
// importing file's own directory upwards, so a plugin linked or installed outside this checkout would find no
// @ft/sdk at all (or its own second copy, whose Prefix and zod schemas are other classes than ft's). This hook,
// registered before anything is loaded, resolves those two names from ft's own directory for every importer.
import { registerHooks } from 'node:module';

const SHARED = /^(?:@ft\/sdk|zod)(?:\/|$)/;
const ftDir = import.meta.url; // resolving from here finds ft's node_modules

registerHooks({
  resolve(specifier, context, nextResolve) {
    return SHARED.test(specifier)
      ? nextResolve(specifier, { ...context, parentURL: ftDir })
      : nextResolve(specifier, context);
  },
});
