export { default as plugin } from './plugin.js';
export { frrConfigSchema, type FrrConfig } from './config.js';
export { renderRtbh } from './render.js';
