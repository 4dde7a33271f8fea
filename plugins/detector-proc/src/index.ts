export { default as plugin } from './plugin.js';
export { procConfigSchema, type ProcConfig, type ProcConfigInput } from './config.js';
export { ProcDetector } from './detector.js';
export * from './parse.js';
export * from './counters.js';
