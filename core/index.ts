// ft as a library: what commands, the fleet and tests import.
export * from './model/index.js';
export * from './log/logger.js';
export * from './log/redact.js';
export * from './plugin-host/registry.js';
export * from './plugin-host/load.js';
// Secret is part of the model re-export; listed for readers looking for it here.
