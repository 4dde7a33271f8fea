#!/usr/bin/env -S node --max-semi-space-size=1
// V8's young generation is held at 1 MiB per semi-space, its minimum (Node lets it grow to 16 MiB). Little of
// what ft allocates on its hot paths outlives a collection, so the small young generation costs no measurable CPU
// (flow collector, planner), and it keeps the flow collector under 100 MB RSS at 100k flows/s (docs/flows.md).
// Command-line flags win over NODE_OPTIONS: `node --max-semi-space-size=16 bin/run.js ...` restores Node's default.
// Below Node 24 (package.json engines), ft restarts on the checkout's own Node 24 or stops with the fix
// (bin/node-floor.js); the imports are dynamic so that this check runs before anything that needs Node 24.
if (Number(process.versions.node.split('.')[0]) < 24) await (await import('./node-floor.js')).enforceFloor();

const { execute, settings } = await import('@oclif/core');
// ft and its plugins ship JavaScript: never look for TypeScript sources of a linked plugin (oclif would warn on
// every command that it cannot transpile a linked ESM plugin).
settings.enableAutoTranspile = false;
await execute({ dir: import.meta.url });
