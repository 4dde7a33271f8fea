export { default as plugin, mirrorDetector } from './plugin.js';
export { mirrorConfigSchema, type MirrorConfig, type MirrorConfigInput } from './config.js';
export { MirrorDetector } from './detector.js';
export { pmacctdConfig } from './sampler.js';
