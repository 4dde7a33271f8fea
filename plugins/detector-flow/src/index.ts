export { default as plugin } from './plugin.js';
// For detectors that feed ft's flow pipeline themselves (the mirror detector's sampler).
export { FlowDetector } from './detector.js';
export { flowConfigSchema, type FlowConfig, type FlowConfigInput } from './config.js';
