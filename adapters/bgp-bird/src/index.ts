export { default as plugin } from './plugin.js';
export { birdConfigSchema, type BirdConfig } from './config.js';
export { renderRoute, renderIncludeFile, parseIncludeFile, float32Bits } from './render.js';
export { parseShowRouteAll, parseBgpSessions } from './rib.js';
